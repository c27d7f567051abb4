import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { DataSource, EntityManager } from "typeorm";
import { createDataSource } from "../src/db/data-source";
import { registry } from "../src/metrics";
import { type DomainEvent, type DomainEventHandler, type DomainEventType, DomainLog } from "../src/services/domain-log";
import type { WhackMole } from "../src/services/whack";
import { testApp, type TestApp } from "./helpers/app";
import { type Account, bearer, json, login, register } from "./helpers/users";
import { chatter, endAndMatch, leaveAll, liveCall, waitFor } from "./helpers/video";
import { checkoutEvent, deliver, fund } from "./helpers/wallet";

/** Far enough ahead that every retry is due (the dispatcher's `now` is a parameter: no sleeping). */
const later = (minutes = 60) => new Date(Date.now() + minutes * 60_000);

describe("domain events: recorded with their change, delivered once per consumer", () => {
  let t: TestApp;
  let log: DomainLog;
  const registered: string[] = [];
  const seen: DomainEvent[] = [];

  /** A consumer of the shared server's log, removed after this file. */
  function consumer(handler: DomainEventHandler, tag = "test"): string {
    const name = `${tag}-${randomUUID().slice(0, 8)}`;
    log.register(name, handler);
    registered.push(name);
    return name;
  }
  const pendingFor = async (name: string) =>
    (
      (await t.app.dataSource.query(
        `SELECT count(*)::int AS n FROM domain_event_deliveries WHERE consumer = $1 AND poisoned_at IS NULL`,
        [name],
      )) as Array<{ n: number }>
    )[0].n;
  /** A login event for `userId` (any string: only the payload carries it), recorded in a transaction of its own. */
  const record = (userId: string) => t.app.dataSource.transaction((m) => log.record(m, "login", { userId }));
  /** The events of `type` the counting consumer saw about `userId` (payload userId, fromUserId, userA or ownerId). */
  const about = (type: DomainEventType, userId: string) =>
    seen.filter((e) => {
      const p = e.payload as Record<string, unknown>;
      return e.type === type && [p.userId, p.fromUserId, p.userA, p.userB, p.ownerId].includes(userId);
    });
  const eventually = (predicate: () => boolean, what: string) => waitFor(predicate, what, 15_000);

  let counter: string;
  before(async () => {
    t = await testApp();
    log = t.app.services.domainLog;
    counter = consumer(async (_m, e) => void seen.push(e), "counter");
  });
  after(() => {
    for (const name of registered) log.unregister(name);
  });

  describe("real flows produce exactly the expected events", () => {
    it("register and login: user_registered, then login (no email in the payload)", async () => {
      const account = await register(t);
      await login(account.email, account.password, t);
      await eventually(() => about("login", account.user.id).length === 1, "login event");
      assert.equal(about("user_registered", account.user.id).length, 1);
      const [registeredEvent] = about("user_registered", account.user.id);
      assert.deepEqual(registeredEvent.payload, { userId: account.user.id, upgradedFromGuest: false });
      assert.equal(registeredEvent.userId, account.user.id);
      const stored = await t.app.dataSource.query(`SELECT payload::text AS p FROM domain_events WHERE user_id = $1`, [
        account.user.id,
      ]);
      assert.equal(stored.length, 2);
      assert.ok(stored.every((r: { p: string }) => !r.p.includes(account.email)));
      // A wrong password is no login.
      const wrong = await t.fetch("/api/auth/login", json({ email: account.email, password: "not-the-password" }));
      assert.equal(wrong.status, 401);
      await waitUntilDelivered();
      assert.equal(about("login", account.user.id).length, 1);
    });

    it("a tip: one tip_sent, and its idempotent retry records nothing more", async () => {
      const alice = await register(t, { displayName: "Alice" });
      const bob = await register(t, { displayName: "Bob" });
      await fund(t, alice.user.id, 30);
      const key = randomUUID();
      const tip = () =>
        t.fetch(
          "/api/payments/tip",
          json({ toUserId: bob.user.id, amount: 7 }, { ...bearer(alice.accessToken), "Idempotency-Key": key }),
        );
      assert.equal((await tip()).status, 200);
      assert.equal((await tip()).status, 200);
      // A refused tip (too much) records nothing.
      const broke = await t.fetch(
        "/api/payments/tip",
        json({ toUserId: bob.user.id, amount: 500 }, { ...bearer(alice.accessToken), "Idempotency-Key": randomUUID() }),
      );
      assert.equal(broke.status, 402);
      await eventually(() => about("tip_sent", alice.user.id).length >= 1, "tip_sent");
      await waitUntilDelivered();
      assert.deepEqual(
        about("tip_sent", alice.user.id).map((e) => e.payload),
        [{ fromUserId: alice.user.id, toUserId: bob.user.id, amount: 7, streamId: null }],
      );
    });

    it("a stream: stream_started once; a second live stream refused records nothing", async () => {
      const owner = await register(t);
      const res = await t.fetch("/api/streams", json({ title: "Speedrun" }, bearer(owner.accessToken)));
      assert.equal(res.status, 201);
      const { id } = await res.json();
      assert.equal((await t.fetch("/api/streams", json({ title: "Again" }, bearer(owner.accessToken)))).status, 409);
      await eventually(() => about("stream_started", owner.user.id).length >= 1, "stream_started");
      await waitUntilDelivered();
      assert.deepEqual(
        about("stream_started", owner.user.id).map((e) => e.payload),
        [{ streamId: id, ownerId: owner.user.id }],
      );
    });

    it("a purchase: purchase_completed when the webhook credits, once for repeated deliveries", async () => {
      const buyer = await register(t);
      const res = await t.fetch(
        "/api/tokens/purchase",
        json({ pack: "starter" }, { ...bearer(buyer.accessToken), "Idempotency-Key": randomUUID() }),
      );
      const { checkoutSessionId } = await res.json();
      const paid = checkoutEvent("checkout.session.completed", { id: checkoutSessionId, payment_status: "paid" });
      await Promise.all([deliver(t, paid), deliver(t, paid), deliver(t, paid)]);
      await eventually(() => about("purchase_completed", buyer.user.id).length >= 1, "purchase_completed");
      await waitUntilDelivered();
      const events = about("purchase_completed", buyer.user.id);
      assert.equal(events.length, 1);
      assert.equal((events[0].payload as { tokens: number }).tokens, 100);
      assert.equal((events[0].payload as { packId: string }).packId, "starter");
    });

    it("a video call: call_started when it goes live, match_made once on a mutual MATCH", async () => {
      const a = await chatter(t, "Ann");
      const b = await chatter(t, "Ben");
      const { callId, ra, rb } = await liveCall(t, a, b);
      try {
        const { matchId } = await endAndMatch(ra, rb);
        await eventually(() => about("match_made", a.user.id).length >= 1, "match_made");
        await waitUntilDelivered();
        const started = about("call_started", a.user.id);
        assert.equal(started.length, 1);
        assert.equal((started[0].payload as { callId: string }).callId, callId);
        assert.deepEqual(
          about("match_made", a.user.id).map((e) => e.payload),
          [
            {
              matchId,
              callId,
              userA: (started[0].payload as { userA: string }).userA,
              userB: (started[0].payload as { userB: string }).userB,
            },
          ],
        );
      } finally {
        await leaveAll(ra, rb);
      }
    });

    it("a whack round: round_finished per player, one mole_hit per player with counts by kind", async () => {
      const whack = t.app.services.whack;
      const [ann, bob] = await Promise.all([register(t), register(t)]);
      const round = whack.newRound("versus");
      const startedAt = new Date();
      await whack.startRound({
        ...round,
        startedAt,
        players: [ann, bob].map((p: Account) => ({
          userId: p.user.id,
          displayName: p.user.displayName,
          playSessionId: randomUUID(),
        })),
      });
      const mole = (moleId: number, kind: WhackMole["kind"]): WhackMole => ({
        moleId,
        hole: moleId % 9,
        kind,
        spawnAt: new Date(startedAt.getTime() + moleId * 400),
        despawnAt: new Date(startedAt.getTime() + moleId * 400 + 900),
      });
      const moles = [mole(1, "normal"), mole(2, "golden"), mole(3, "normal"), mole(4, "bomb")];
      const points = { normal: 1, golden: 3, bomb: -2 };
      const hit = (m: WhackMole, userId: string) => ({
        moleId: m.moleId,
        userId,
        at: new Date(m.spawnAt.getTime() + 100),
        points: points[m.kind],
      });
      const end = {
        endedAt: new Date(startedAt.getTime() + 60_000),
        reason: "time_up",
        moles,
        hits: [
          hit(moles[0], ann.user.id),
          hit(moles[1], ann.user.id),
          hit(moles[2], ann.user.id),
          hit(moles[3], ann.user.id),
        ],
        players: [
          { userId: ann.user.id, misses: 1, flags: [], endReason: null },
          { userId: bob.user.id, misses: 3, flags: [], endReason: null },
        ],
      };
      await whack.finishRound(round.roundId, end);
      await whack.finishRound(round.roundId, end); // ended already: nothing more
      await eventually(() => about("round_finished", bob.user.id).length >= 1, "round_finished");
      await waitUntilDelivered();
      const annRound = about("round_finished", ann.user.id);
      assert.deepEqual(
        annRound.map((e) => e.payload),
        [
          {
            roundId: round.roundId,
            mode: "versus",
            userId: ann.user.id,
            score: 3,
            hits: 4,
            misses: 1,
            rank: 1,
            flagged: false,
            endReason: "time_up",
          },
        ],
      );
      assert.equal(annRound[0].occurredAt.getTime(), end.endedAt.getTime());
      assert.equal(about("round_finished", bob.user.id).length, 1);
      assert.deepEqual(
        about("mole_hit", ann.user.id).map((e) => e.payload),
        [
          {
            roundId: round.roundId,
            userId: ann.user.id,
            total: 4,
            byKind: { bomb: 1, golden: 1, normal: 2 },
            flagged: false,
          },
        ],
      );
      assert.equal(about("mole_hit", bob.user.id).length, 0, "no hits, no mole_hit");
    });
  });

  describe("dispatch", () => {
    it("a failing consumer is retried with backoff; the other consumers are not held up", async () => {
      const userId = randomUUID();
      const steady: string[] = [];
      let failures = 0;
      let failedAt = 0;
      const delivered: string[] = [];
      consumer(async (_m, e) => {
        if ((e.payload as { userId?: string }).userId === userId) steady.push(e.id);
      }, "steady");
      const flaky = consumer(async (_m, e) => {
        if ((e.payload as { userId?: string }).userId !== userId) return;
        if (failures < 2) {
          failures++;
          failedAt ||= Date.now();
          throw new Error("consumer down");
        }
        delivered.push(e.id);
      }, "flaky");
      const id = await record(userId);
      await eventually(() => steady.length === 1 && failures >= 1, "steady delivery and the first failure");
      // The handler threw; its pass commits the retry schedule a moment later.
      const retryRow = async () =>
        (
          await t.app.dataSource.query(
            `SELECT attempts, next_at, last_error FROM domain_event_deliveries WHERE event_id = $1 AND consumer = $2`,
            [id, flaky],
          )
        )[0];
      let row = await retryRow();
      for (const until = Date.now() + 15_000; row.attempts === 0 && Date.now() < until; row = await retryRow()) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(row.attempts >= 1, "the failure counted");
      assert.equal(row.last_error, "consumer down");
      // The first retry waits retryDelayMs (1 s by default), not a hot loop.
      assert.ok(new Date(row.next_at).getTime() >= failedAt + 500, "retry scheduled later");
      // Due later: a pass "an hour on" retries (fails again), the next one delivers.
      for (let hours = 1; delivered.length === 0; hours++) await log.dispatchOnce(later(60 * hours));
      assert.equal(failures, 2);
      assert.deepEqual(delivered, [id]);
      assert.deepEqual(steady, [id]);
      assert.equal(await pendingFor(flaky), 0);
    });

    it("a poisoned delivery is kept and counted after maxAttempts, and never blocks later events", async () => {
      const userId = randomUUID();
      const got: string[] = [];
      let poisonId = "";
      const name = consumer(async (_m, e) => {
        if ((e.payload as { userId?: string }).userId !== userId) return;
        if (e.id === poisonId) throw new Error("cannot handle this one");
        got.push(e.id);
      }, "picky");
      poisonId = await record(userId);
      const poisonRow = async () =>
        (
          await t.app.dataSource.query(
            `SELECT attempts, poisoned_at FROM domain_event_deliveries WHERE event_id = $1 AND consumer = $2`,
            [poisonId, name],
          )
        )[0];
      // Each pass a day later than the last, so every retry is due (a pass may find the row held
      // by the server's own dispatcher, or other due deliveries first: then the next pass takes it).
      let row = await poisonRow();
      for (let days = 1; !row.poisoned_at && days <= 10 * log.maxAttempts; days++, row = await poisonRow()) {
        await log.dispatchOnce(later(60 * 24 * days));
      }
      assert.equal(row.attempts, log.maxAttempts);
      assert.ok(row.poisoned_at, "kept, marked poisoned");
      const metrics = await registry.getSingleMetricAsString("domain_event_deliveries_total");
      assert.match(metrics, new RegExp(`consumer="${name}",outcome="poisoned"} 1`));
      const next = await record(userId);
      await eventually(() => got.includes(next), "the next event delivered");
      assert.deepEqual(got, [next]);
    });

    it("a consumer whose transaction throws after its effect leaves no effect, and the event is delivered again", async () => {
      await t.app.dataSource.query(
        `CREATE TABLE IF NOT EXISTS test_consumer_effects (event_id uuid NOT NULL, attempt int NOT NULL)`,
      );
      const userId = randomUUID();
      let attempt = 0;
      consumer(async (m: EntityManager, e) => {
        if ((e.payload as { userId?: string }).userId !== userId) return;
        attempt++;
        await m.query(`INSERT INTO test_consumer_effects (event_id, attempt) VALUES ($1, $2)`, [e.id, attempt]);
        if (attempt === 1) throw new Error("crashed after writing");
      }, "effects");
      const id = await record(userId);
      await eventually(() => attempt === 1, "the first attempt");
      for (let hours = 1; attempt < 2; hours++) await log.dispatchOnce(later(60 * hours));
      const rows = await t.app.dataSource.query(`SELECT attempt FROM test_consumer_effects WHERE event_id = $1`, [id]);
      assert.deepEqual(rows, [{ attempt: 2 }], "only the committed attempt's effect");
    });

    it("a consumer that names its event types gets deliveries for those only; the others get every type", async () => {
      const picky = `picky-${randomUUID().slice(0, 8)}`;
      const all = `all-${randomUUID().slice(0, 8)}`;
      const log = new DomainLog(t.app.dataSource);
      log.register(picky, async () => {}, { types: ["badge_awarded"] });
      log.register(all, async () => {});
      const userId = randomUUID();
      await t.app.dataSource.transaction(async (m) => {
        await log.record(m, "login", { userId });
        await log.record(m, "badge_awarded", { userId, badgeId: "b", period: "all", reward: 0 });
      });
      const rows = await t.app.dataSource.query(
        `SELECT d.consumer = $1 AS picky, e.type FROM domain_event_deliveries d JOIN domain_events e ON e.id = d.event_id
          WHERE d.consumer IN ($1, $2) ORDER BY d.consumer = $1, e.type`,
        [picky, all],
      );
      assert.deepEqual(rows, [
        { picky: false, type: "badge_awarded" },
        { picky: false, type: "login" },
        { picky: true, type: "badge_awarded" },
      ]);
      await t.app.dataSource.query(`DELETE FROM domain_event_deliveries WHERE consumer IN ($1, $2)`, [picky, all]);
    });

    it("events recorded while no dispatcher of their consumer runs (its process died) are delivered once one starts", async () => {
      const name = `restart-${randomUUID().slice(0, 8)}`;
      // The process that recorded and died before dispatching: its log is never started.
      const dead = new DomainLog(t.app.dataSource);
      dead.register(name, async () => assert.fail("the dead process dispatches nothing"));
      const ids = await Promise.all(
        [0, 1, 2].map((i) => t.app.dataSource.transaction((m) => dead.record(m, "login", { userId: `${name}-${i}` }))),
      );
      assert.equal(await pendingFor(name), 3);
      // The restarted process: same consumer name, a fresh dispatcher.
      const restarted = new DomainLog(t.app.dataSource, { pollMs: 20 });
      const got: string[] = [];
      restarted.register(name, async (_m, e) => void got.push(e.id));
      restarted.start();
      try {
        await eventually(() => got.length >= 3, "the three events delivered after the restart");
        await waitUntilDelivered(name);
        assert.deepEqual([...got].sort(), [...ids].sort());
      } finally {
        await restarted.stop();
      }
    });

    it("a dispatcher whose database connection dies mid-delivery leaves no effect; another one delivers (PostgreSQL)", async function () {
      const url = t.app.config.DATABASE_URL;
      if (!url) return this.skip(); // one embedded connection: nothing to kill apart from the server
      await t.app.dataSource.query(
        `CREATE TABLE IF NOT EXISTS test_consumer_effects (event_id uuid NOT NULL, attempt int NOT NULL)`,
      );
      const name = `dying-${randomUUID().slice(0, 8)}`;
      const dyingSource = createDataSource({ url, embeddedDir: "memory://" });
      await dyingSource.initialize();
      const dying = new DomainLog(dyingSource, { pollMs: 20 });
      let backendPid: (pid: number) => void = () => {};
      const pid = new Promise<number>((resolve) => (backendPid = resolve));
      let carryOn: () => void = () => {};
      const killed = new Promise<void>((resolve) => (carryOn = resolve));
      dying.register(name, async (m, e) => {
        await m.query(`INSERT INTO test_consumer_effects (event_id, attempt) VALUES ($1, 1)`, [e.id]);
        backendPid((await m.query(`SELECT pg_backend_pid() AS pid`))[0].pid);
        await killed;
      });
      const rescuer = new DomainLog(t.app.dataSource, { pollMs: 20 });
      try {
        dying.start();
        const id = await t.app.dataSource.transaction((m) => dying.record(m, "login", { userId: name }));
        // The process dies while its consumer's effect is written but not committed.
        await t.app.dataSource.query(`SELECT pg_terminate_backend($1)`, [await pid]);
        carryOn();
        await dying.stop();
        const got: string[] = [];
        rescuer.register(name, async (m, e) => {
          await m.query(`INSERT INTO test_consumer_effects (event_id, attempt) VALUES ($1, 2)`, [e.id]);
          got.push(e.id);
        });
        rescuer.start();
        await eventually(() => got.length >= 1, "delivered by the surviving dispatcher");
        await waitUntilDelivered(name);
        assert.deepEqual(got, [id]);
        const rows = await t.app.dataSource.query(`SELECT attempt FROM test_consumer_effects WHERE event_id = $1`, [
          id,
        ]);
        assert.deepEqual(rows, [{ attempt: 2 }], "the dead transaction's effect rolled back");
      } finally {
        carryOn();
        await dying.stop();
        await rescuer.stop();
        if (dyingSource.isInitialized) await dyingSource.destroy();
      }
    });

    it("two dispatchers (a second service instance on its own connection) deliver each event exactly once", async function () {
      const url = t.app.config.DATABASE_URL;
      // PostgreSQL: a second data source, as another process would have; embedded: the one database.
      let other: DataSource = t.app.dataSource;
      if (url) {
        other = createDataSource({ url, embeddedDir: "memory://" });
        await other.initialize();
      }
      const second = new DomainLog(other, { pollMs: 20 });
      const handled: Array<{ id: string; by: string }> = [];
      const runId = randomUUID();
      const name = `shared-${runId.slice(0, 8)}`;
      const handlerOf =
        (by: string): DomainEventHandler =>
        async (m, e) => {
          if ((e.payload as { userId?: string }).userId?.startsWith(runId.slice(0, 8)) !== true) return;
          // A database round trip inside the delivery, so both dispatchers overlap.
          await m.query(`SELECT 1`);
          await new Promise((r) => setTimeout(r, 2));
          handled.push({ id: e.id, by });
        };
      log.register(name, handlerOf("first"));
      registered.push(name);
      second.register(name, handlerOf("second"));
      second.start();
      try {
        const ids: string[] = [];
        for (let i = 0; i < 40; i++) ids.push(await record(`${runId.slice(0, 8)}-${i}`));
        await eventually(() => handled.length >= ids.length, "all 40 handled");
        await waitUntilDelivered(name);
        assert.equal(handled.length, ids.length, "no event handled twice");
        assert.deepEqual([...new Set(handled.map((h) => h.id))].sort(), [...ids].sort());
        if (url) console.log(`      (handled by: ${JSON.stringify(countBy(handled.map((h) => h.by)))})`);
      } finally {
        await second.stop();
        if (other !== t.app.dataSource) await other.destroy();
      }
    });
  });

  /** Waits until no delivery of `name` (the counter by default) is pending. */
  async function waitUntilDelivered(name = counter) {
    const until = Date.now() + 15_000;
    while ((await pendingFor(name)) > 0) {
      if (Date.now() > until) throw new Error(`deliveries of ${name} still pending`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
