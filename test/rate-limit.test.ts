import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createRateLimiter } from "../src/http/rate-limit";
import { createRedis } from "../src/redis";
import { testApp } from "./helpers/app";
import { startHttpFixture } from "./helpers/http-fixture";

describe("rate limiting", () => {
  const get = (url: string) => fetch(`${url}/nothing-here`);

  it("answers 429 in the error envelope with Retry-After once the limit is spent", async () => {
    const fixture = await startHttpFixture({
      before: [createRateLimiter({ name: "t-memory", windowSec: 30, max: 3, onStoreFailure: "open" })],
    });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await get(fixture.url)).status, 404);
      const limited = await get(fixture.url);
      assert.equal(limited.status, 429);
      const retryAfter = Number(limited.headers.get("retry-after"));
      assert.ok(retryAfter > 0 && retryAfter <= 30, `Retry-After ${retryAfter}`);
      assert.match(limited.headers.get("ratelimit") ?? "", /r=0/);
      const body = await limited.json();
      assert.equal(body.error.code, "RATE_LIMITED");
      assert.ok(body.error.requestId);
    } finally {
      await fixture.close();
    }
  });

  it("exempts health probes and metrics scrapes on the real server", async () => {
    const { fetch } = await testApp();
    const res = await fetch("/health");
    assert.equal(res.headers.get("ratelimit"), null);
    const other = await fetch("/docs/openapi.json");
    assert.match(other.headers.get("ratelimit") ?? "", /"\d+-in-\d+min"|r=\d+/);
  });

  it("with Redis, two processes' limiters share one counter", async function () {
    if (!process.env.REDIS_URL) return this.skip();
    const name = "shared";
    const redisKeyPrefix = `t-${randomBytes(4).toString("hex")}:`;
    const redisA = createRedis(process.env.REDIS_URL);
    const redisB = createRedis(process.env.REDIS_URL);
    const a = await startHttpFixture({
      before: [
        createRateLimiter({ name, windowSec: 30, max: 4, redis: redisA, redisKeyPrefix, onStoreFailure: "open" }),
      ],
    });
    const b = await startHttpFixture({
      before: [
        createRateLimiter({ name, windowSec: 30, max: 4, redis: redisB, redisKeyPrefix, onStoreFailure: "open" }),
      ],
    });
    try {
      const statuses = [];
      for (const url of [a.url, b.url, a.url, b.url, a.url, b.url]) statuses.push((await get(url)).status);
      assert.deepEqual(statuses, [404, 404, 404, 404, 429, 429]);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await redisA.del(...(await redisA.keys(`${redisKeyPrefix}*`)));
      await Promise.all([redisA.quit(), redisB.quit()]);
    }
  });
});
