import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Room } from "@colyseus/sdk";
import "reflect-metadata";
import { openDatabase } from "../../src/db/data-source";
import { LeaderboardService } from "../../src/services/leaderboards";
import { clusterDatabase } from "../helpers/database";
import { postTo, type ServerProcess, startProcessPair } from "../helpers/process";
import { TestClient } from "../helpers/sdk";

/** The contract: a leaderboard room's clients see a write made on any process within this. */
const PATCH_DEADLINE_MS = 250;

/**
 * A viewer in a leaderboard room hosted by one process; writes go through the
 * other process's HTTP. The change crosses as a domain event over Redis and
 * reaches the viewer as a state patch.
 */
describe("cluster: a leaderboard room sees writes made on the other process", function () {
  this.timeout(120_000);
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;
  let databaseUrl = "";
  const rooms: Room[] = [];

  before(async function () {
    const scratch = await clusterDatabase(this);
    if (!scratch) return;
    dropDatabase = scratch.drop;
    databaseUrl = scratch.url;
    const shared = {
      DATABASE_URL: scratch.url,
      REDIS_URL: scratch.redisUrl,
      REDIS_KEY_PREFIX: `lbroom-${randomBytes(4).toString("hex")}:`,
      DATA_DIR: `/tmp/arcadia-lbroom-${process.pid}`,
    };
    [a, b] = await startProcessPair(shared);
  });

  after(async () => {
    await Promise.all(rooms.map((room) => room.leave().catch(() => {})));
    await Promise.all([a?.kill(), b?.kill()]);
    await dropDatabase?.();
  });

  async function registerOn(server: ServerProcess, displayName: string) {
    const email = `lb-${randomBytes(4).toString("hex")}@arcadia.test`;
    const res = await postTo(server, "/api/auth/register", { email, password: "Board-pass-1", displayName });
    assert.equal(res.status, 201, await res.clone().text());
    const { user, accessToken } = await res.json();
    return { id: user.id as string, accessToken: accessToken as string };
  }

  it(`patches the viewer within ${PATCH_DEADLINE_MS} ms of a write through the other process`, async () => {
    const boardId = `cluster-${randomBytes(4).toString("hex")}`;
    // Created as an operator would (admin routes aside): straight through the service.
    const ds = await openDatabase({ url: databaseUrl, embeddedDir: "" });
    try {
      await new LeaderboardService(ds).create({
        id: boardId,
        title: "Cluster board",
        sortOrder: "desc",
        operator: "best",
        resetSchedule: null,
        authoritative: false,
      });
    } finally {
      await ds.destroy();
    }
    const viewer = await registerOn(a!, "Viewer");
    const rival = await registerOn(b!, "Rival");

    // Matchmaking through A; Colyseus places the room on either process: the writes go to the other one.
    const seat = await (
      await postTo(a!, "/matchmake/joinOrCreate/leaderboard", { boardId }, viewer.accessToken)
    ).json();
    assert.ok(seat.roomId, JSON.stringify(seat));
    const host = seat.publicAddress === a!.publicAddress ? a! : b!;
    const writer = host === a ? b! : a!;
    const client = new TestClient(a!.baseUrl);
    client.auth.token = viewer.accessToken;
    const room = await client.consumeSeatReservation<any>(seat);
    rooms.push(room);
    await waitUntil(() => room.state?.boardId === boardId, "the first state");
    assert.equal(room.state.top.length, 0);

    /** Sends the write through `writer` and resolves with ms from sending it until the patch showing it arrived. */
    const timedWrite = async (token: string, score: number, arrived: () => boolean) => {
      let seenAt: number | undefined;
      const onChange = () => {
        if (seenAt === undefined && arrived()) seenAt = performance.now();
      };
      room.onStateChange(onChange);
      const sentAt = performance.now();
      try {
        const res = await postTo(writer, `/api/leaderboards/${boardId}/records`, { score }, token);
        assert.equal(res.status, 200, await res.clone().text());
        await waitUntil(() => seenAt !== undefined, `the patch for score ${score}`);
        return seenAt! - sentAt;
      } finally {
        room.onStateChange.remove(onChange);
      }
    };
    const me = () => room.state.me?.get(room.sessionId);

    const delays: number[] = [];
    // The viewer's own write: `me` appears, and the top.
    delays.push(await timedWrite(viewer.accessToken, 10, () => me()?.score === 10 && room.state.top.length === 1));
    assert.deepEqual({ rank: me().rank, score: me().score }, { rank: 1, score: 10 });
    // The rival's writes: the top changes, and the viewer's rank under it.
    for (const score of [20, 30, 40, 50]) {
      await sleep(150); // past the room's coalescing interval: each write is its own refresh
      delays.push(await timedWrite(rival.accessToken, score, () => room.state.top[0]?.score === score));
    }
    await waitUntil(() => me()?.rank === 2, "the viewer's rank under the rival");
    assert.deepEqual(
      room.state.top.map((e: any) => [e.rank, e.name, e.score]),
      [
        [1, "Rival", 50],
        [2, "Viewer", 10],
      ],
    );

    console.log(
      `    room on ${host === a ? "A" : "B"}, writes through ${writer === a ? "A" : "B"}: ` +
        `write → patch ${delays.map((d) => d.toFixed(0)).join(", ")} ms`,
    );
    for (const delay of delays)
      assert.ok(delay < PATCH_DEADLINE_MS, `${delay.toFixed(0)} ms ≥ ${PATCH_DEADLINE_MS} ms`);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
