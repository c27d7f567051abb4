import fs from "node:fs";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { type ChallengeDefinition, ChallengeDays, chooseForDay } from "../src/services/challenge-days";
import { ChallengeService, registerChallengeConsumer } from "../src/services/challenges";
import type { DomainEventType } from "../src/services/domain-log";
import { AppError } from "../src/services/errors";
import { endOfUtcDay, previousUtcDay, utcDay } from "../src/services/progress-rules";
import { testApp, type TestApp } from "./helpers/app";
import { bearer, register, registerVerified } from "./helpers/users";
import { collect, sdkFor, waitFor } from "./helpers/video";
import { type PlayedRound, playSoloRound } from "./helpers/whack";

/** `YYYY-MM-DD` plus n days. */
const addDays = (day: string, n: number) => utcDay(new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000));
const at = (day: string, time: string) => new Date(`${day}T${time}Z`);

describe("daily challenges", () => {
  let t: TestApp;
  let definitions: ChallengeDefinition[];
  const definition = (id: string) => definitions.find((d) => d.id === id)!;

  /** Records one event the way a service does: in a transaction of its own, at `occurredAt`. */
  const record = (type: DomainEventType, payload: Record<string, unknown>, occurredAt: Date) =>
    t.app.dataSource.transaction((m) =>
      t.app.services.domainLog.record(m, type, payload as never, { userId: null, occurredAt }),
    );

  /** Waits until `consumer` has handled the events (a poisoned delivery fails the test with its error). */
  async function delivered(eventIds: string[], consumer = "challenges") {
    const until = Date.now() + 15_000;
    for (;;) {
      const rows: Array<{ poisoned_at: Date | null; last_error: string | null }> = await t.app.dataSource.query(
        `SELECT poisoned_at, last_error FROM domain_event_deliveries WHERE event_id = ANY($1::uuid[]) AND consumer = $2`,
        [eventIds, consumer],
      );
      if (rows.length === 0) return;
      const poisoned = rows.find((r) => r.poisoned_at);
      if (poisoned) throw new Error(`delivery poisoned: ${poisoned.last_error}`);
      if (Date.now() > until) throw new Error(`deliveries to ${consumer} still pending: ${rows[0].last_error}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Records and delivers events that complete `d` for `userId` on the day of `occurredAt`. */
  async function complete(d: ChallengeDefinition, userId: string, occurredAt: Date) {
    const ids: string[] = [];
    for (const payload of completingPayloads(d, userId)) ids.push(await record(d.criteria.event, payload, occurredAt));
    await delivered(ids);
  }

  /** Pins `day` to the given definitions: the test controls that day's set (before anything uses the day). */
  async function pin(day: string, ids: string[]) {
    await t.app.dataSource.query(`INSERT INTO challenge_days (day, challenges) VALUES ($1::date, $2::jsonb)`, [
      day,
      JSON.stringify(ids.map(definition)),
    ]);
  }

  /** A service whose "today" is `day` (noon), over the shared app's database, wallet and log. */
  const serviceOn = (day: string) =>
    new ChallengeService(t.app.dataSource, t.app.services.wallet, t.app.services.domainLog, {
      clock: { now: () => at(day, "12:00:00") },
    });

  const progressOf = async (service: ChallengeService, userId: string) =>
    Object.fromEntries(
      (await service.list(userId)).challenges.map((c) => [c.id.split(".")[1], [c.progress, c.completed, c.claimed]]),
    );

  async function refusal(promise: Promise<unknown>): Promise<[number, string]> {
    const err = await promise.then(
      () => assert.fail("expected a refusal"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AppError, String(err));
    return [err.status, err.code];
  }

  const claim = (token: string, id: string) =>
    t.fetch(`/api/challenges/${encodeURIComponent(id)}/claim`, { method: "POST", headers: bearer(token) });
  const today = async (token: string) => {
    const res = await t.fetch("/api/challenges", { headers: bearer(token) });
    assert.equal(res.status, 200);
    return (await res.json()) as {
      day: string;
      challenges: Array<{ id: string; progress: number; completed: boolean; claimed: boolean; reward: number }>;
    };
  };
  const balanceOf = async (token: string) =>
    (await (await t.fetch("/api/tokens/balance", { headers: bearer(token) })).json()).balance as number;

  before(async () => {
    t = await testApp();
    definitions = await new ChallengeDays({ perDay: 3 }).definitions(t.app.dataSource.manager);
    assert.ok(definitions.length >= 8, "seeded definitions");
  });

  describe("each day's set", () => {
    it("is the same on every instance and by hash order; other days differ", async () => {
      const day = "2033-05-05";
      const sets = await Promise.all(
        [0, 1].map(() => new ChallengeDays({ perDay: 3 }).forDay(t.app.dataSource.manager, day, { pin: false })),
      );
      assert.equal(sets[0].length, 3);
      assert.deepEqual(sets[0], sets[1]);
      assert.deepEqual(sets[0], chooseForDay(day, definitions, 3));
      const month = new Set(
        Array.from({ length: 30 }, (_, i) =>
          chooseForDay(addDays(day, i), definitions, 3)
            .map((d) => d.id)
            .join(),
        ),
      );
      assert.ok(month.size > 5, "the set changes from day to day");
    });

    it("GET /api/challenges: today's set (as chosen by hash), with the caller's progress at zero", async () => {
      const user = await registerVerified(t);
      const body = await today(user.accessToken);
      assert.equal(body.day, utcDay(new Date()));
      const expected = chooseForDay(body.day, definitions, 3);
      assert.deepEqual(
        body.challenges.map((c) => c.id),
        expected.map((d) => `${body.day}.${d.id}`),
      );
      for (const [i, c] of body.challenges.entries()) {
        assert.deepEqual(c, {
          id: `${body.day}.${expected[i].id}`,
          title: expected[i].title,
          description: expected[i].description,
          target: expected[i].criteria.scope === "round" ? 1 : expected[i].criteria.threshold,
          progress: 0,
          completed: false,
          claimed: false,
          reward: expected[i].reward,
          endsAt: endOfUtcDay(body.day).toISOString(),
        });
      }
      // In French (Accept-Language): the shipped translations of the same challenges.
      const french = await t.fetch("/api/challenges", {
        headers: { ...bearer(user.accessToken), "Accept-Language": "fr-CA" },
      });
      assert.equal(french.headers.get("content-language"), "fr");
      const fr = JSON.parse(fs.readFileSync("src/i18n/locales/fr.json", "utf8")) as Record<string, string>;
      assert.deepEqual(
        ((await french.json()) as { challenges: Array<{ title: string }> }).challenges.map((c) => c.title),
        expected.map((d) => fr[`challenge.${d.id}.title`]),
      );
      // Another process (a fresh instance) agrees.
      const other = await serviceOn(body.day).activeFor(body.day);
      assert.deepEqual(
        other.map((d) => d.id),
        expected.map((d) => d.id),
      );
      assert.equal((await t.fetch("/api/challenges")).status, 401);
    });

    it("is pinned on first use: deactivating a definition changes later days, not a pinned one", async () => {
      const day = "2033-06-01";
      const pinned = await serviceOn(day).activeFor(day);
      const dropped = pinned[0].id;
      await t.app.dataSource.query(`UPDATE challenge_definitions SET active = false WHERE id = $1`, [dropped]);
      try {
        const fresh = new ChallengeDays({ perDay: 3 });
        const again = await fresh.forDay(t.app.dataSource.manager, day, { pin: true });
        assert.deepEqual(again, pinned, "the pinned day keeps its set");
        for (let i = 1; i <= 30; i++) {
          const later = await fresh.forDay(t.app.dataSource.manager, addDays(day, i), { pin: false });
          assert.ok(!later.some((d) => d.id === dropped), "an inactive definition is never chosen again");
        }
      } finally {
        await t.app.dataSource.query(`UPDATE challenge_definitions SET active = true WHERE id = $1`, [dropped]);
      }
    });
  });

  describe("progress from domain events", () => {
    it("sums a day's metric up to the target; a single-round criterion needs one good round", async () => {
      const day = "2033-07-01";
      await pin(day, ["rounds-3", "score-20", "golden-3"]);
      const userId = randomUUID();
      const round = (score: number, flagged = false) =>
        record("round_finished", roundPayload(userId, { score, flagged }), at(day, "10:00:00"));
      const ids = [await round(5), await round(7), await round(40, true)];
      ids.push(await record("mole_hit", molePayload(userId, { normal: 4, golden: 2 }), at(day, "10:00:00")));
      ids.push(await record("tip_sent", tipPayload(userId), at(day, "10:00:00")));
      await delivered(ids);
      const service = serviceOn(day);
      // The flagged round counts for nobody; the tip matches none of the day's challenges.
      assert.deepEqual(await progressOf(service, userId), {
        "rounds-3": [2, false, false],
        "score-20": [0, false, false],
        "golden-3": [2, false, false],
      });
      const more = [await round(21), await round(3), await round(25)];
      more.push(await record("mole_hit", molePayload(userId, { golden: 5 }), at(day, "11:00:00")));
      await delivered(more);
      assert.deepEqual(await progressOf(service, userId), {
        "rounds-3": [3, true, false],
        "score-20": [1, true, false],
        "golden-3": [3, true, false],
      });
      const [{ completed_at }] = await t.app.dataSource.query(
        `SELECT completed_at FROM challenge_progress WHERE user_id = $1 AND challenge_id = 'score-20'`,
        [userId],
      );
      assert.equal(new Date(completed_at).toISOString(), at(day, "10:00:00").toISOString(), "the event's time");
    });

    it("a completion is pushed to the player's open rooms as challenge:completed", async () => {
      const day = "2033-07-20";
      await pin(day, ["tip-1", "rounds-3"]);
      const player = await registerVerified(t);
      const room = await sdkFor(t, player).joinOrCreate<any>("leaderboard", { boardId: "whack-daily" });
      try {
        const notices = collect<{ id: string; title: string }>(room, "challenge:completed");
        // Progress short of the target pushes nothing; the completing event does.
        await delivered([
          await record("round_finished", roundPayload(player.user.id, { score: 1 }), at(day, "08:00:00")),
        ]);
        await complete(definition("tip-1"), player.user.id, at(day, "08:00:01"));
        await waitFor(() => notices.length > 0, "challenge:completed", 8000);
        await new Promise((r) => setTimeout(r, 200)); // time for a stray second notice to arrive
        assert.deepEqual(notices, [{ id: `${day}.tip-1`, title: definition("tip-1").title }]);
      } finally {
        await room.leave();
      }
    });

    it("a round that ends just after midnight counts for the new day, not the one it started in", async () => {
      const day = "2033-07-10";
      const next = addDays(day, 1);
      await pin(day, ["rounds-3"]);
      await pin(next, ["rounds-3"]);
      const userId = randomUUID();
      await delivered([
        await record("round_finished", roundPayload(userId, { score: 3 }), at(next, "00:00:01")),
        await record("round_finished", roundPayload(userId, { score: 3 }), at(day, "23:59:59.999")),
        await record("round_finished", roundPayload(userId, { score: 3 }), at(next, "00:00:02")),
      ]);
      assert.deepEqual(await progressOf(serviceOn(day), userId), { "rounds-3": [1, false, false] });
      assert.deepEqual(await progressOf(serviceOn(next), userId), { "rounds-3": [2, false, false] });
    });

    it("a real round through the SDK advances a rounds challenge of the day it ended", async () => {
      const player = await registerVerified(t);
      // Today's set is chosen by hash; a consumer of our own with a fixed set always has a rounds challenge.
      const oneRound: ChallengeDefinition = {
        ...definition("rounds-3"),
        id: `test-rounds-${randomUUID().slice(0, 8)}`,
        criteria: { event: "round_finished", metric: "count", op: "gte", threshold: 1, scope: "day" },
      };
      const fixed = new ChallengeService(t.app.dataSource, t.app.services.wallet, t.app.services.domainLog, {
        days: { forDay: async () => [oneRound] },
      });
      const name = `challenges-test-${randomUUID().slice(0, 8)}`;
      registerChallengeConsumer(t.app.services.domainLog, fixed, name);
      let played: PlayedRound | undefined;
      try {
        played = await playSoloRound(t, player);
        const events: Array<{ id: string; occurred_at: Date }> = await t.app.dataSource.query(
          `SELECT id, occurred_at FROM domain_events WHERE type = 'round_finished' AND payload->>'roundId' = $1`,
          [played.roundId],
        );
        assert.equal(events.length, 1);
        await delivered([events[0].id], name);
        await delivered([events[0].id]);
        const day = utcDay(new Date(events[0].occurred_at));
        const [row] = await t.app.dataSource.query(
          `SELECT day::text AS day, progress, completed_at FROM challenge_progress WHERE user_id = $1 AND challenge_id = $2`,
          [player.user.id, oneRound.id],
        );
        assert.deepEqual(
          { day: row.day, progress: row.progress, completed: row.completed_at !== null },
          { day, progress: 1, completed: true },
        );
        // And the seeded "play 3 rounds", when it is one of today's.
        const listed = await today(player.accessToken);
        const rounds = listed.challenges.find((c) => c.id === `${day}.rounds-3`);
        if (rounds) assert.equal(rounds.progress, 1);
      } finally {
        await played?.close();
        t.app.services.domainLog.unregister(name);
      }
    });
  });

  describe("claims", () => {
    it("a completed challenge of an account without a verified email or phone: 403 VERIFICATION_REQUIRED, nothing credited, claimable once verified", async () => {
      const day = "2033-08-02";
      await pin(day, ["tip-1"]);
      const user = await register(t);
      const userId = user.user.id;
      const service = serviceOn(day);
      await complete(definition("tip-1"), userId, at(day, "10:00:00"));
      assert.deepEqual(await refusal(service.claim(userId, `${day}.tip-1`)), [403, "VERIFICATION_REQUIRED"]);
      assert.equal(await t.app.services.wallet.balance(userId), 0);
      assert.deepEqual(await progressOf(service, userId), { "tip-1": [1, true, false] });
      await t.app.dataSource.query(`UPDATE users SET email_verified_at = now() WHERE id = $1`, [userId]);
      assert.deepEqual(await service.claim(userId, `${day}.tip-1`), { balance: definition("tip-1").reward });
    });

    it("refuses before completion, credits once, then ALREADY_CLAIMED; expired after the day; 404 unknown", async () => {
      const day = "2033-08-01";
      await pin(day, ["rounds-3", "tip-1"]);
      const user = await registerVerified(t);
      const userId = user.user.id;
      const service = serviceOn(day);
      await delivered([await record("round_finished", roundPayload(userId, { score: 1 }), at(day, "09:00:00"))]);
      assert.deepEqual(await refusal(service.claim(userId, `${day}.rounds-3`)), [409, "NOT_COMPLETED"]);
      assert.deepEqual(await refusal(service.claim(userId, `${day}.tip-1`)), [409, "NOT_COMPLETED"], "no progress");

      await complete(definition("tip-1"), userId, at(day, "09:30:00"));
      // The balance after the credit (the round may also have earned a badge's token meanwhile).
      const { balance } = await service.claim(userId, `${day}.tip-1`);
      const [credit] = await t.app.dataSource.query(
        `SELECT delta::int AS delta, balance_after::int AS "balanceAfter" FROM ledger_entries WHERE idempotency_key = $1`,
        [`challenge:${userId}:${day}:tip-1`],
      );
      assert.deepEqual(credit, { delta: definition("tip-1").reward, balanceAfter: balance });
      assert.deepEqual(await refusal(service.claim(userId, `${day}.tip-1`)), [409, "ALREADY_CLAIMED"]);
      assert.deepEqual(await progressOf(service, userId), {
        "rounds-3": [1, false, false],
        "tip-1": [1, true, true],
      });

      // Completed on its day, claimed the next: expired, nothing credited.
      await complete(definition("rounds-3"), userId, at(day, "23:59:00"));
      const tomorrow = serviceOn(addDays(day, 1));
      assert.deepEqual(await refusal(tomorrow.claim(userId, `${day}.rounds-3`)), [410, "CHALLENGE_EXPIRED"]);
      const challengeCredits = await t.app.dataSource.query(
        `SELECT idempotency_key FROM ledger_entries WHERE user_id = $1 AND reason = 'challenge'`,
        [userId],
      );
      assert.deepEqual(challengeCredits, [{ idempotency_key: `challenge:${userId}:${day}:tip-1` }]);

      for (const id of [
        `${day}.moles-40`, // a definition, but not one of that day's
        `${day}.no-such-thing`,
        `${addDays(day, 1)}.rounds-3`, // a day still to come
        "2033-02-30.rounds-3",
        "0000-01-01.rounds-3",
        "rounds-3",
        `${day}.ROUNDS-3`,
      ]) {
        assert.deepEqual(await refusal(service.claim(userId, id)), [404, "CHALLENGE_NOT_FOUND"], id);
      }
    });

    it("over HTTP: 50 concurrent claims of one completed challenge credit it once", async () => {
      const user = await registerVerified(t);
      const listed = await today(user.accessToken);
      const [target] = listed.challenges;
      const definitionId = target.id.split(".")[1];
      assert.equal((await claim(user.accessToken, target.id)).status, 409);
      await complete(definition(definitionId), user.user.id, new Date());
      assert.equal((await today(user.accessToken)).challenges.find((c) => c.id === target.id)!.completed, true);

      const answers = await Promise.all(Array.from({ length: 50 }, () => claim(user.accessToken, target.id)));
      const bodies = await Promise.all(answers.map((r) => r.json()));
      assert.deepEqual(answers.map((r) => r.status).sort(), [200, ...Array(49).fill(409)]);
      assert.deepEqual(
        bodies.filter((b) => !b.error),
        [{ balance: target.reward }],
      );
      assert.deepEqual(new Set(bodies.filter((b) => b.error).map((b) => b.error.code)), new Set(["ALREADY_CLAIMED"]));
      const ledger = await t.app.dataSource.query(
        `SELECT delta::int AS delta, reason, ref_id, idempotency_key FROM ledger_entries WHERE user_id = $1`,
        [user.user.id],
      );
      assert.deepEqual(ledger, [
        {
          delta: target.reward,
          reason: "challenge",
          ref_id: target.id,
          idempotency_key: `challenge:${user.user.id}:${listed.day}:${definitionId}`,
        },
      ]);
      assert.equal(await balanceOf(user.accessToken), target.reward);
      const claimed = await t.app.dataSource.query(
        `SELECT payload FROM domain_events WHERE type = 'challenge_claimed' AND user_id = $1`,
        [user.user.id],
      );
      assert.deepEqual(
        claimed.map((r: { payload: unknown }) => r.payload),
        [{ userId: user.user.id, challengeId: target.id, day: listed.day, reward: target.reward }],
      );
      assert.equal((await today(user.accessToken)).challenges.find((c) => c.id === target.id)!.claimed, true);
    });

    it("over HTTP: yesterday's completed challenge is 410 CHALLENGE_EXPIRED; unknown ids 404", async () => {
      const user = await registerVerified(t);
      const yesterday = previousUtcDay(utcDay(new Date()));
      const [old] = await t.app.services.challenges.activeFor(yesterday);
      await complete(old, user.user.id, at(yesterday, "18:00:00"));
      const res = await claim(user.accessToken, `${yesterday}.${old.id}`);
      assert.equal(res.status, 410);
      assert.equal((await res.json()).error.code, "CHALLENGE_EXPIRED");
      assert.equal(await balanceOf(user.accessToken), 0);
      for (const id of [`${utcDay(new Date())}.no-such-thing`, "not-an-id", "x".repeat(100)]) {
        const r = await claim(user.accessToken, id);
        assert.equal(r.status, 404, id);
        assert.equal((await r.json()).error.code, "CHALLENGE_NOT_FOUND");
      }
      assert.equal((await claim(user.accessToken, "x".repeat(101))).status, 400);
      assert.equal((await t.fetch(`/api/challenges/${yesterday}.${old.id}/claim`, { method: "POST" })).status, 401);
    });
  });
});

/** Payloads of events that complete `d` for `userId` (every subject field names the user). */
function completingPayloads(d: ChallengeDefinition, userId: string): Array<Record<string, unknown>> {
  const { metric, op, threshold, scope } = d.criteria;
  assert.equal(op, "gte", "seeded criteria are all 'at least'");
  const base: Record<string, unknown> = {
    ...roundPayload(userId, { score: 0 }),
    fromUserId: userId,
    toUserId: randomUUID(),
    amount: 1,
    streamId: null,
    ownerId: userId,
    userA: userId,
    userB: randomUUID(),
  };
  if (metric === "count") return Array.from({ length: scope === "round" ? 1 : threshold }, () => ({ ...base }));
  const [field, nested] = metric.split(".");
  return [{ ...base, [field]: nested ? { [nested]: threshold } : threshold }];
}

function roundPayload(userId: string, { score, flagged = false }: { score: number; flagged?: boolean }) {
  return {
    roundId: randomUUID(),
    mode: "solo",
    userId,
    score,
    hits: Math.max(0, score),
    misses: 0,
    rank: 1,
    flagged,
    endReason: "time",
  };
}

function molePayload(userId: string, byKind: Record<string, number>) {
  return { roundId: randomUUID(), userId, total: Object.values(byKind).reduce((a, b) => a + b, 0), byKind };
}

function tipPayload(userId: string) {
  return { fromUserId: userId, toUserId: randomUUID(), amount: 3, streamId: null };
}
