import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Room } from "@colyseus/sdk";
import "reflect-metadata";
import type { DataSource } from "typeorm";
import { openDatabase } from "../../src/db/data-source";
import { GameService } from "../../src/services/games";
import { seed } from "../../src/services/seed";
import { WalletService } from "../../src/services/wallet";
import { createPostgres, createRedis, type PrivatePostgres, type PrivateRedis } from "./fault-services";
import { freePort, type ServerProcess, startServerProcess } from "./process";
import { TestClient } from "./sdk";

/** Prints what a scenario did, indented under mocha's test line. */
export const say = (line: string) => console.log(`      · ${line}`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Two server processes on a private PostgreSQL and a private Redis, for
 * breaking those on purpose.
 */
export class FaultCluster {
  servers: ServerProcess[] = [];
  /** The suite's own connection, for seeding, funding and the wallet invariant. */
  db!: DataSource;
  gameId = "";
  private env: Record<string, string> = {};
  private readonly dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-fault-"));

  private constructor(
    readonly pg: PrivatePostgres,
    readonly redis: PrivateRedis,
  ) {}

  /** `servers`: the two server processes' ports (free ones when absent). */
  static async start(
    ports: { postgres: number; redis: number; servers?: [number, number] },
    env: Record<string, string> = {},
  ) {
    const pg = createPostgres(ports.postgres);
    const cluster = new FaultCluster(
      pg,
      await createRedis(ports.redis).catch((err) => (pg.destroy(), Promise.reject(err))),
    );
    try {
      cluster.env = {
        DATABASE_URL: pg.url,
        REDIS_URL: cluster.redis.url,
        REDIS_KEY_PREFIX: "fault:",
        DATA_DIR: cluster.dataDir,
        RATE_LIMIT_MAX: "100000",
        AUTH_RATE_LIMIT_MAX: "100000",
        LOG_LEVEL: "info",
        ...env,
      };
      cluster.db = await openDatabase({ url: pg.url, embeddedDir: "" });
      await seed(cluster.db, new GameService(cluster.db, `${cluster.dataDir}/assets`, 1024 * 1024));
      const [game] = await cluster.db.query(`SELECT id FROM games WHERE slug = 'demo-arcade'`);
      cluster.gameId = game.id;
      const ports2 = ports.servers ?? [await freePort(), await freePort()];
      cluster.servers = await Promise.all(ports2.map((port) => cluster.spawn(port)));
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  spawn(port: number): Promise<ServerProcess> {
    return startServerProcess({ ...this.env, PORT: String(port), PUBLIC_ADDRESS: `127.0.0.1:${port}` }, 90_000);
  }

  /** Replaces a dead server process with a new one on the same port. */
  async respawn(index: number) {
    this.servers[index] = await this.spawn(this.servers[index].port);
  }

  /** The process whose public address a seat or listing names. */
  byAddress(address: string): ServerProcess {
    const server = this.servers.find((s) => address === `127.0.0.1:${s.port}`);
    assert.ok(server, `no server at ${address}`);
    return server;
  }

  /** Every process still running, answering /health. */
  async assertAllAlive() {
    for (const server of this.servers) {
      assert.equal(server.child.exitCode, null, `process on ${server.port} exited:\n${server.output().slice(-3000)}`);
      assert.equal((await fetch(`${server.baseUrl}/health`)).status, 200);
    }
  }

  /** Every balance equals the sum of its ledger entries; none is negative. */
  async assertWalletInvariant() {
    assert.deepEqual(await new WalletService(this.db).checkInvariants(), [], "wallet invariants");
  }

  async newUser(server: ServerProcess, name: string, tokens = 10): Promise<User> {
    const email = `${name.toLowerCase()}-${randomBytes(4).toString("hex")}@arcadia.test`;
    const res = await post(server, "/api/auth/register", {
      email,
      password: `Fault-${randomBytes(6).toString("hex")}`,
      displayName: name,
    });
    assert.equal(res.status, 201, await res.clone().text());
    const { user, accessToken } = await res.json();
    if (tokens) {
      await new WalletService(this.db).apply([
        { userId: user.id, delta: tokens, reason: "adjustment", idempotencyKey: `fund:${user.id}` },
      ]);
    }
    return { id: user.id, name, accessToken };
  }

  async stop() {
    await Promise.all(this.servers.map((s) => killHard(s)));
    await this.db?.destroy().catch(() => undefined);
    await this.redis?.destroy();
    this.pg.destroy();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** kill -9 of the server (it is the spawned process itself). */
export async function killHard(server: ServerProcess): Promise<void> {
  await server.kill("SIGKILL");
}

export interface User {
  id: string;
  name: string;
  accessToken: string;
}

export const post = (
  server: ServerProcess,
  pathname: string,
  body: unknown,
  token?: string,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
) =>
  fetch(`${server.baseUrl}${pathname}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
    signal,
  });

export const get = (server: ServerProcess, pathname: string, token?: string, signal?: AbortSignal) =>
  fetch(`${server.baseUrl}${pathname}`, { headers: token ? { Authorization: `Bearer ${token}` } : {}, signal });

export const sdkFor = (server: ServerProcess, user: User) => {
  const client = new TestClient(server.baseUrl);
  client.auth.token = user.accessToken;
  return client;
};

/** The next message of `type` on `room`, or a rejection after `ms`. */
export const nextMessage = <T = any>(room: Room, type: string, ms = 10_000) =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${ms} ms`)), ms);
    room.onMessage(type, (m: T) => (clearTimeout(timer), resolve(m)));
  });

/** Retries `act` until it succeeds or `ms` passes; resolves with how long it took. */
export async function eventually(act: () => Promise<unknown>, ms: number, what: string): Promise<number> {
  const started = Date.now();
  let last: unknown;
  while (Date.now() - started < ms) {
    try {
      await act();
      return Date.now() - started;
    } catch (err) {
      last = err;
      await sleep(300);
    }
  }
  throw new Error(`${what}: still failing after ${ms} ms: ${(last as Error)?.message ?? last}`);
}

/**
 * What a user does, each step through `server`: start and stop a play
 * session, queue and leave, tip `other`, chat in the stream `streamId`.
 */
export async function act(cluster: FaultCluster, server: ServerProcess, user: User, other: User, streamId: string) {
  const started = await post(server, "/api/play/start", { gameId: cluster.gameId }, user.accessToken);
  assert.equal(started.status, 201, `play start: ${await started.clone().text()}`);
  const { sessionToken } = await started.json();
  const stopped = await post(server, "/api/play/stop", {}, sessionToken);
  assert.equal(stopped.status, 200, `play stop: ${await stopped.clone().text()}`);

  const queue = await sdkFor(server, user).joinOrCreate("match_queue", { region: "oc", language: "mi" });
  await queue.leave();

  const tip = await post(server, "/api/payments/tip", { toUserId: other.id, amount: 1 }, user.accessToken, undefined, {
    "Idempotency-Key": randomUUID(),
  });
  assert.equal(tip.status, 200, `tip: ${await tip.clone().text()}`);

  const stream = await sdkFor(server, user).joinOrCreate("stream", { streamId });
  stream.onMessage("history", () => {});
  try {
    const text = `back ${randomBytes(3).toString("hex")}`;
    const echoed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("chat not echoed")), 8_000);
      stream.onMessage("chatMessage", (m: { text: string }) => m.text === text && (clearTimeout(timer), resolve()));
      stream.onMessage("error", (e: { code: string }) => (clearTimeout(timer), reject(new Error(`chat: ${e.code}`))));
    });
    stream.send("chat", { text });
    await echoed;
  } finally {
    await stream.leave().catch(() => undefined);
  }
}
