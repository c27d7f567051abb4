import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import os from "node:os";
import { loadConfig } from "../src/config";
import type { HttpDependencies } from "../src/http/app";
import { createLimits } from "../src/http/limits";
import { createRateLimiter } from "../src/http/rate-limit";
import { createLogger } from "../src/logger";
import { createRedis } from "../src/redis";
import { startHttpFixture } from "./helpers/http-fixture";

/** A Redis of our own on a port of this suite's range: never the shared one. */
const PORT = 6411;

async function startRedis(): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(PORT), "--save", "", "--appendonly", "no", "--daemonize", "no"],
    {
      stdio: "ignore",
    },
  );
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(PORT, "127.0.0.1", () => (socket.end(), resolve(true)));
      socket.on("error", () => resolve(false));
    });
    if (up) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("redis-server did not start");
}

async function stopRedis(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGCONT");
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

describe("rate limiting when Redis is refused or hung", function () {
  this.timeout(60_000);
  let redisServer: ChildProcess;
  let redis: ReturnType<typeof createRedis>;
  let open: Awaited<ReturnType<typeof startHttpFixture>>;
  let closed: Awaited<ReturnType<typeof startHttpFixture>>;

  /** A request that must be answered within 5 s (the command timeout is 1 s): a hang fails the test. */
  const get = (url: string) => fetch(`${url}/nothing-here`, { signal: AbortSignal.timeout(5000) });

  before(async () => {
    redisServer = await startRedis();
    redis = createRedis(`redis://127.0.0.1:${PORT}`);
    redis.on("error", () => {}); // connection errors are the point of these tests
    const common = { windowSec: 60, max: 3, redis, redisKeyPrefix: `faults-${process.pid}:` };
    open = await startHttpFixture({
      before: [createRateLimiter({ ...common, name: "general", onStoreFailure: "open" })],
    });
    closed = await startHttpFixture({
      before: [createRateLimiter({ ...common, name: "auth", onStoreFailure: "closed" })],
    });
  });

  after(async () => {
    await Promise.all([open?.close(), closed?.close()]);
    redis?.disconnect();
    if (redisServer) await stopRedis(redisServer);
  });

  async function assertFailOpenAndClosed() {
    assert.equal((await get(open.url)).status, 404, "the general limiter lets requests through");
    const refused = await get(closed.url);
    assert.equal(refused.status, 503, "the auth limiter refuses");
    assert.ok(Number(refused.headers.get("retry-after")) > 0);
    const body = await refused.json();
    assert.equal(body.error.code, "UNAVAILABLE");
    assert.ok(body.error.requestId);
  }

  /** Both limiters count again: the 4th request of a fresh window is a 429. */
  async function assertCountingAgain() {
    await redis.flushdb();
    for (const url of [open.url, closed.url]) {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await get(url)).status);
      assert.deepEqual(statuses, [404, 404, 404, 429], url);
    }
  }

  it("counts while Redis answers", async () => {
    await assertCountingAgain();
  });

  it("Redis refused (killed): general passes, auth answers 503; both recover when it is back", async () => {
    await stopRedis(redisServer);
    await assertFailOpenAndClosed();
    await assertFailOpenAndClosed(); // still prompt while the client keeps reconnecting
    redisServer = await startRedis();
    await waitForRedis(redis);
    await assertCountingAgain();
  });

  it("Redis hung (SIGSTOP): same answers within the command timeout; SIGCONT and it recovers", async () => {
    redisServer.kill("SIGSTOP");
    try {
      await assertFailOpenAndClosed();
      await assertFailOpenAndClosed();
    } finally {
      redisServer.kill("SIGCONT");
    }
    await waitForRedis(redis);
    await assertCountingAgain();
  });
});

async function waitForRedis(redis: ReturnType<typeof createRedis>) {
  for (let i = 0; i < 100; i++) {
    if (
      await redis.ping().then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("Redis did not come back");
}

describe("the server's limits when Redis is down", () => {
  it("fail closed only where passwords are checked; refresh, logout and the rest pass", async () => {
    // Nothing listens on this port of our range: every command is refused.
    const redis = createRedis("redis://127.0.0.1:6419");
    redis.on("error", () => {}); // connection errors are expected here
    const config = loadConfig({ NODE_ENV: "test", DATA_DIR: os.tmpdir(), JWT_SECRET: "j".repeat(32) });
    const limits = createLimits({ config, redis, logger: createLogger("silent") } as HttpDependencies);
    const fixture = await startHttpFixture({ before: [limits.perIp, limits.perUser, limits.auth] });
    const post = (path: string) =>
      fetch(`${fixture.url}${path}`, { method: "POST", signal: AbortSignal.timeout(5000) });
    try {
      for (const path of ["/api/auth/login", "/api/auth/register", "/api/auth/change-password", "/monitor/login"]) {
        const res = await post(path);
        assert.equal(res.status, 503, path);
        assert.equal((await res.json()).error.code, "UNAVAILABLE");
      }
      for (const path of ["/api/auth/refresh", "/api/auth/logout", "/api/games"]) {
        assert.equal((await post(path)).status, 404, `${path} passes the limiter (the fixture has no such route)`);
      }
    } finally {
      await fixture.close();
      redis.disconnect();
    }
  });
});
