import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Room } from "@colyseus/sdk";
import type { DataSource } from "typeorm";
import { openDatabase } from "../src/db/data-source";
import { GameService } from "../src/services/games";
import { LeaderboardService } from "../src/services/leaderboards";
import { seed } from "../src/services/seed";
import { WhackService } from "../src/services/whack";
import { isClusterMode } from "./helpers/app";
import { createScratchDatabase } from "./helpers/database";
import { createRedis, type PrivateRedis } from "./helpers/fault-services";
import { type ServerProcess, startServerProcess } from "./helpers/process";
import { TestClient } from "./helpers/sdk";
import { bearer, json, remember, strongPassword, uniqueEmail } from "./helpers/users";
import { nextMessage } from "./helpers/video";

interface Player {
  userId: string;
  accessToken: string;
  sessionToken: string;
}

interface Hit {
  moleId: number;
  points: number;
  kind: string;
}

/** A hit this long after its mole's spawn is a human's (over the 100 ms reaction floor): the round is not flagged. */
const REACTION_MS = 150;
/** The room writes hits behind every 250 ms: after this, every acknowledged hit is stored. */
const FLUSHED_MS = 400;
/** A player's misses alone are written behind at most every 2 s: after this, an acknowledged miss is stored. */
const MISSES_FLUSHED_MS = 2_600;
/** Past a mole's despawn by more than the largest latency allowance (250 ms): a whack of it is a MISS. */
const GONE_MS = 300;

/**
 * Real rounds (a real SDK client playing the `whack` room of a spawned server) killed with SIGKILL:
 * mid-round, the restarted server finishes the round as `server_lost` from what was written
 * behind; right after `round:end`, the restart writes nothing twice. Either way every leaderboard
 * holds the round once. Embedded: the data directory is reopened (the restart sweeps at start).
 * PostgreSQL + Redis: shared, and the restart sweeps once the dead process's lease lapses.
 */
describe("whack rounds played by a client across a crash (server processes)", function () {
  this.timeout(180_000);
  const cluster = isClusterMode();
  // Ports of this suite's range (3500–3599), four servers per run.
  let nextPort = 3500 + (process.pid % 25) * 4;
  /** The private Redis of the cluster-mode run (other suites' private servers use other ports). */
  const REDIS_PORT = 6447;
  let dataDir: string;
  let dropDatabase: (() => Promise<void>) | undefined;
  let databaseUrl: string | undefined;
  let env: Record<string, string>;
  let redis: PrivateRedis | undefined;
  const servers: ServerProcess[] = [];

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-whack-crash-"));
    env = { DATA_DIR: dataDir, NODE_ENV: "development", PROCESS_LEASE_TTL_SEC: "3" };
    if (cluster) {
      const scratch = await createScratchDatabase(process.env.DATABASE_URL!);
      dropDatabase = scratch.drop;
      databaseUrl = scratch.url;
      // A Redis of its own: Colyseus's process and room lists ignore REDIS_KEY_PREFIX, so on the
      // shared one these servers would join the suite's server in one cluster (and a killed
      // process would stay listed there).
      redis = await createRedis(REDIS_PORT);
      await redis.start();
      Object.assign(env, {
        DATABASE_URL: scratch.url,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: `whack-crash-${randomBytes(4).toString("hex")}:`,
      });
    } else {
      Object.assign(env, { DATABASE_URL: "", REDIS_URL: "" });
    }
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.kill("SIGKILL")));
    await dropDatabase?.();
    await redis?.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function startServer(roundSec: number) {
    const server = await startServerProcess({ ...env, WHACK_ROUND_SEC: String(roundSec), PORT: String(nextPort++) });
    servers.push(server);
    return server;
  }
  /** The database as the servers see it, opened by the test (embedded: only while no server runs). */
  async function withDatabase<T>(work: (ds: DataSource) => Promise<T>): Promise<T> {
    const ds = await openDatabase(
      databaseUrl ? { url: databaseUrl, embeddedDir: "" } : { embeddedDir: path.join(dataDir, "pglite") },
    );
    try {
      return await work(ds);
    } finally {
      await ds.destroy();
    }
  }
  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const get = async (server: ServerProcess, pathname: string) => {
    const res = await fetch(`${server.baseUrl}${pathname}`);
    return { status: res.status, body: (await res.json()) as any };
  };

  /** A new user with a live play session of the whack game (the default heartbeat keeps it for 90 s). */
  async function player(server: ServerProcess, displayName: string): Promise<Player> {
    const reg = await fetch(
      `${server.baseUrl}/api/auth/register`,
      json({ email: uniqueEmail("whacker"), password: strongPassword(), displayName }),
    );
    assert.equal(reg.status, 201);
    const account = (await reg.json()) as any;
    const accessToken = remember(account.accessToken as string);
    const { games } = (await get(server, "/api/games")).body;
    const whack = games.find((g: any) => g.slug === "whack");
    const play = await fetch(`${server.baseUrl}/api/play/start`, json({ gameId: whack.id }, bearer(accessToken)));
    const session = (await play.json()) as any;
    assert.equal(play.status, 201, JSON.stringify(session));
    return { userId: account.user.id, accessToken, sessionToken: remember(session.sessionToken as string) };
  }

  /**
   * Joins a solo round, echoes pongs (latency), readies, and whacks the moles it sees one at a
   * time (each reply awaited, so every hit is one the client saw acknowledged) until `maxHits`.
   * With `miss`, it lets its first mole go and whacks it once it is gone: one MISS.
   */
  async function play(server: ServerProcess, p: Player, maxHits: number, miss = false) {
    const client = new TestClient(server.baseUrl);
    client.auth.token = p.accessToken;
    const room: Room<any> = await client.create<any>("whack", { mode: "solo", sessionToken: p.sessionToken });
    // The server is killed under it: no reconnection attempts.
    room.reconnection.enabled = false;
    let echoes = 0;
    room.onMessage("pong", ({ serverTime }: { serverTime: number }) => {
      if (++echoes < 5) room.send("ping", { t: serverTime });
    });
    room.send("ping", { t: 0 });

    const hits: Hit[] = [];
    const refusals: string[] = [];
    const targeted = new Set<number>();
    let inFlight: Hit | undefined;
    /** When everything acknowledged so far is surely stored. */
    let storedAt = 0;
    let missed: { hole: number; moleId: number; despawnAt: number } | undefined;
    let done: () => void;
    const enough = new Promise<void>((resolve) => (done = resolve));
    const check = () => hits.length >= maxHits && (!miss || refusals.length > 0) && done();
    room.onMessage("hit", ({ moleId, points }: { moleId: number; points: number }) => {
      if (moleId !== inFlight?.moleId) return refusals.push(`hit ${moleId} answers no whack in flight`);
      hits.push({ ...inFlight, points });
      inFlight = undefined;
      storedAt = Math.max(storedAt, Date.now() + FLUSHED_MS);
      check();
    });
    room.onMessage("error", ({ code }: { code: string }) => {
      refusals.push(code);
      inFlight = undefined;
      storedAt = Math.max(storedAt, Date.now() + (code === "MISS" ? MISSES_FLUSHED_MS : 0));
      check();
    });
    const whacker = setInterval(() => {
      if (inFlight || room.state.phase !== "playing") return;
      const now = Date.now();
      if (miss && !missed) {
        const first = [...room.state.holes].findIndex((h: any) => h.moleId);
        if (first < 0) return;
        const mole = room.state.holes[first];
        missed = { hole: first, moleId: mole.moleId, despawnAt: mole.despawnAt };
        targeted.add(mole.moleId);
      }
      if (missed && refusals.length === 0 && now > missed.despawnAt + GONE_MS) {
        inFlight = { moleId: missed.moleId, kind: "", points: 0 };
        room.send("whack", { hole: missed.hole, moleId: missed.moleId });
        return;
      }
      if (hits.length >= maxHits) return;
      [...room.state.holes].forEach((h: any, hole: number) => {
        if (inFlight || !h.moleId || targeted.has(h.moleId) || now - h.spawnAt < REACTION_MS) return;
        targeted.add(h.moleId);
        inFlight = { moleId: h.moleId, kind: h.kind, points: 0 };
        room.send("whack", { hole, moleId: h.moleId });
      });
    }, 20);
    const ended = nextMessage<any>(room, "round:end", 60_000);
    ended.catch(() => {});
    room.send("ready");
    return {
      room,
      hits,
      refusals,
      enough,
      ended,
      storedAt: () => storedAt,
      stop: () => clearInterval(whacker),
    };
  }

  /** The player's record on `board` (status 200 expected). */
  const record = async (server: ServerProcess, board: string, userId: string) => {
    const r = await get(server, `/api/leaderboards/${board}/records/${userId}`);
    assert.equal(r.status, 200, `${board}: ${JSON.stringify(r.body)}`);
    return { score: r.body.record.score as number, numScore: r.body.record.numScore as number };
  };
  /** What a round puts on the boards: its score on `whack-daily`/`-alltime`, its non-bomb hits on `whack-moles`, once. */
  const expectedBoards = (hits: Hit[]) => ({
    daily: { score: hits.reduce((sum, h) => sum + h.points, 0), numScore: 1 },
    alltime: { score: hits.reduce((sum, h) => sum + h.points, 0), numScore: 1 },
    moles: { score: hits.filter((h) => h.kind !== "bomb").length, numScore: 1 },
  });
  const boardsOf = async (server: ServerProcess, userId: string) => ({
    daily: await record(server, "whack-daily", userId),
    alltime: await record(server, "whack-alltime", userId),
    moles: await record(server, "whack-moles", userId),
  });

  it("killed mid-round: finished as server_lost with every acknowledged hit, on the boards once across two restarts; killed after round:end: on the boards once", async () => {
    if (cluster) {
      // PostgreSQL is not seeded by start-up (the operator runs `npm run seed`): the game and its boards.
      await withDatabase((ds) => seed(ds, new GameService(ds, path.join(dataDir, "assets"), 1024 * 1024)));
    }
    // 1. Killed mid-round, ≥ 400 ms after its last acknowledged hit.
    const a = await startServer(15);
    const ann = await player(a, "Ann");
    const lost = await play(a, ann, 3, true);
    await lost.enough;
    lost.stop();
    const roundId: string = lost.room.state.roundId;
    const seedHash: string = lost.room.state.seedHash;
    await new Promise((r) => setTimeout(r, Math.max(0, lost.storedAt() - Date.now())));
    assert.equal(lost.room.state.phase, "playing", "killed before the round's end");
    await a.kill("SIGKILL");
    assert.deepEqual(lost.refusals, ["MISS"], "every other whack hit");

    const b = await startServer(15);
    if (!cluster) {
      // The restart's first sweep runs before it serves: the round is over by the time it answers.
      assert.equal((await get(b, `/api/whack/rounds/${roundId}`)).status, 200, "finished at start");
    }
    const audit = await until("the round finished by the restart", async () => {
      const r = await get(b, `/api/whack/rounds/${roundId}`);
      return r.status === 200 ? r.body : undefined;
    });
    assert.equal(audit.seedHash, seedHash);
    assert.equal(createHash("sha256").update(audit.seed).digest("hex"), seedHash, "seed revealed");
    assert.deepEqual(
      audit.hits.map((h: any) => [h.moleId, h.userId, h.points]),
      lost.hits.map((h) => [h.moleId, ann.userId, h.points]),
      "stored hits = acknowledged hits",
    );
    const expected = expectedBoards(lost.hits);
    assert.deepEqual(
      audit.scores.map((s: any) => [s.userId, s.score, s.hits, s.misses, s.flagged]),
      [[ann.userId, expected.alltime.score, 3, 1, false]],
    );
    const events = [...audit.moles.map((m: any) => m.spawnAt), ...audit.hits.map((h: any) => h.at)].sort();
    assert.equal(audit.endedAt, events[events.length - 1], "ends at the last stored event");
    const history = await get(b, `/api/users/${ann.userId}/scores`);
    assert.deepEqual(
      history.body.rounds.map((r: any) => [r.roundId, r.endReason]),
      [[roundId, "server_lost"]],
    );
    const written = await until("the boards written", async () =>
      (await get(b, `/api/leaderboards/whack-moles/records/${ann.userId}`)).status === 200
        ? boardsOf(b, ann.userId)
        : undefined,
    );
    assert.deepEqual(written, expected);

    // 2. Killed right after `round:end` (another player, on a second restart with short rounds).
    await b.kill("SIGKILL");
    const c = await startServer(4);
    assert.deepEqual(await boardsOf(c, ann.userId), expected, "unchanged by a second restart");
    const bob = await player(c, "Bob");
    const full = await play(c, bob, Infinity);
    const end = await full.ended;
    await c.kill("SIGKILL");
    full.stop();
    assert.equal(end.reason, "time_up");
    assert.ok(full.hits.length > 0, `the client hit moles (refused: ${full.refusals.join(", ") || "none"})`);

    const d = await startServer(4);
    const bobsRound = await get(d, `/api/whack/rounds/${end.roundId}`);
    assert.equal(bobsRound.status, 200);
    assert.equal(bobsRound.body.hits.length, full.hits.length);
    // The restart's sweeps run (its first before it serves, more every second): nothing is written twice.
    await new Promise((r) => setTimeout(r, 2_500));
    assert.deepEqual(await boardsOf(d, bob.userId), expectedBoards(full.hits));
    assert.deepEqual(await boardsOf(d, ann.userId), expected);

    // 3. A crash between the writes and clearing the outbox flags: they are found set again and
    // the outbox repeats the writes (here run on the data itself, the servers gone); the
    // idempotency keys make the repeat change nothing.
    await d.kill("SIGKILL");
    await withDatabase(async (ds) => {
      await ds.query(
        `UPDATE whack_rounds SET leaderboard_pending = true, leaderboard_retry_at = now() WHERE id = ANY($1)`,
        [[roundId, end.roundId]],
      );
      const boards = new LeaderboardService(ds);
      const outbox = new WhackService(ds, boards);
      assert.deepEqual(await outbox.applyPendingLeaderboards(new Date(Date.now() + 1000)), { applied: 2, failed: 0 });
      for (const [p, hits] of [
        [ann, lost.hits],
        [bob, full.hits],
      ] as const) {
        const again = {
          daily: (await boards.record("whack-daily", p.userId)).record,
          alltime: (await boards.record("whack-alltime", p.userId)).record,
          moles: (await boards.record("whack-moles", p.userId)).record,
        };
        assert.deepEqual(
          {
            daily: { score: again.daily.score, numScore: again.daily.numScore },
            alltime: { score: again.alltime.score, numScore: again.alltime.numScore },
            moles: { score: again.moles.score, numScore: again.moles.numScore },
          },
          expectedBoards(hits),
        );
      }
    });
  });
});
