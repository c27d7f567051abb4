import assert from "node:assert/strict";
import { isClusterMode, testApp } from "./helpers/app";

describe("operations endpoints", () => {
  it("GET /health is alive", async () => {
    const { fetch } = await testApp();
    const res = await fetch("/health");
    assert.equal(res.status, 200);
    assert.equal((await res.json()).status, "ok");
  });

  it("GET /health/ready names the database, and Redis when configured", async () => {
    const { fetch } = await testApp();
    const res = await fetch("/health/ready");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, "ready");
    assert.equal(body.checks.database.ok, true);
    if (process.env.REDIS_URL) assert.equal(body.checks.redis.ok, true);
    else assert.equal(body.checks.redis, undefined);
  });

  it("GET /health/ready turns 503 naming the database when it is gone, and recovers", async () => {
    const { fetch, app } = await testApp();
    await app.dataSource.destroy();
    try {
      const res = await fetch("/health/ready");
      assert.equal(res.status, 503);
      const body = await res.json();
      assert.equal(body.status, "unavailable");
      assert.equal(body.checks.database.ok, false);
      assert.ok(body.checks.database.error);
      // The same as gauges, for alerts (each scrape runs the check).
      const metrics = await (await fetch("/metrics")).text();
      assert.match(metrics, /^readiness_ready 0$/m);
      assert.match(metrics, /^readiness_check_ok\{check="database"\} 0$/m);
    } finally {
      await app.dataSource.initialize();
    }
    assert.equal((await fetch("/health/ready")).status, 200);
    const metrics = await (await fetch("/metrics")).text();
    assert.match(metrics, /^readiness_ready 1$/m);
    assert.match(metrics, /^readiness_check_ok\{check="database"\} 1$/m);
    if (process.env.REDIS_URL) assert.match(metrics, /^readiness_check_ok\{check="redis"\} 1$/m);
  });

  it("GET /metrics exposes process, HTTP and Colyseus metrics", async () => {
    const { fetch } = await testApp();
    await fetch("/docs/openapi.json");
    const res = await fetch("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const text = await res.text();
    assert.match(text, /process_cpu_user_seconds_total/);
    assert.match(text, /http_request_duration_seconds_bucket\{[^}]*route="\/docs\/openapi.json"[^}]*status="200"/);
    assert.match(text, /colyseus_connected_clients \d+/);
    assert.match(text, /# TYPE colyseus_rooms gauge/);
  });

  it("labels unknown paths as one route, keeping metric cardinality bounded", async () => {
    const { fetch } = await testApp();
    // A token no metric value or id can contain by chance (a number could: a counter, a byte size).
    await fetch("/no/such/path/unmatched-probe-path");
    const text = await (await fetch("/metrics")).text();
    assert.doesNotMatch(text, /unmatched-probe-path/);
    assert.match(text, /route="unmatched",status="404"/);
  });

  it("reports the runtime mode it was started in", async () => {
    const { app } = await testApp();
    assert.equal(Boolean(app.config.DATABASE_URL), Boolean(process.env.DATABASE_URL));
    assert.equal(Boolean(app.redis), Boolean(process.env.REDIS_URL));
    if (isClusterMode()) assert.equal(app.dataSource.options.type, "postgres");
  });
});
