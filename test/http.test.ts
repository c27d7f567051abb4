import assert from "node:assert/strict";
import { startHttpFixture } from "./helpers/http-fixture";
import { testApp } from "./helpers/app";

describe("HTTP foundation", () => {
  describe("request ids, headers, CORS (real server)", () => {
    it("generates a request id and echoes a valid one", async () => {
      const { fetch } = await testApp();
      const generated = await fetch("/health");
      assert.match(generated.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
      const given = await fetch("/health", { headers: { "X-Request-Id": "trace-abc-123" } });
      assert.equal(given.headers.get("x-request-id"), "trace-abc-123");
      const bad = await fetch("/health", { headers: { "X-Request-Id": "bad id <script>" } });
      assert.notEqual(bad.headers.get("x-request-id"), "bad id <script>");
    });

    it("answers unknown routes with the 404 envelope carrying the request id", async () => {
      const { fetch } = await testApp();
      const res = await fetch("/api/nope", { headers: { "X-Request-Id": "req-404-test" } });
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), {
        error: { code: "NOT_FOUND", message: "No route for GET /api/nope", requestId: "req-404-test" },
      });
    });

    it("sets security headers (helmet) and hides the framework", async () => {
      const { fetch } = await testApp();
      const res = await fetch("/health");
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.ok(res.headers.get("content-security-policy"));
      // Over plain HTTP, HSTS is not sent (test/http-hardening.test.ts covers HTTPS).
      assert.equal(res.headers.get("strict-transport-security"), null);
      assert.equal(res.headers.get("x-powered-by"), null);
    });

    it("allows only origins in CORS_ORIGINS, for Express routes and matchmaking alike", async () => {
      const { fetch } = await testApp();
      const allowed = await fetch("/health", { headers: { Origin: "https://game.arcadia.test" } });
      assert.equal(allowed.headers.get("access-control-allow-origin"), "https://game.arcadia.test");
      assert.equal(allowed.headers.get("access-control-allow-credentials"), "true");
      const other = await fetch("/health", { headers: { Origin: "https://evil.test" } });
      assert.equal(other.headers.get("access-control-allow-origin"), null);
      assert.equal(other.headers.get("access-control-allow-credentials"), null);
      const preflight = await fetch("/matchmake/joinOrCreate/lobby", {
        method: "OPTIONS",
        headers: { Origin: "https://evil.test", "Access-Control-Request-Method": "POST" },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), null);
      const okPreflight = await fetch("/api/anything", {
        method: "OPTIONS",
        headers: { Origin: "https://game.arcadia.test", "Access-Control-Request-Method": "POST" },
      });
      assert.equal(okPreflight.headers.get("access-control-allow-origin"), "https://game.arcadia.test");
      assert.match(okPreflight.headers.get("access-control-allow-headers") ?? "", /Authorization/);
    });
  });

  describe("bodies and validation (fixture built from the same pieces)", () => {
    let fixture: Awaited<ReturnType<typeof startHttpFixture>>;
    before(async () => {
      fixture = await startHttpFixture({ limitBytes: 1024 });
    });
    after(() => fixture.close());
    const post = (path: string, body: string, type = "application/json") =>
      fetch(`${fixture.url}${path}`, { method: "POST", headers: { "Content-Type": type }, body });

    it("passes valid input through, parsed", async () => {
      const res = await post("/echo/42?n=3", JSON.stringify({ name: "ada", count: 2 }));
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { body: { name: "ada", count: 2 }, query: { n: 3 }, params: { id: "42" } });
    });

    it("answers malformed JSON with 400 MALFORMED_JSON", async () => {
      const res = await post("/echo/1", '{"name": "ada",');
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.error.code, "MALFORMED_JSON");
      assert.ok(body.error.requestId);
    });

    it("rejects unknown fields with 400 and field details", async () => {
      const res = await post("/echo/1", JSON.stringify({ name: "ada", count: 1, role: "admin" }));
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.equal(body.error.code, "VALIDATION_FAILED");
      assert.equal(body.error.details[0].in, "body");
      assert.match(body.error.details[0].message, /role/);
    });

    it("names each invalid field, in body, query and params", async () => {
      const res = await post("/echo/abc?n=1.5", JSON.stringify({ name: "", count: -1 }));
      assert.equal(res.status, 400);
      const { error } = await res.json();
      const where = error.details.map((d: { in: string; path: string }) => `${d.in}:${d.path}`).sort();
      assert.deepEqual(where, ["body:count", "body:name", "params:id", "query:n"]);
    });

    it("answers a non-JSON body with 415", async () => {
      const res = await post("/echo/1", "name=ada&count=1", "application/x-www-form-urlencoded");
      assert.equal(res.status, 415);
      assert.equal((await res.json()).error.code, "UNSUPPORTED_MEDIA_TYPE");
    });

    it("answers a body over the limit with 413", async () => {
      const res = await post("/echo/1", JSON.stringify({ name: "x", count: 1, pad: "y".repeat(4096) }));
      assert.equal(res.status, 413);
      assert.equal((await res.json()).error.code, "PAYLOAD_TOO_LARGE");
    });

    it("treats a missing body as invalid input, not a crash", async () => {
      const res = await fetch(`${fixture.url}/echo/1`, { method: "POST" });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error.code, "VALIDATION_FAILED");
    });

    it("hides internal error details outside development", async () => {
      const res = await fetch(`${fixture.url}/boom`);
      assert.equal(res.status, 500);
      const text = await res.text();
      assert.doesNotMatch(text, /secret internal detail|at .*\.ts/);
      assert.equal(JSON.parse(text).error.code, "INTERNAL");
    });
  });
});
