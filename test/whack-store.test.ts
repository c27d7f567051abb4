import { setTimeout as delay } from "node:timers/promises";
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import { inflateSync } from "node:zlib";
import { WhackRound } from "../src/entities";
import { LeaderboardService } from "../src/services/leaderboards";
import { seed, WHACK_GAME } from "../src/services/seed";
import { whackWriteKey } from "../src/services/whack-outbox";
import {
  type WhackHit,
  type WhackMode,
  type WhackMole,
  type WhackPlayerResult,
  WhackService,
} from "../src/services/whack";
import { testApp, type TestApp } from "./helpers/app";
import { type Account, register } from "./helpers/users";

/** A mole `offsetMs` after `start`, up for `upMs`. */
const mole = (moleId: number, start: Date, offsetMs: number, kind: WhackMole["kind"] = "normal", upMs = 900) => ({
  moleId,
  hole: moleId % 9,
  kind,
  spawnAt: new Date(start.getTime() + offsetMs),
  despawnAt: new Date(start.getTime() + offsetMs + upMs),
});
const POINTS = { normal: 1, golden: 3, bomb: -2 } as const;
/** The valid hit of `m` by `userId`, `afterMs` into its window. */
const hit = (m: WhackMole, userId: string, afterMs = 100): WhackHit => ({
  moleId: m.moleId,
  userId,
  at: new Date(m.spawnAt.getTime() + afterMs),
  points: POINTS[m.kind],
});
const played = (userId: string, misses = 0, flags: string[] = []): WhackPlayerResult => ({
  userId,
  misses,
  flags,
  endReason: null,
});

describe("whack rounds: storage, audit, scores, leaderboard writes", () => {
  let t: TestApp;
  let whack: WhackService;
  let realNow: { whack: () => Date; boards: () => Date };
  before(async () => {
    t = await testApp();
    whack = t.app.services.whack;
    realNow = { whack: whack.clock.now, boards: t.app.services.leaderboards.clock.now };
  });
  afterEach(() => {
    whack.clock.now = realNow.whack;
    t.app.services.leaderboards.clock.now = realNow.boards;
    delete (t.app.services.leaderboards as Partial<LeaderboardService>).submit; // back to the prototype's
  });

  async function players(...names: string[]): Promise<Account[]> {
    return Promise.all(names.map((displayName) => register(t, { displayName })));
  }

  async function start(accounts: Account[], mode: WhackMode = "versus", startedAt = new Date()) {
    const round = whack.newRound(mode);
    await whack.startRound({
      ...round,
      startedAt,
      players: accounts.map((a) => ({
        userId: a.user.id,
        displayName: a.user.displayName,
        playSessionId: randomUUID(),
      })),
    });
    return { ...round, startedAt };
  }

  const audit = async (roundId: string) => {
    const res = await t.fetch(`/api/whack/rounds/${roundId}`);
    return { status: res.status, body: (await res.json()) as any };
  };
  const record = async (board: string, userId: string, period?: string) => {
    const res = await t.fetch(
      `/api/leaderboards/${board}/records/${userId}${period ? `?period=${encodeURIComponent(period)}` : ""}`,
    );
    return { status: res.status, body: (await res.json()) as any };
  };
  const writeKeys = async (roundId: string) =>
    (
      (await t.app.dataSource.query(
        `SELECT idempotency_key FROM leaderboard_writes WHERE idempotency_key LIKE $1 ORDER BY 1`,
        [`whack:${roundId}:%`],
      )) as Array<{ idempotency_key: string }>
    ).map((r) => r.idempotency_key);
  const roundRow = (id: string) => t.app.dataSource.getRepository(WhackRound).findOneByOrFail({ id });
  /** The round once it ended and its leaderboard writes are done (a sweep or the outbox may still be at it). */
  async function settledRound(id: string) {
    for (let i = 0; i < 100; i++) {
      const row = await roundRow(id);
      if (row.status !== "playing" && !row.leaderboardPending) return row;
      await delay(50);
    }
    return roundRow(id);
  }

  it("newRound: a fresh uuid and a 32-byte hex seed whose sha256 (of the string) is the hash", () => {
    const a = whack.newRound("solo");
    const b = whack.newRound("solo");
    assert.match(a.seed, /^[0-9a-f]{64}$/);
    assert.notEqual(a.seed, b.seed);
    assert.notEqual(a.roundId, b.roundId);
    assert.equal(a.seedHash, createHash("sha256").update(a.seed, "utf8").digest("hex"));
    assert.equal(a.mode, "solo");
  });

  it("stores a round: 404 while it plays, then an audit that checks out (seed, windows, sums, ranks)", async () => {
    const [ann, bob, cat] = await players("Ann", "Bob", "Cat");
    const round = await start([ann, bob, cat]);
    const s = round.startedAt;
    const moles = [
      mole(1, s, 0),
      mole(2, s, 400, "golden", 500),
      mole(3, s, 800, "bomb"),
      mole(4, s, 1200),
      mole(5, s, 1600),
      mole(6, s, 2000, "golden", 500),
      mole(7, s, 2400),
    ];
    const early = [hit(moles[0], ann.user.id), hit(moles[1], bob.user.id), hit(moles[2], ann.user.id, 850)];
    await whack.recordProgress(round.roundId, moles.slice(0, 4), early);
    // Write-behind repeats are harmless.
    await whack.recordProgress(round.roundId, moles.slice(0, 4), early);
    const running = await audit(round.roundId);
    assert.equal(running.status, 404);
    assert.equal(running.body.error.code, "ROUND_NOT_FOUND");
    assert.doesNotMatch(JSON.stringify(running.body), new RegExp(round.seed));

    const late = [hit(moles[3], bob.user.id), hit(moles[4], ann.user.id), hit(moles[5], ann.user.id, 499)];
    const endedAt = new Date(s.getTime() + 60_000);
    const scores = await whack.finishRound(round.roundId, {
      endedAt,
      reason: "time_up",
      // The unwritten rest plus some already stored: both are fine.
      moles: moles.slice(2),
      hits: [...early.slice(1), ...late],
      players: [played(ann.user.id, 2), played(bob.user.id, 1), played(cat.user.id, 0)],
    });

    const { status, body } = await audit(round.roundId);
    assert.equal(status, 200);
    assert.equal(body.roundId, round.roundId);
    assert.equal(body.mode, "versus");
    assert.equal(body.startedAt, s.toISOString());
    assert.equal(body.endedAt, endedAt.toISOString());
    assert.equal(body.seed, round.seed);
    assert.equal(body.seedHash, createHash("sha256").update(body.seed).digest("hex"));
    assert.deepEqual(
      body.moles.map((m: any) => m.moleId),
      [1, 2, 3, 4, 5, 6, 7],
    );
    assert.equal(body.hits.length, 6);
    const molesById = new Map(body.moles.map((m: any) => [m.moleId, m]));
    for (const h of body.hits) {
      const m: any = molesById.get(h.moleId);
      assert.ok(m, `hit of unknown mole ${h.moleId}`);
      assert.ok(h.at >= m.spawnAt && h.at <= m.despawnAt, `hit ${h.moleId} outside its mole's window`);
      assert.equal(h.points, POINTS[m.kind as WhackMole["kind"]]);
    }
    for (const sc of body.scores) {
      const own = body.hits.filter((h: any) => h.userId === sc.userId);
      assert.equal(
        sc.score,
        own.reduce((sum: number, h: any) => sum + h.points, 0),
      );
      assert.equal(sc.hits, own.length);
    }
    // Ann: 1 - 2 + 1 + 3 = 3 (4 hits); Bob: 3 + 1 = 4 (2 hits); Cat: nothing.
    assert.deepEqual(
      body.scores.map((x: any) => [x.displayName, x.score, x.hits, x.misses, x.rank, x.flagged]),
      [
        ["Bob", 4, 2, 1, 1, false],
        ["Ann", 3, 4, 2, 2, false],
        ["Cat", 0, 0, 0, 3, false],
      ],
    );
    assert.deepEqual(scores, body.scores);
  });

  it("ranks equal scores by hits, then by user id", async () => {
    const accounts = await players("P1", "P2", "P3");
    const round = await start(accounts);
    const s = round.startedAt;
    const [a, b, c] = accounts.map((x) => x.user.id).sort();
    const moles = [
      mole(1, s, 0, "golden"),
      mole(2, s, 100),
      mole(3, s, 200),
      mole(4, s, 300),
      mole(5, s, 400, "golden"),
    ];
    // c: 3 (1 hit); b: 1+1+1 = 3 (3 hits); a: 3 (1 hit) → b, then a before c by id.
    const hits = [hit(moles[0], c), hit(moles[1], b), hit(moles[2], b), hit(moles[3], b), hit(moles[4], a)];
    const scores = await whack.finishRound(round.roundId, {
      endedAt: new Date(s.getTime() + 1000),
      reason: "time_up",
      moles,
      hits,
      players: [a, b, c].map((id) => played(id)),
    });
    assert.deepEqual(
      scores.map((x) => [x.userId, x.score, x.hits, x.rank]),
      [
        [b, 3, 3, 1],
        [a, 3, 1, 2],
        [c, 3, 1, 3],
      ],
    );
  });

  it("finishing twice (even at once) answers the stored scores and applies each leaderboard write once", async () => {
    const [ann] = await players("Ann");
    const round = await start([ann], "solo");
    const s = round.startedAt;
    const moles = [mole(1, s, 0), mole(2, s, 300, "golden", 500), mole(3, s, 600, "bomb"), mole(4, s, 900)];
    const hits = [hit(moles[0], ann.user.id), hit(moles[1], ann.user.id), hit(moles[2], ann.user.id)];
    const end = {
      endedAt: new Date(s.getTime() + 1500),
      reason: "time_up",
      moles,
      hits,
      players: [played(ann.user.id)],
    };
    const [first, second] = await Promise.all([
      whack.finishRound(round.roundId, end),
      whack.finishRound(round.roundId, end),
    ]);
    const third = await whack.finishRound(round.roundId, { ...end, hits: [], reason: "other" });
    assert.deepEqual(second, first);
    assert.deepEqual(third, first);
    assert.equal(first[0].score, 2);
    assert.equal((await roundRow(round.roundId)).endReason, "time_up");

    // Even a repeated application (the flag set again, as after a crash before it was cleared) counts once.
    await t.app.dataSource.query(`UPDATE whack_rounds SET leaderboard_pending = true WHERE id = $1`, [round.roundId]);
    assert.equal(await whack.outbox.apply(round.roundId, new Date()), true);

    for (const board of ["whack-daily", "whack-weekly", "whack-alltime"]) {
      const { status, body } = await record(board, ann.user.id);
      assert.equal(status, 200, board);
      assert.equal(body.record.score, 2);
      assert.equal(body.record.subscore, 3, "subscore = hits");
      assert.equal(body.record.numScore, 1);
    }
    const moled = await record("whack-moles", ann.user.id);
    assert.equal(moled.body.record.score, 2, "two non-bomb moles hit");
    assert.equal(moled.body.record.numScore, 1);
    assert.deepEqual(await writeKeys(round.roundId), [
      whackWriteKey(round.roundId, "whack-alltime", ann.user.id),
      whackWriteKey(round.roundId, "whack-daily", ann.user.id),
      whackWriteKey(round.roundId, "whack-moles", ann.user.id),
      whackWriteKey(round.roundId, "whack-weekly", ann.user.id),
    ]);
    const row = await roundRow(round.roundId);
    assert.equal(row.leaderboardPending, false);
    assert.ok(row.leaderboardAppliedAt);
  });

  it("keeps flagged players off every board, but in the audit with their score", async () => {
    const [honest, cheat] = await players("Honest", "Cheat");
    const round = await start([honest, cheat]);
    const s = round.startedAt;
    const moles = [mole(1, s, 0), mole(2, s, 200), mole(3, s, 400)];
    const hits = [hit(moles[0], cheat.user.id, 1), hit(moles[1], cheat.user.id, 1), hit(moles[2], honest.user.id)];
    const scores = await whack.finishRound(round.roundId, {
      endedAt: new Date(s.getTime() + 1000),
      reason: "time_up",
      moles,
      hits,
      players: [played(honest.user.id), played(cheat.user.id, 0, ["rate"])],
    });
    assert.deepEqual(
      scores.map((x) => [x.displayName, x.score, x.flagged]),
      [
        ["Cheat", 2, true],
        ["Honest", 1, false],
      ],
    );
    for (const board of ["whack-daily", "whack-weekly", "whack-alltime", "whack-moles"]) {
      assert.equal((await record(board, cheat.user.id)).status, 404, board);
      assert.equal((await record(board, honest.user.id)).status, 200, board);
    }
    assert.deepEqual(
      (await writeKeys(round.roundId)).filter((k) => k.endsWith(cheat.user.id)),
      [],
    );
  });

  /** Makes the `failAt`-th leaderboard write (1-based) from now on fail once; the others go through. */
  function failOneWrite(failAt: number) {
    const boards = t.app.services.leaderboards;
    const real = boards.submit.bind(boards);
    let calls = 0;
    boards.submit = async (...args: Parameters<LeaderboardService["submit"]>) => {
      if (++calls === failAt) throw new Error("connection reset (injected)");
      return real(...args);
    };
  }

  it("a failed application is retried by the outbox once due, completing the rest and repeating nothing", async () => {
    const [ann, bob] = await players("Ann", "Bob");
    const round = await start([ann, bob]);
    const s = round.startedAt;
    const moles = [mole(1, s, 0), mole(2, s, 200), mole(3, s, 400, "golden", 500)];
    const hits = [hit(moles[0], ann.user.id), hit(moles[1], bob.user.id), hit(moles[2], bob.user.id)];
    // Writes go player by player (by user id), board by board: the first player's daily and
    // weekly writes land, their all-time write fails.
    const [first, second] = [ann, bob].sort((x, y) => (x.user.id < y.user.id ? -1 : 1));
    failOneWrite(3);
    const scores = await whack.finishRound(round.roundId, {
      endedAt: new Date(s.getTime() + 1000),
      reason: "time_up",
      moles,
      hits,
      players: [played(ann.user.id), played(bob.user.id)],
    });
    assert.equal(scores.length, 2, "the round ended even though its writes failed");
    assert.equal((await roundRow(round.roundId)).leaderboardPending, true);
    assert.equal((await record("whack-daily", first.user.id)).status, 200);
    assert.equal((await record("whack-alltime", first.user.id)).status, 404);
    assert.equal((await record("whack-daily", second.user.id)).status, 404);
    assert.ok(t.logs.some((l) => l.includes(round.roundId) && l.includes("the outbox retries them")));

    // Not yet due: the outbox leaves a just-ended round to its own first attempt.
    assert.deepEqual(await whack.applyPendingLeaderboards(new Date()), { applied: 0, failed: 0 });
    // (The server's own sweeps run this too; whichever gets there first applies it.)
    assert.equal((await whack.applyPendingLeaderboards(new Date(Date.now() + 6_000))).failed, 0);
    assert.equal((await roundRow(round.roundId)).leaderboardPending, false);
    for (const user of [ann, bob]) {
      for (const board of ["whack-daily", "whack-weekly", "whack-alltime", "whack-moles"]) {
        const { status, body } = await record(board, user.user.id);
        assert.equal(status, 200, `${board} ${user.user.displayName}`);
        assert.equal(body.record.numScore, 1, `${board} ${user.user.displayName}`);
      }
    }
    assert.equal((await record("whack-moles", bob.user.id)).body.record.score, 2);
    assert.equal((await writeKeys(round.roundId)).length, 8);
    // Nothing left to do.
    assert.deepEqual(await whack.applyPendingLeaderboards(new Date(Date.now() + 60_000)), { applied: 0, failed: 0 });
  });

  it("a round that ended just before UTC midnight counts for that day even when its write lands after it", async () => {
    const [ann] = await players("Ann");
    const endedAt = new Date("2026-03-14T23:59:59.900Z");
    const round = await start([ann], "solo", new Date(endedAt.getTime() - 60_000));
    const s = round.startedAt;
    const moles = [mole(1, s, 1000), mole(2, s, 2000)];
    whack.clock.now = () => new Date("2026-03-14T23:59:59.950Z");
    failOneWrite(1);
    await whack.finishRound(round.roundId, {
      endedAt,
      reason: "time_up",
      moles,
      hits: moles.map((m) => hit(m, ann.user.id)),
      players: [played(ann.user.id)],
    });
    assert.equal((await roundRow(round.roundId)).leaderboardPending, true);

    // The outbox runs after midnight, when the boards' current day is the 15th.
    const after = new Date("2026-03-15T00:00:10.000Z");
    whack.clock.now = () => after;
    t.app.services.leaderboards.clock.now = () => after;
    await whack.applyPendingLeaderboards(); // (or the server's own sweep, now that the clock says it is due)
    assert.equal((await roundRow(round.roundId)).leaderboardPending, false);
    const day = await record("whack-daily", ann.user.id, "2026-03-14T00:00:00.000Z");
    assert.equal(day.status, 200);
    assert.equal(day.body.record.score, 2);
    assert.equal(day.body.periodStart, "2026-03-14T00:00:00.000Z");
    assert.equal((await record("whack-daily", ann.user.id)).status, 404, "nothing on the 15th");
    // The 14th is a Saturday: the week that started on Monday the 9th.
    assert.equal((await record("whack-weekly", ann.user.id, "2026-03-09T00:00:00.000Z")).status, 200);
  });

  it("a round with nothing spawned is abandoned: audited, but on no board and in no history", async () => {
    const [ann] = await players("Ann");
    const round = await start([ann], "solo");
    const scores = await whack.finishRound(round.roundId, {
      endedAt: new Date(),
      reason: "all_left",
      moles: [],
      hits: [],
      players: [{ ...played(ann.user.id), endReason: "left" }],
    });
    assert.deepEqual(
      scores.map((x) => [x.score, x.rank]),
      [[0, 1]],
    );
    const row = await roundRow(round.roundId);
    assert.equal(row.status, "abandoned");
    assert.equal(row.leaderboardPending, false);
    assert.equal((await audit(round.roundId)).body.seed, round.seed);
    assert.equal((await record("whack-alltime", ann.user.id)).status, 404);
    const history = await t.fetch(`/api/users/${ann.user.id}/scores`);
    assert.deepEqual(await history.json(), { rounds: [], nextCursor: null });
  });

  it("a sweep finishes a dead process's round from its stored progress as server_lost, and leaves live ones", async () => {
    const [ann, bob] = await players("Ann", "Bob");
    const orphan = await start([ann, bob]);
    const alive = await start([ann, bob]);
    const s = orphan.startedAt;
    const moles = [mole(1, s, 0), mole(2, s, 300), mole(3, s, 600, "golden", 500)];
    const hits = [hit(moles[0], ann.user.id), hit(moles[1], bob.user.id), hit(moles[2], bob.user.id, 200)];
    await whack.recordProgress(orphan.roundId, moles, hits, [played(ann.user.id, 3), played(bob.user.id, 0, ["rate"])]);
    // Its process is gone (no lease), as after a kill -9.
    await t.app.dataSource.getRepository(WhackRound).update({ id: orphan.roundId }, { processId: randomUUID() });

    // (The server's own periodic sweep may get there first: either way the round ends once. A sweep
    // under way holds the round, so this one skips it: wait until that one wrote the boards.)
    await t.app.services.sweeper.sweepOnce();
    const row = await settledRound(orphan.roundId);
    assert.equal(row.status, "ended");
    assert.equal(row.endReason, "server_lost");
    assert.equal(row.endedAt?.toISOString(), hits[2].at.toISOString(), "ends at its last stored event");
    assert.equal(row.leaderboardPending, false);
    const { body } = await audit(orphan.roundId);
    assert.equal(body.seed, orphan.seed);
    assert.deepEqual(
      body.scores.map((x: any) => [x.displayName, x.score, x.hits, x.misses, x.rank, x.flagged]),
      [
        ["Bob", 4, 2, 0, 1, true],
        ["Ann", 1, 1, 3, 2, false],
      ],
    );
    assert.equal((await record("whack-alltime", ann.user.id)).body.record.score, 1);
    assert.equal((await record("whack-alltime", bob.user.id)).status, 404, "flagged before the crash: stays off");
    const history: any = await (await t.fetch(`/api/users/${ann.user.id}/scores`)).json();
    assert.equal(history.rounds[0].endReason, "server_lost");

    assert.equal((await roundRow(alive.roundId)).status, "playing", "this process is alive: its round plays on");
    await t.app.services.sweeper.sweepOnce();
    assert.equal((await roundRow(orphan.roundId)).endReason, "server_lost");
    await whack.finishRound(alive.roundId, {
      endedAt: new Date(),
      reason: "time_up",
      moles: [],
      hits: [],
      players: [],
    });
  });

  it("pages a user's finished rounds newest first with a keyset cursor", async () => {
    const [ann, bob, cat] = await players("Ann", "Bob", "Cat");
    const base = new Date("2026-05-01T12:00:00.000Z");
    const ended: string[] = [];
    // Five finished rounds (two ending at the same instant), one still playing.
    const ends = [0, 60_000, 120_000, 120_000, 180_000];
    for (const [i, offset] of ends.entries()) {
      const round = await start(i === 4 ? [ann] : [ann, bob, cat], i === 4 ? "solo" : "versus", base);
      const m = mole(1, base, 100 + i);
      const winner = i === 2 ? bob : ann;
      await whack.finishRound(round.roundId, {
        endedAt: new Date(base.getTime() + 1000 + offset),
        reason: "time_up",
        moles: [m],
        hits: [hit(m, winner.user.id)],
        players: [
          { ...played(ann.user.id, i), endReason: i === 1 ? "session_ended" : null, flags: i === 3 ? ["rate"] : [] },
        ],
      });
      ended.push(round.roundId);
    }
    await start([ann]);

    const pages: any[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.fetch(`/api/users/${ann.user.id}/scores?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      assert.equal(res.status, 200);
      const page: any = await res.json();
      pages.push(page);
      cursor = page.nextCursor;
    } while (cursor && pages.length < 10);
    assert.deepEqual(
      pages.map((p) => p.rounds.length),
      [2, 2, 1],
    );
    const rounds = pages.flatMap((p) => p.rounds);
    const tied = [ended[2], ended[3]].sort().reverse();
    assert.deepEqual(
      rounds.map((r: any) => r.roundId),
      [ended[4], ...tied, ended[1], ended[0]],
    );
    const byId = new Map(rounds.map((r: any) => [r.roundId, r]));
    assert.deepEqual(byId.get(ended[4]), {
      roundId: ended[4],
      mode: "solo",
      endedAt: new Date(base.getTime() + 181_000).toISOString(),
      score: 1,
      hits: 1,
      misses: 4,
      rank: 1,
      players: 1,
      flagged: false,
      endReason: "time_up",
    });
    assert.equal(byId.get(ended[1]).endReason, "session_ended", "the player's own early end");
    assert.equal(byId.get(ended[3]).flagged, true);
    // Bob won it; Ann and Cat tie at 0 (no hits): user id decides.
    const annSecond = ann.user.id < cat.user.id;
    assert.deepEqual(
      [byId.get(ended[2]).rank, byId.get(ended[2]).score, byId.get(ended[2]).players],
      [annSecond ? 2 : 3, 0, 3],
    );
    // Bob's history has the round he won; Cat's has three rounds with nothing.
    const bobs: any = await (await t.fetch(`/api/users/${bob.user.id}/scores?limit=100`)).json();
    assert.equal(bobs.rounds.length, 4);
    assert.equal(bobs.rounds.find((r: any) => r.roundId === ended[2]).rank, 1);
  });

  it("answers bad ids, unknown users and foreign cursors like the other routes", async () => {
    const [ann, bob] = await players("Ann", "Bob");
    const notUuid = await t.fetch(`/api/whack/rounds/not-a-uuid`);
    assert.equal(notUuid.status, 400);
    assert.equal(((await notUuid.json()) as any).error.code, "VALIDATION_FAILED");
    const unknown = await t.fetch(`/api/whack/rounds/${randomUUID()}`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as any).error.code, "ROUND_NOT_FOUND");
    assert.equal((await t.fetch(`/api/users/nope/scores`)).status, 400);
    const nobody = await t.fetch(`/api/users/${randomUUID()}/scores`);
    assert.equal(nobody.status, 404);
    assert.equal(((await nobody.json()) as any).error.code, "USER_NOT_FOUND");
    for (const query of ["limit=0", "limit=101", "cursor=garbage"]) {
      assert.equal((await t.fetch(`/api/users/${ann.user.id}/scores?${query}`)).status, 400, query);
    }
    // A cursor is bound to its user.
    const round = await start([ann, bob], "versus");
    const m = mole(1, round.startedAt, 0);
    const r2 = await start([ann, bob], "versus");
    for (const id of [round.roundId, r2.roundId]) {
      await whack.finishRound(id, {
        endedAt: new Date(),
        reason: "time_up",
        moles: [m],
        hits: [],
        players: [],
      });
    }
    const first: any = await (await t.fetch(`/api/users/${ann.user.id}/scores?limit=1`)).json();
    assert.ok(first.nextCursor);
    const foreign = await t.fetch(`/api/users/${bob.user.id}/scores?cursor=${first.nextCursor}`);
    assert.equal(foreign.status, 400);
  });
});

describe("whack game row", () => {
  it("is seeded once: the free `whack` game with a valid PNG sprite sheet and WAV sounds, found by slug", async () => {
    const t = await testApp();
    const { games } = t.app.services;
    const game = await games.findBySlug(WHACK_GAME.slug);
    assert.ok(game, "seeded");
    assert.equal(game.title, "Whack-a-mole");
    assert.equal(game.pricePerMinute, 0);
    assert.equal(await games.findBySlug("no-such-game"), null);
    assert.deepEqual(
      game.assets.map((a) => [a.name, a.contentType]),
      [
        ["bomb.wav", "audio/wav"],
        ["hit.wav", "audio/wav"],
        ["moles.png", "image/png"],
      ],
    );
    const bytes = async (name: string) => {
      const asset = game.assets.find((a) => a.name === name)!;
      const file = fs.readFileSync((await games.deliverable(asset.id, game.id)).absolutePath);
      assert.equal(createHash("sha256").update(file).digest("hex"), asset.sha256);
      return file;
    };

    const png = await bytes("moles.png");
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.toString("ascii", 12, 16), "IHDR");
    const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    assert.deepEqual([width, height, png[24], png[25]], [256, 64, 8, 6], "256x64 RGBA, 8 bits");
    // Walk the chunks: every CRC holds, and the image data inflates to exactly the scanlines.
    const { crc32 } = await import("node:zlib");
    let at = 8;
    const idat: Buffer[] = [];
    let last = "";
    while (at < png.length) {
      const length = png.readUInt32BE(at);
      last = png.toString("ascii", at + 4, at + 8);
      assert.equal(png.readUInt32BE(at + 8 + length), crc32(png.subarray(at + 4, at + 8 + length)), `${last} CRC`);
      if (last === "IDAT") idat.push(png.subarray(at + 8, at + 8 + length));
      at += 12 + length;
    }
    assert.equal(last, "IEND");
    assert.equal(inflateSync(Buffer.concat(idat)).length, (width * 4 + 1) * height);

    for (const name of ["hit.wav", "bomb.wav"]) {
      const wav = await bytes(name);
      assert.equal(wav.toString("ascii", 0, 4), "RIFF");
      assert.equal(wav.readUInt32LE(4), wav.length - 8);
      assert.equal(wav.toString("ascii", 8, 16), "WAVEfmt ");
      assert.deepEqual(
        [wav.readUInt16LE(20), wav.readUInt16LE(22), wav.readUInt16LE(34)],
        [1, 1, 16],
        "PCM mono 16-bit",
      );
      assert.equal(wav.toString("ascii", 36, 40), "data");
      assert.equal(wav.readUInt32LE(40), wav.length - 44);
      assert.ok(wav.readUInt32LE(40) > 1000, "some sound");
    }
    // Seeding again adds nothing.
    assert.deepEqual(await seed(t.app.dataSource, games), { created: [] });
  });
});
