import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client, MatchMakeError } from "@colyseus/sdk";
import { isClusterMode } from "./helpers/app";
import { createScratchDatabase } from "./helpers/database";
import { type ServerProcess, startServerProcess } from "./helpers/process";
import { remember } from "./helpers/users";

const LIMIT = 5;

/**
 * `/matchmake/*` is answered by Colyseus before Express: these prove the HTTP
 * limits (per IP and per user) still apply there. A server process of its own,
 * with a small limit and TRUST_PROXY=1 so X-Forwarded-For stands for distinct clients.
 */
describe("rate limits on /matchmake", function () {
  this.timeout(180_000);
  let server: ServerProcess;
  const cleanups: Array<() => Promise<void> | void> = [];

  before(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-mm-limit-"));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const env: Record<string, string> = {
      DATA_DIR: dataDir,
      DATABASE_URL: "",
      REDIS_URL: "",
      NODE_ENV: "test",
      TRUST_PROXY: "1",
      RATE_LIMIT_MAX: String(LIMIT),
      AUTH_RATE_LIMIT_MAX: "1000",
    };
    if (isClusterMode()) {
      // Same Redis store as HTTP: the counters below are the ones every process shares.
      const scratch = await createScratchDatabase(process.env.DATABASE_URL!);
      cleanups.push(scratch.drop);
      Object.assign(env, {
        DATABASE_URL: scratch.url,
        REDIS_URL: process.env.REDIS_URL!,
        REDIS_KEY_PREFIX: `mm-limit-${process.pid}:`,
      });
    }
    server = await startServerProcess(env, 150_000);
  });

  after(async () => {
    await server?.kill();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const matchmake = (ip: string | undefined, token?: string) =>
    fetch(`${server.baseUrl}/matchmake/joinOrCreate/match_queue`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        ...(ip ? { "X-Forwarded-For": ip } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ region: "eu", language: "en" }),
    });

  async function assertLimited(res: Response) {
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get("retry-after")) > 0, "Retry-After");
    const body = await res.json();
    assert.equal(body.error.code, "RATE_LIMITED");
    assert.ok(body.error.requestId);
    assert.equal(res.headers.get("x-request-id"), body.error.requestId);
  }

  it("per IP: the request over the limit is a 429 in the error envelope with Retry-After", async () => {
    for (let i = 0; i < LIMIT; i++) assert.notEqual((await matchmake("10.1.0.1")).status, 429, `request ${i + 1}`);
    await assertLimited(await matchmake("10.1.0.1"));
    assert.notEqual((await matchmake("10.1.0.2")).status, 429, "another IP has its own budget");
  });

  it("per user: a valid token is limited across IPs", async () => {
    const res = await fetch(`${server.baseUrl}/api/auth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Forwarded-For": "10.2.0.1" },
      body: JSON.stringify({
        email: `mm-${Date.now()}@arcadia.test`,
        password: remember(`Pw-${Date.now()}-limit`),
        displayName: "Limit Tester",
      }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const token = remember((await res.json()).accessToken as string);
    for (let i = 0; i < LIMIT; i++) {
      assert.notEqual((await matchmake(`10.3.0.${i + 1}`, token)).status, 429, `request ${i + 1}`);
    }
    await assertLimited(await matchmake("10.3.1.1", token));
    assert.notEqual((await matchmake("10.3.1.1")).status, 429, "the same IP without the token is not limited");
  });

  it("the SDK surfaces the 429 as a MatchMakeError with the message", async () => {
    // The SDK's requests carry no X-Forwarded-For: spend the loopback address's budget the same way first.
    for (let i = 0; i < LIMIT; i++) await matchmake(undefined);
    const client = new Client(server.baseUrl);
    await assert.rejects(client.joinOrCreate("match_queue", { region: "eu", language: "en" }), (err: unknown) => {
      assert.ok(err instanceof MatchMakeError, String(err));
      assert.equal(err.code, 429);
      assert.match(err.message, /Too many requests/);
      return true;
    });
  });
});
