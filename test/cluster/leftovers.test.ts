import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Client, type Room } from "@colyseus/sdk";
import "reflect-metadata";
import type { DataSource } from "typeorm";
import { openDatabase } from "../../src/db/data-source";
import { GameService } from "../../src/services/games";
import { seed } from "../../src/services/seed";
import { WalletService } from "../../src/services/wallet";
import { clusterDatabase } from "../helpers/database";
import { freePort, postTo, type ServerProcess, startServerProcess } from "../helpers/process";

/**
 * A process is killed (SIGKILL: no shutdown hook runs) while it hosts a live
 * call, a queue waiter, a play session and a watched stream; the survivor's
 * sweep frees all of it once the dead process's lease has lapsed.
 */
describe("cluster: what a killed process leaves behind", function () {
  this.timeout(120_000);
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let ds: DataSource | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;
  let env: Record<string, string> = {};
  const rooms: Room[] = [];
  const LEASE_TTL_SEC = 3;
  const OWNER_GRACE_SEC = 5;

  before(async function () {
    const scratch = await clusterDatabase(this);
    if (!scratch) return;
    dropDatabase = scratch.drop;
    env = {
      DATABASE_URL: scratch.url,
      REDIS_URL: scratch.redisUrl,
      REDIS_KEY_PREFIX: `leftovers-${randomBytes(4).toString("hex")}:`,
      DATA_DIR: `/tmp/arcadia-leftovers-${process.pid}`,
      PROCESS_LEASE_TTL_SEC: String(LEASE_TTL_SEC),
      STREAM_OWNER_GRACE_SEC: String(OWNER_GRACE_SEC),
      // A call lasts longer than the test, so only the sweep can end it.
      CALL_DURATION_SEC: "120",
    };
    const port = await freePort();
    // A alone first: every room below is created on it.
    a = await startServerProcess({ ...env, PORT: String(port), PUBLIC_ADDRESS: `127.0.0.1:${port}` });
    ds = await openDatabase({ url: scratch.url, embeddedDir: "" });
    await seed(ds, new GameService(ds, `${env.DATA_DIR}/assets`, 1024 * 1024));
  });

  after(async () => {
    await Promise.all([a?.kill("SIGKILL"), b?.kill()]);
    await ds?.destroy();
    await dropDatabase?.();
  });

  const sdkOn = (server: ServerProcess, token: string) => {
    const client = new Client(server.baseUrl);
    client.auth.token = token;
    return client;
  };
  const next = <T = any>(room: Room, type: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type}`)), 15_000);
      room.onMessage(type, (m: T) => (clearTimeout(timer), resolve(m)));
    });
  /** Keeps a room's connection for the test, quiet about what it receives or how it ends. */
  const held = (room: Room) => {
    room.onMessage("*", () => {});
    room.onError(() => {});
    room.onLeave(() => {});
    rooms.push(room);
    return room;
  };
  const balance = async (userId: string) => new WalletService(ds!).balance(userId);

  async function user(server: ServerProcess, name: string, tokens: number) {
    const email = `${name.toLowerCase()}-${randomBytes(4).toString("hex")}@arcadia.test`;
    const res = await postTo(server, "/api/auth/register", { email, password: "Leftover-pass-1", displayName: name });
    assert.equal(res.status, 201, await res.clone().text());
    const { user, accessToken } = await res.json();
    if (tokens) {
      await new WalletService(ds!).apply([
        { userId: user.id, delta: tokens, reason: "adjustment", idempotencyKey: `fund:${user.id}` },
      ]);
    }
    return { id: user.id as string, accessToken: accessToken as string };
  }

  /** kill -9 of the server: no shutdown hook runs. */
  async function killServer(server: ServerProcess) {
    await server.kill("SIGKILL");
  }

  /** Polls `attempt` until it answers true; resolves with how long that took after `since`. */
  async function until(what: string, since: number, attempt: () => Promise<boolean>, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await attempt()) return Date.now() - since;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${b?.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** A queue join on `server` that is admitted (then left): false while refused. */
  async function admitted(server: ServerProcess, token: string, refusal: RegExp, language = "zz") {
    try {
      const room = await sdkOn(server, token).joinOrCreate("match_queue", { region: "eu", language });
      room.onMessage("*", () => {});
      await room.leave();
      return true;
    } catch (err) {
      assert.match(String((err as Error).message), refusal);
      return false;
    }
  }

  it("frees the users of a killed process within seconds: queue again, start play again, fees refunded once", async () => {
    const [ann, bob, cat, dan, eve, fay] = await Promise.all(
      [
        ["Ann", 3],
        ["Bob", 3],
        ["Cat", 3],
        ["Dan", 0],
        ["Eve", 0],
        ["Fay", 0],
      ].map(([name, tokens]) => user(a!, name as string, tokens as number)),
    );

    // Ann and Bob in a live call (fees charged), Cat waiting in a queue.
    const bucket = { region: "eu", language: "lo" };
    const qAnn = held(await sdkOn(a!, ann.accessToken).joinOrCreate("match_queue", bucket));
    const matchedAnn = next(qAnn, "matched");
    const qBob = held(await sdkOn(a!, bob.accessToken).joinOrCreate("match_queue", bucket));
    const matchedBob = next(qBob, "matched");
    const [mAnn, mBob] = await Promise.all([matchedAnn, matchedBob]);
    const callAnn = held(await sdkOn(a!, ann.accessToken).consumeSeatReservation(mAnn.seat));
    const started = next(callAnn, "session:start");
    held(await sdkOn(a!, bob.accessToken).consumeSeatReservation(mBob.seat));
    await started;
    assert.equal(await balance(ann.id), 2);
    held(await sdkOn(a!, cat.accessToken).joinOrCreate("match_queue", { region: "eu", language: "lw" }));

    // Dan plays (free game); Eve streams and Fay watches.
    const { games } = await (await fetch(`${a!.baseUrl}/api/games`)).json();
    const game = games.find((g: { slug: string }) => g.slug === "demo-arcade");
    assert.equal((await postTo(a!, "/api/play/start", { gameId: game.id }, dan.accessToken)).status, 201);
    const created = await postTo(a!, "/api/streams", { title: "Going down" }, eve.accessToken);
    const { id: streamId } = await created.json();
    held(await sdkOn(a!, eve.accessToken).joinOrCreate("stream", { streamId }));
    const watched = held(await sdkOn(a!, fay.accessToken).joinOrCreate("stream", { streamId }));
    await until("one viewer counted", Date.now(), async () => {
      const s = await (await fetch(`${a!.baseUrl}/api/streams/${streamId}`)).json();
      return watched.state.viewerCount === 1 && s.viewerCount === 1;
    });

    // Before: each of them is refused.
    assert.equal(await admitted(a!, ann.accessToken, /IN_CALL/), false);
    assert.equal(await admitted(a!, cat.accessToken, /ALREADY_QUEUED/), false);
    assert.equal((await postTo(a!, "/api/play/start", { gameId: game.id }, dan.accessToken)).status, 409);

    const port = await freePort();
    b = await startServerProcess({ ...env, PORT: String(port), PUBLIC_ADDRESS: `127.0.0.1:${port}` });
    const killedAt = Date.now();
    await killServer(a!);

    const timings = {
      callFreed: await until("Ann may queue", killedAt, () => admitted(b!, ann.accessToken, /IN_CALL/)),
      markerFreed: await until("Cat may queue", killedAt, () => admitted(b!, cat.accessToken, /ALREADY_QUEUED/, "lw")),
      playFreed: await until("Dan may play", killedAt, async () => {
        const res = await postTo(b!, "/api/play/start", { gameId: game.id }, dan.accessToken);
        if (res.status !== 201) assert.equal(res.status, 409, await res.text());
        return res.status === 201;
      }),
      viewersReset: await until("no viewers counted", killedAt, async () => {
        const s = await (await fetch(`${b!.baseUrl}/api/streams/${streamId}`)).json();
        return s.viewerCount === 0;
      }),
      streamEnded: await until("the owner-less stream ends", killedAt, async () => {
        const s = await (await fetch(`${b!.baseUrl}/api/streams/${streamId}`)).json();
        return s.status === "ended";
      }),
    };
    console.log(`      after SIGKILL (lease ${LEASE_TTL_SEC} s, grace ${OWNER_GRACE_SEC} s), ms:`, timings);

    const [call] = await ds!.query(`SELECT phase, end_reason FROM calls WHERE id = $1`, [mAnn.callId]);
    assert.deepEqual(call, { phase: "ended", end_reason: "crashed" });
    for (const u of [ann, bob]) assert.equal(await balance(u.id), 3, "the fee of the unfinished call is back");
    const refunds = await ds!.query(`SELECT user_id FROM ledger_entries WHERE ref_id = $1 AND reason = 'refund'`, [
      mAnn.callId,
    ]);
    assert.equal(refunds.length, 2, "one refund each");
    const drift = await ds!.query(
      `SELECT w.user_id FROM wallets w LEFT JOIN (SELECT user_id, sum(delta) AS total FROM ledger_entries GROUP BY 1) l
         ON l.user_id = w.user_id WHERE w.balance <> coalesce(l.total, 0)`,
    );
    assert.deepEqual(drift, [], "every balance is the sum of its ledger");
    assert.match(b!.output(), /swept leftovers/);
  });
});
