import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger } from "../src/logger";
import { testApp } from "./helpers/app";

describe("logging", () => {
  it("logs each request with its id, without Authorization or Cookie values", async () => {
    const { fetch, logs } = await testApp();
    const res = await fetch("/api/private", {
      headers: {
        Authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.SECRET-ACCESS-TOKEN.sig",
        Cookie: "refresh_token=SECRET-REFRESH-COOKIE",
        "X-Request-Id": "log-redaction-test-1",
      },
    });
    assert.equal(res.status, 404);
    await new Promise((r) => setTimeout(r, 50));
    const line = logs.find((l) => l.includes("log-redaction-test-1"));
    assert.ok(line, "the request was logged with its id");
    const entry = JSON.parse(line);
    assert.equal(entry.req.headers.authorization, "[redacted]");
    assert.equal(entry.req.headers.cookie, "[redacted]");
    assert.equal(entry.res.statusCode, 404);
    assert.ok(!logs.some((l) => l.includes("SECRET-ACCESS-TOKEN") || l.includes("SECRET-REFRESH-COOKIE")));
  });

  it("logs the path only, never the query string (signed URLs carry signatures there)", async () => {
    const { fetch, logs } = await testApp();
    await fetch("/api/assets/x?sig=SECRET-SIGNATURE&exp=1", { headers: { "X-Request-Id": "log-query-test-1" } });
    await new Promise((r) => setTimeout(r, 50));
    const line = logs.find((l) => l.includes("log-query-test-1"));
    assert.ok(line);
    assert.equal(JSON.parse(line).req.url, "/api/assets/x");
    assert.ok(!logs.some((l) => l.includes("SECRET-SIGNATURE")));
  });

  it("redacts passwords and tokens anywhere in logged objects", () => {
    const lines: string[] = [];
    const logger = createLogger("info", new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }));
    logger.info(
      { password: "p1", body: { password: "p2", refreshToken: "r1", accessToken: "a1", displayName: "ok" } },
      "x",
    );
    const out = lines.join("");
    for (const secret of ["p1", "p2", "r1", "a1"]) assert.ok(!out.includes(`"${secret}"`), secret);
    assert.match(out, /"displayName":"ok"/);
  });
});
