import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { BadgeProgress } from "../src/services/badge-progress";
import {
  type DomainEvent,
  type DomainEventPayloads,
  type DomainEventType,
  DomainLog,
} from "../src/services/domain-log";
import { utcDay } from "../src/services/progress-rules";
import { ADMIN, type TestApp, testApp } from "./helpers/app";
import { type Account, bearer, json, login, register, registerVerified } from "./helpers/users";
import { chatter, endAndMatch, leaveAll, liveCall, waitFor } from "./helpers/video";
import { playSoloRound } from "./helpers/whack";

const DAY_MS = 86_400_000;
/** Noon (UTC) `n` days ago: a day every event of a test can be placed on. */
const daysAgo = (n: number) => new Date(Date.parse(`${utcDay(new Date(Date.now() - n * DAY_MS))}T12:00:00Z`));

describe("badges", function () {
  this.timeout(60_000);
  let t: TestApp;
  let adminToken: string;
  /** Badges this file created: deactivated after each test, so other suites' events never reach them. */
  const created = new Set<string>();

  before(async () => {
    t = await testApp();
    adminToken = (await login(ADMIN.email, ADMIN.password, t)).accessToken;
  });
  afterEach(async () => {
    for (const id of created) await put(id, { active: false });
    created.clear();
  });

  const post = (body: unknown, token = adminToken) => t.fetch("/api/badges", json(body, bearer(token)));
  const put = (id: string, body: unknown, token = adminToken) =>
    t.fetch(`/api/badges/${id}`, { ...json(body, bearer(token)), method: "PUT" });
  async function createBadge(body: Record<string, unknown>) {
    const id = `test-${randomUUID().slice(0, 8)}`;
    const res = await post({ id, name: `Badge ${id}`, reward: 0, ...body });
    assert.equal(res.status, 201, await res.clone().text());
    created.add(id);
    return id;
  }
  const list = async (token?: string) => {
    const res = await t.fetch("/api/badges", token ? { headers: bearer(token) } : {});
    assert.equal(res.status, 200);
    return ((await res.json()) as { badges: Array<{ id: string; hidden: boolean }> }).badges;
  };
  const earned = async (userId: string) => {
    const res = await t.fetch(`/api/users/${userId}/badges`);
    assert.equal(res.status, 200);
    return ((await res.json()) as { badges: Array<{ badgeId: string; period: string; onChain: null }> }).badges;
  };
  const progressOf = async (account: Account) => {
    const res = await t.fetch("/api/users/me/badges/progress", { headers: bearer(account.accessToken) });
    assert.equal(res.status, 200);
    type Row = { badgeId: string; value: number; target: number; earned: boolean; period: string; scope: string };
    return new Map(((await res.json()) as { progress: Row[] }).progress.map((p) => [p.badgeId, p]));
  };
  /** The ledger rows written under a badge's reward key (one at most, whatever happened). */
  const rewardRows = (userId: string, badgeId: string, period = "all") =>
    t.app.dataSource.query(
      `SELECT delta::int AS delta, reason, ref_type, ref_id FROM ledger_entries WHERE idempotency_key = $1`,
      [`badge:${userId}:${badgeId}:${period}`],
    );
  const awardRows = (userId: string, badgeId?: string) =>
    t.app.dataSource.query(
      `SELECT badge_id, period FROM badge_awards WHERE user_id = $1 AND ($2::text IS NULL OR badge_id = $2)
        ORDER BY badge_id, period`,
      [userId, badgeId ?? null],
    ) as Promise<Array<{ badge_id: string; period: string }>>;
  const storedProgress = async (userId: string, badgeId: string, period = "all") => {
    const [row] = await t.app.dataSource.query(
      `SELECT value FROM badge_progress WHERE user_id = $1 AND badge_id = $2 AND period = $3`,
      [userId, badgeId, period],
    );
    return row ? Number(row.value) : undefined;
  };

  /** Records one event in a transaction of its own, as a service would. */
  function record<T extends DomainEventType>(type: T, payload: DomainEventPayloads[T], occurredAt = new Date()) {
    const userId = (payload as { userId?: string }).userId ?? null;
    return t.app.dataSource.transaction((m) =>
      t.app.services.domainLog.record(m, type, payload, { userId, occurredAt }),
    );
  }
  const round = (userId: string, score = 10, flagged = false): DomainEventPayloads["round_finished"] => ({
    roundId: randomUUID(),
    mode: "solo",
    userId,
    score,
    hits: Math.max(score, 0),
    misses: 0,
    rank: 1,
    flagged,
    endReason: "time_up",
  });
  const moles = (userId: string, byKind: Record<string, number>, flagged = false) => ({
    roundId: randomUUID(),
    userId,
    total: Object.values(byKind).reduce((a, b) => a + b, 0),
    byKind,
    flagged,
  });

  /**
   * Waits until the badge consumers handled `ids` and the badge_awarded events they recorded
   * (a poisoned delivery fails the test: it never will be).
   */
  async function delivered(ids: string[]) {
    const until = Date.now() + 20_000;
    for (;;) {
      const [{ pending, poisoned }] = await t.app.dataSource.query(
        `SELECT count(*) FILTER (WHERE d.poisoned_at IS NULL)::int AS pending,
                count(*) FILTER (WHERE d.poisoned_at IS NOT NULL)::int AS poisoned
           FROM domain_event_deliveries d JOIN domain_events e ON e.id = d.event_id
          WHERE d.consumer IN ('badges', 'badge-notices')
            AND (e.id = ANY($1::uuid[]) OR (e.type = 'badge_awarded' AND e.recorded_at > now() - interval '10 minutes'))`,
        [ids],
      );
      assert.equal(poisoned, 0, "a badge delivery was poisoned");
      if (pending === 0) return;
      if (Date.now() > until) throw new Error(`${pending} badge deliveries still pending`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  /** Records events one after the other (the order a player makes them), then waits for their delivery. */
  async function recordAll(events: Array<() => Promise<string>>) {
    const ids: string[] = [];
    for (const e of events) ids.push(await e());
    await delivered(ids);
    return ids;
  }

  describe("definitions", () => {
    it("only admins create and edit: 401 without a token, 403 for a player; 409 on a taken id; 404 on an unknown one", async () => {
      const player = await registerVerified(t);
      const body = {
        id: `test-${randomUUID().slice(0, 8)}`,
        name: "Nope",
        reward: 1,
        criteria: { event: "tip_sent", metric: "count", threshold: 1, scope: "total" },
      };
      const anonymous = await t.fetch("/api/badges", json(body));
      assert.equal(anonymous.status, 401);
      assert.equal((await post(body, player.accessToken)).status, 403);
      assert.equal((await put("first-round", { name: "Mine now" }, player.accessToken)).status, 403);
      assert.equal((await t.fetch(`/api/badges/first-round`, { ...json({ name: "x" }), method: "PUT" })).status, 401);
      assert.equal((await put(body.id, { name: "Ghost" })).status, 404, "nothing was created");

      const res = await post({ ...body, active: false });
      assert.equal(res.status, 201);
      created.add(body.id);
      const badge = await res.json();
      assert.deepEqual(badge.criteria, { ...body.criteria, op: "gte" });
      assert.equal(badge.repeatable, false);
      assert.equal(badge.hidden, false);
      const again = await post({ ...body, name: "Twice" });
      assert.equal(again.status, 409);
      assert.equal((await again.json()).error.code, "BADGE_EXISTS");

      const edited = await put(body.id, { name: "Renamed", reward: 4, repeatable: "daily", icon: "x.png" });
      assert.equal(edited.status, 200);
      const after = await edited.json();
      assert.equal(after.id, body.id);
      assert.equal(after.name, "Renamed");
      assert.equal(after.reward, 4);
      assert.equal(after.repeatable, "daily");
      assert.deepEqual(after.criteria, badge.criteria, "untouched fields stay");
      assert.equal((await put(body.id, { id: "other-id" })).status, 400, "the id never changes");
      assert.equal((await put("no-such-badge", { name: "x" })).status, 404);
    });

    it("criteria are validated: each bad definition is a 400 that creates nothing", async () => {
      const good = { event: "round_finished", metric: "score", op: "gte", threshold: 5, scope: "round" };
      const bad: Array<[string, Record<string, unknown>]> = [
        ["unknown event", { criteria: { ...good, event: "login" } }],
        ["metric of another event", { criteria: { ...good, metric: "amount" } }],
        ["op other than gte on a sum", { criteria: { ...good, op: "lt", scope: "total" } }],
        ["unknown scope", { criteria: { ...good, scope: "week" } }],
        ["unknown criteria field", { criteria: { ...good, window: 3 } }],
        ["fractional threshold", { criteria: { ...good, threshold: 1.5 } }],
        ["missing criteria", { criteria: undefined }],
        ["negative reward", { reward: -1 }],
        ["repeatable weekly", { repeatable: "weekly" }],
        ["repeatable true", { repeatable: true }],
        ["unknown field", { secret: 1 }],
        ["id not a slug", { id: "Not A Slug" }],
        ["empty name", { name: "  " }],
      ];
      for (const [what, change] of bad) {
        const id = `test-${randomUUID().slice(0, 8)}`;
        const res = await post({ id, name: "Bad", reward: 1, criteria: good, ...change });
        assert.equal(res.status, 400, what);
        assert.equal((await res.json()).error.code, "VALIDATION_FAILED", what);
        assert.equal((await put(id, { name: "x" })).status, 404, `${what}: nothing created`);
      }
      const res = await put("first-round", { criteria: { ...good, metric: "amount" } });
      assert.equal(res.status, 400, "an edit is checked the same way");
      const [stored] = await t.app.dataSource.query(`SELECT criteria FROM badges WHERE id = 'first-round'`);
      assert.equal(stored.criteria.event, "round_finished");
      assert.equal(stored.criteria.metric, "count");
    });

    it("lists the seeded badges; a hidden one only to users who earned it", async () => {
      const [lucky, other] = await Promise.all([registerVerified(t), registerVerified(t)]);
      const seeded = (await list()).map((b) => b.id);
      for (const id of ["first-round", "sharpshooter", "mole-hunter", "golden-touch", "three-day-streak"]) {
        assert.ok(seeded.includes(id), id);
      }
      for (const id of ["daily-grinder", "first-call", "first-match", "first-tip", "on-air"]) {
        assert.ok(seeded.includes(id), id);
      }
      assert.ok(!seeded.includes("below-zero"), "hidden from anonymous callers");

      await recordAll([() => record("round_finished", round(lucky.user.id, -3))]);
      const mine = await list(lucky.accessToken);
      assert.deepEqual(
        mine.find((b) => b.id === "below-zero"),
        {
          id: "below-zero",
          name: "Below zero",
          description: "Finish a round with a negative score: those were bombs",
          icon: "badges/below-zero.png",
          reward: 0,
          hidden: true,
          repeatable: false,
        },
      );
      const inSpanish = await t.fetch(`/api/users/${lucky.user.id}/badges`, {
        headers: { "Accept-Language": "es-MX, en;q=0.5" },
      });
      assert.equal(inSpanish.headers.get("content-language"), "es");
      assert.deepEqual(
        ((await inSpanish.json()) as { badges: Array<{ name: string }> }).badges.map((b) => b.name).sort(),
        ["Bajo cero", "Primera ronda"],
      );
      const german = (await (await t.fetch("/api/badges?lang=de")).json()) as {
        badges: Array<{ id: string; name: string; description: string }>;
      };
      const golden = german.badges.find((b) => b.id === "golden-touch")!;
      assert.deepEqual([golden.name, golden.description], ["Goldenes Händchen", "Triff 10 goldene Maulwürfe"]);
      assert.ok(!(await list(other.accessToken)).some((b) => b.id === "below-zero"), "not for others");
      assert.ok(!(await list()).some((b) => b.id === "below-zero"));
      const badges = await earned(lucky.user.id);
      assert.deepEqual(badges.map((b) => b.badgeId).sort(), ["below-zero", "first-round"]);
      assert.ok(badges.every((b) => b.period === "all" && b.onChain === null));

      // An inactive badge is not listed (and, below, does not advance).
      const quiet = await createBadge({
        criteria: { event: "stream_started", metric: "count", threshold: 1, scope: "total" },
        active: false,
      });
      assert.ok(!(await list()).some((b) => b.id === quiet));
      assert.equal((await t.fetch(`/api/users/${randomUUID()}/badges`)).status, 404);
    });
  });

  describe("progress, scope by scope", () => {
    it("round: one event decides; the progress view shows the best so far", async () => {
      const player = await registerVerified(t);
      await recordAll([
        () => record("round_finished", round(player.user.id, 30)),
        () => record("round_finished", round(player.user.id, 49)),
      ]);
      assert.deepEqual(await awardRows(player.user.id, "sharpshooter"), []);
      let progress = await progressOf(player);
      assert.equal(progress.get("sharpshooter")!.value, 49);
      assert.equal(progress.get("sharpshooter")!.target, 50);
      assert.equal(progress.get("sharpshooter")!.earned, false);
      await recordAll([
        () => record("round_finished", round(player.user.id, 55)),
        () => record("round_finished", round(player.user.id, 12)),
      ]);
      assert.deepEqual(await awardRows(player.user.id, "sharpshooter"), [{ badge_id: "sharpshooter", period: "all" }]);
      progress = await progressOf(player);
      assert.equal(progress.get("sharpshooter")!.value, 55);
      assert.equal(progress.get("sharpshooter")!.earned, true);
      assert.deepEqual(await rewardRows(player.user.id, "sharpshooter"), [
        { delta: 10, reason: "badge", ref_type: "badge", ref_id: "sharpshooter" },
      ]);
    });

    it("total: summed over events; awarded and credited exactly once", async () => {
      const player = await registerVerified(t);
      const id = player.user.id;
      await recordAll([
        () => record("mole_hit", moles(id, { golden: 4, normal: 10 })),
        () => record("mole_hit", moles(id, { normal: 3 })),
        () => record("mole_hit", moles(id, { golden: 4 })),
      ]);
      assert.equal(await storedProgress(id, "golden-touch"), 8);
      assert.equal(await storedProgress(id, "mole-hunter"), 21);
      assert.deepEqual(await awardRows(id, "golden-touch"), []);
      await recordAll([
        () => record("mole_hit", moles(id, { golden: 2 })),
        () => record("mole_hit", moles(id, { golden: 5 })),
      ]);
      assert.equal(await storedProgress(id, "golden-touch"), 15);
      assert.deepEqual(await awardRows(id, "golden-touch"), [{ badge_id: "golden-touch", period: "all" }]);
      assert.deepEqual(await rewardRows(id, "golden-touch"), [
        { delta: 10, reason: "badge", ref_type: "badge", ref_id: "golden-touch" },
      ]);
      assert.equal(await t.app.services.wallet.balance(id), 10);
      const [notice] = await t.app.dataSource.query(
        `SELECT payload FROM domain_events WHERE type = 'badge_awarded' AND user_id = $1`,
        [id],
      );
      assert.deepEqual(notice.payload, { userId: id, badgeId: "golden-touch", period: "all", reward: 10 });
    });

    it("an account without a verified email or phone earns the badge but no tokens (nor does a guest)", async () => {
      const player = await register(t);
      const guest = (await (
        await t.fetch("/api/auth/guest", json({ deviceId: `device-${randomUUID()}` }))
      ).json()) as Account;
      for (const id of [player.user.id, guest.user.id]) {
        await recordAll([() => record("mole_hit", moles(id, { golden: 10 }))]);
        assert.deepEqual(await awardRows(id, "golden-touch"), [{ badge_id: "golden-touch", period: "all" }]);
        assert.deepEqual(await rewardRows(id, "golden-touch"), []);
        assert.equal(await t.app.services.wallet.balance(id), 0);
        const [notice] = await t.app.dataSource.query(
          `SELECT payload FROM domain_events WHERE type = 'badge_awarded' AND user_id = $1`,
          [id],
        );
        assert.equal(notice.payload.reward, 0, "the event says what was credited");
      }
    });

    it("day: summed per UTC day of the event; a daily badge is awarded again the next day", async () => {
      const player = await registerVerified(t);
      const id = player.user.id;
      const [d1, d2] = [daysAgo(6), daysAgo(5)];
      const rounds = (n: number, at: Date) =>
        Array.from({ length: n }, () => () => record("round_finished", round(id, 5), at));
      await recordAll([...rounds(4, d1), ...rounds(4, d2)]);
      assert.deepEqual(await awardRows(id, "daily-grinder"), [], "4 + 4 on two days is not 5 in a day");
      assert.equal(await storedProgress(id, "daily-grinder", utcDay(d1)), 4);
      await recordAll(rounds(1, d2));
      await recordAll(rounds(1, d1));
      await recordAll(rounds(3, d2)); // more on an earned day: nothing more
      assert.deepEqual(await awardRows(id, "daily-grinder"), [
        { badge_id: "daily-grinder", period: utcDay(d1) },
        { badge_id: "daily-grinder", period: utcDay(d2) },
      ]);
      for (const day of [d1, d2]) {
        assert.deepEqual(await rewardRows(id, "daily-grinder", utcDay(day)), [
          { delta: 3, reason: "badge", ref_type: "badge", ref_id: "daily-grinder" },
        ]);
      }
      const progress = await progressOf(player);
      assert.equal(progress.get("daily-grinder")!.period, utcDay(new Date()));
      assert.equal(progress.get("daily-grinder")!.value, 0, "today starts empty");
      assert.equal(progress.get("daily-grinder")!.earned, false);
      const periods = (await earned(id)).filter((b) => b.badgeId === "daily-grinder").map((b) => b.period);
      assert.deepEqual(periods.sort(), [utcDay(d1), utcDay(d2)]);
    });

    it("streak: consecutive UTC days; the same day keeps it, a gap restarts it, awarded on the third day", async () => {
      const player = await registerVerified(t);
      const id = player.user.id;
      const on = (at: Date) => () => record("round_finished", round(id), at);
      await recordAll([on(daysAgo(9)), on(daysAgo(7)), on(daysAgo(6))]); // a gap: 1, then 1, 2
      assert.equal(await storedProgress(id, "three-day-streak"), 2);
      assert.deepEqual(await awardRows(id, "three-day-streak"), []);
      await recordAll([on(new Date(daysAgo(6).getTime() + 3_600_000)), on(daysAgo(8))]); // same day; an older day
      assert.equal(await storedProgress(id, "three-day-streak"), 2);
      await recordAll([on(daysAgo(5))]);
      assert.equal(await storedProgress(id, "three-day-streak"), 3);
      assert.deepEqual(await awardRows(id, "three-day-streak"), [{ badge_id: "three-day-streak", period: "all" }]);
      assert.equal((await rewardRows(id, "three-day-streak")).length, 1);
      // The progress view: a run that ended days ago is broken.
      assert.equal((await progressOf(player)).get("three-day-streak")!.value, 0);
      await recordAll([on(daysAgo(1)), on(new Date())]);
      assert.equal((await progressOf(player)).get("three-day-streak")!.value, 2);
    });

    it("flagged rounds count for nobody: neither their round_finished nor their mole_hit", async () => {
      const player = await registerVerified(t);
      const id = player.user.id;
      await recordAll([
        () => record("round_finished", round(id, 90, true)),
        () => record("mole_hit", moles(id, { golden: 20, normal: 100 }, true)),
      ]);
      const rows = await t.app.dataSource.query(`SELECT badge_id FROM badge_progress WHERE user_id = $1`, [id]);
      assert.deepEqual(rows, []);
      assert.deepEqual(await awardRows(id), []);
      assert.equal(await t.app.services.wallet.balance(id), 0);
    });

    it("the progress view covers every visible badge, in the current period", async () => {
      const player = await registerVerified(t);
      const id = player.user.id;
      await recordAll([() => record("round_finished", round(id, 20)), () => record("round_finished", round(id, 20))]);
      const progress = await progressOf(player);
      const visible = (await list(player.accessToken)).map((b) => b.id).sort();
      assert.deepEqual([...progress.keys()].sort(), visible);
      assert.ok(!progress.has("below-zero"), "hidden and not earned");
      const today = utcDay(new Date());
      assert.deepEqual(
        { ...progress.get("first-round")!, awardedAt: undefined },
        {
          badgeId: "first-round",
          name: "First round",
          scope: "total",
          target: 1,
          value: 2,
          period: "all",
          earned: true,
          awardedAt: undefined,
        },
      );
      assert.ok((progress.get("first-round") as unknown as { awardedAt: string }).awardedAt);
      assert.deepEqual([progress.get("daily-grinder")!.value, progress.get("daily-grinder")!.period], [2, today]);
      assert.equal(progress.get("three-day-streak")!.value, 1);
      assert.equal(progress.get("first-call")!.value, 0);
      assert.equal((await t.fetch("/api/users/me/badges/progress")).status, 401);
    });
  });

  describe("exactly once", () => {
    it("the same event handled twice counts once (a second run of the consumer changes nothing)", async () => {
      const player = await registerVerified(t);
      const id = player.user.id;
      const [eventId] = await recordAll([() => record("mole_hit", moles(id, { golden: 10 }))]);
      assert.equal(await storedProgress(id, "golden-touch"), 10);
      const [row] = await t.app.dataSource.query(`SELECT * FROM domain_events WHERE id = $1`, [eventId]);
      const event: DomainEvent = {
        id: row.id,
        type: row.type,
        userId: row.user_id,
        payload: row.payload,
        occurredAt: new Date(row.occurred_at),
      };
      const { badges, wallet, domainLog } = t.app.services;
      const handler = new BadgeProgress(badges, wallet, domainLog);
      await t.app.dataSource.transaction((m) => handler.handle(m, event));
      await Promise.all([
        t.app.dataSource.transaction((m) => handler.handle(m, event)),
        t.app.dataSource.transaction((m) => handler.handle(m, event)),
      ]);
      assert.equal(await storedProgress(id, "golden-touch"), 10);
      assert.equal(await storedProgress(id, "mole-hunter"), 10);
      assert.deepEqual(await awardRows(id), [{ badge_id: "golden-touch", period: "all" }]);
      assert.equal((await rewardRows(id, "golden-touch")).length, 1);
      assert.equal(await t.app.services.wallet.balance(id), 10);
    });

    it("two dispatchers racing over many events: each counted once, one award, one reward", async () => {
      const player = await registerVerified(t);
      const id = player.user.id;
      const { badges, wallet, domainLog } = t.app.services;
      // Another process's dispatcher: same consumer name, same handler (its awards recorded in the shared log).
      const other = new DomainLog(t.app.dataSource, { pollMs: 5, batchSize: 2 });
      other.register("badges", (m, e) => new BadgeProgress(badges, wallet, domainLog).handle(m, e));
      other.start();
      try {
        const ids = await Promise.all(
          Array.from({ length: 12 }, () => record("mole_hit", moles(id, { golden: 1, normal: 1 }))),
        );
        await Promise.all([
          other.dispatchOnce(),
          domainLog.dispatchOnce(),
          other.dispatchOnce(),
          domainLog.dispatchOnce(),
        ]);
        await delivered(ids);
      } finally {
        await other.stop();
      }
      assert.equal(await storedProgress(id, "golden-touch"), 12);
      assert.equal(await storedProgress(id, "mole-hunter"), 24);
      assert.deepEqual(await awardRows(id), [{ badge_id: "golden-touch", period: "all" }]);
      assert.equal((await rewardRows(id, "golden-touch")).length, 1);
      assert.equal(await t.app.services.wallet.balance(id), 10);
      const [{ n }] = await t.app.dataSource.query(
        `SELECT count(*)::int AS n FROM domain_events WHERE type = 'badge_awarded' AND user_id = $1`,
        [id],
      );
      assert.equal(n, 1);
    });

    it("an admin edit applies to the next event: inactive badges stop, new criteria restart progress", async () => {
      const buyer = await registerVerified(t);
      const id = buyer.user.id;
      const badge = await createBadge({
        criteria: { event: "purchase_completed", metric: "tokens", threshold: 1000, scope: "total" },
      });
      const purchase = (tokens: number) => () =>
        record("purchase_completed", { purchaseId: randomUUID(), userId: id, packId: "starter", tokens });
      await recordAll([purchase(600)]);
      assert.equal(await storedProgress(id, badge), 600);
      assert.equal((await put(badge, { active: false })).status, 200);
      await recordAll([purchase(600)]);
      assert.equal(await storedProgress(id, badge), 600, "inactive: not advanced");
      assert.deepEqual(await awardRows(id, badge), []);
      const edited = await put(badge, {
        active: true,
        criteria: { event: "purchase_completed", metric: "tokens", threshold: 500, scope: "total" },
      });
      assert.equal(edited.status, 200);
      assert.equal(await storedProgress(id, badge), undefined, "new criteria: progress restarts");
      await recordAll([purchase(400)]);
      assert.deepEqual(await awardRows(id, badge), []);
      await recordAll([purchase(100)]);
      assert.deepEqual(await awardRows(id, badge), [{ badge_id: badge, period: "all" }]);
    });
  });

  describe("real play", () => {
    it("a played whack round earns 'first round', pushed as badge:awarded to the round's room", async () => {
      const player = await registerVerified(t, { displayName: "Rookie" });
      const played = await playSoloRound(t, player);
      try {
        // The award follows the round's commit: its notice may arrive before or after `round:end`.
        await waitFor(() => played.badges.length > 0, "badge:awarded in the round's room", 20_000);
        assert.deepEqual(played.badges, [{ badgeId: "first-round", name: "First round" }]);
        assert.equal(played.end.scores[0].flagged, false);
        const badges = await earned(player.user.id);
        assert.ok(badges.some((b) => b.badgeId === "first-round" && b.period === "all"));
        assert.deepEqual(await rewardRows(player.user.id, "first-round"), [
          { delta: 1, reason: "badge", ref_type: "badge", ref_id: "first-round" },
        ]);
      } finally {
        await played.close();
      }
    });

    it("a real call and a mutual MATCH earn 'first call' and 'first match' for both users", async () => {
      const a = await chatter(t, "Ada");
      const b = await chatter(t, "Bo");
      const { ra, rb } = await liveCall(t, a, b);
      try {
        await endAndMatch(ra, rb);
      } finally {
        await leaveAll(ra, rb);
      }
      for (const user of [a, b]) {
        const until = Date.now() + 20_000;
        let ids: string[] = [];
        while (!(ids.includes("first-call") && ids.includes("first-match")) && Date.now() < until) {
          ids = (await earned(user.user.id)).map((x) => x.badgeId);
          if (!(ids.includes("first-call") && ids.includes("first-match"))) await new Promise((r) => setTimeout(r, 50));
        }
        assert.deepEqual(ids.sort(), ["first-call", "first-match"]);
      }
    });
  });
});
