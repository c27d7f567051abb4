import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { DomainLog } from "../../src/services/domain-log";
import type { AnalyticsProviderName } from "../../src/services/analytics-providers/types";
import {
  analyticsOutboxOnce,
  assertDeliveredExactlyOnce,
  moleBadgeProgressOnce,
  assertProvidersReceived,
  type ConsumerEffectCheck,
} from "../helpers/domain-effects";
import { type FakeAnalytics, fakeAnalyticsEnv, startFakeAnalytics } from "../helpers/fake-analytics";
import { eventually, FaultCluster, get, killHard, say, sleep, type User } from "../helpers/fault-cluster";

/** Ports of this suite's private services (none shared with the other fault suites). */
const PORTS = { postgres: 47301, redis: 47302, servers: [47310, 47311] as [number, number], providers: 47320 };
const EVENTS = 4000;
/** The providers that take server-side events (Plausible needs a client address and agent). */
const RECEIVING: AnalyticsProviderName[] = ["ga4", "mixpanel", "posthog"];
/**
 * The servers' consumers and what each one's effect is. A consumer added to the servers gets
 * its name here (so the recorded events get its deliveries) and its check.
 */
const CONSUMERS: ConsumerEffectCheck[] = [analyticsOutboxOnce(RECEIVING), moleBadgeProgressOnce()];

/**
 * kill -9 of a server process in the middle of dispatching domain events, on a private
 * PostgreSQL (47301) and Redis (47302). The events are recorded through the suite's own
 * connection with the servers' consumer names, so every delivery is run by the servers' real
 * consumers. A kill between a consumer's effect and its commit needs no scenario of its own:
 * the effect and the delivery's deletion are one transaction, which PostgreSQL rolls back when
 * the connection drops, so the delivery is simply taken again.
 */
describe("fault: kill -9 of a process while it dispatches domain events", function () {
  this.timeout(300_000);
  let cluster: FaultCluster;
  let providers: FakeAnalytics;

  before(async function () {
    this.timeout(240_000);
    providers = await startFakeAnalytics(PORTS.providers);
    // Providers down at first: the outbox rows (the consumer's effect) stay where they can be counted.
    for (const p of Object.keys(providers.answer) as AnalyticsProviderName[]) providers.answer[p] = 503;
    cluster = await FaultCluster.start(PORTS, { ...fakeAnalyticsEnv(providers.url), ANALYTICS_RETRY_BASE_MS: "100" });
  });

  after(async () => {
    await cluster?.stop();
    await providers?.close();
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed") {
      for (const s of cluster.servers) say(`last output of ${s.port}:\n${s.output().slice(-2500)}`);
    }
  });

  /** The analytics deliveries a process has completed (its counter; a restart starts at 0). */
  const delivered = async (i: number) =>
    Number(
      /^domain_event_deliveries_total\{consumer="analytics",outcome="delivered"\} (\S+)/m.exec(
        await (await get(cluster.servers[i], "/metrics")).text(),
      )?.[1] ?? 0,
    );
  const waiting = async () =>
    ((await cluster.db.query(`SELECT count(*)::int AS n FROM domain_event_deliveries`)) as Array<{ n: number }>)[0].n;

  it("the other and the restarted process finish every delivery; each effect happens exactly once", async () => {
    const users: User[] = [];
    for (let i = 0; i < 8; i++) users.push(await cluster.newUser(cluster.servers[i % 2], `Player${i}`, 0));
    // Their own events (user_registered) delivered first, so what follows is only the batch below.
    await eventually(async () => assert.equal(await waiting(), 0), 30_000, "registrations delivered");

    // A process that records without dispatching: the consumers' names only (its log never starts).
    const recorder = new DomainLog(cluster.db);
    for (const c of CONSUMERS)
      recorder.register(c.consumer, async () => assert.fail("the recorder dispatches nothing"));
    const ids = await cluster.db.transaction(async (m) => {
      const out: string[] = [];
      for (let i = 0; i < EVENTS; i++) {
        const userId = users[i % users.length].id;
        const total = 1 + (i % 3);
        const payload = { roundId: randomUUID(), userId, total, byKind: { normal: total }, flagged: false };
        out.push(await recorder.record(m, "mole_hit", payload, { userId }));
      }
      return out;
    });
    say(`${EVENTS} events recorded in one transaction (deliveries: ${CONSUMERS.map((c) => c.consumer).join(", ")})`);

    const deliveries = EVENTS * CONSUMERS.length;
    // Kill process A once it has delivered some of them and was still delivering at the last look.
    const [a] = cluster.servers;
    let before = await delivered(0);
    let killedAt: { pending: number; byA: number } | undefined;
    for (const until = Date.now() + 60_000; !killedAt && Date.now() < until;) {
      const [now, pending] = [await delivered(0), await waiting()];
      if (pending === 0) break;
      if (now > before && pending < deliveries * 0.95) {
        await killHard(a);
        killedAt = { pending: await waiting(), byA: now };
      }
      before = now;
      await sleep(10);
    }
    assert.ok(killedAt, "process A was never seen delivering mid-way");
    say(
      `kill -9 of :${a.port} after it delivered ${killedAt.byA}; ${killedAt.pending} of ${deliveries} deliveries left`,
    );
    assert.ok(killedAt.pending > 0 && killedAt.pending < deliveries, "killed mid-way: some delivered, some not");

    // B goes on alone for a moment; then A comes back (same port) and dispatches too.
    await sleep(300);
    await cluster.respawn(0);
    say(`:${a.port} restarted`);
    const ms = await eventually(async () => assert.equal(await waiting(), 0), 90_000, "every delivery done");
    say(`every delivery done ${ms} ms after the restart`);
    const byRestarted = await delivered(0);
    say(`the restarted process delivered ${byRestarted}, the survivor the rest`);

    await assertDeliveredExactlyOnce(cluster.db, ids, CONSUMERS);
    say(`one analytics outbox row per event for each of ${RECEIVING.join(", ")}; none for plausible`);

    // The providers come back: every event reaches each of them (after their backoff, or the
    // 60 s claim of a batch the killed process was sending).
    for (const p of Object.keys(providers.answer) as AnalyticsProviderName[]) providers.answer[p] = 200;
    const sent = await eventually(
      async () => {
        const [{ n }] = await cluster.db.query(`SELECT count(*)::int AS n FROM analytics_events`);
        assert.equal(n, 0, "outbox empty");
      },
      150_000,
      "analytics outbox sent",
    );
    const duplicates = assertProvidersReceived(providers, ids, RECEIVING);
    say(`providers received every event ${sent} ms after coming back; duplicates ${JSON.stringify(duplicates)}`);
    assert.equal(providers.received.plausible.length, 0, "Plausible gets no server-side events");
    await cluster.assertAllAlive();
  });
});
