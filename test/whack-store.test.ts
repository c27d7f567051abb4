import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { WhackRound } from "../src/entities";
import { whackWriteKey } from "../src/services/whack-outbox";
import type { WhackHit, WhackMode, WhackMole, WhackPlayerResult, WhackService } from "../src/services/whack";
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
  before(async () => {
    t = await testApp();
    whack = t.app.services.whack;
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
});
