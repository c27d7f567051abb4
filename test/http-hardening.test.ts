import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { gzipSync } from "node:zlib";
import express from "express";
import { errorHandler } from "../src/http/errors";
import { securityHeaders } from "../src/http/security-headers";
import { AppError } from "../src/services/errors";
import { ADMIN, type TestApp, testApp } from "./helpers/app";
import { listenOnLoopback } from "./helpers/listen";
import { deliverHive } from "./helpers/moderation";
import { bearer, json, login, register } from "./helpers/users";
import { deliver } from "./helpers/wallet";

/** The log lines (parsed) of one request id, once the request's line is written. */
async function logsOf(t: TestApp, requestId: string) {
  await new Promise((r) => setTimeout(r, 50));
  return t.logs.filter((l) => l.includes(requestId)).map((l) => JSON.parse(l));
}

async function assertEnvelope(res: Response, status: number, code?: string) {
  assert.equal(res.status, status, await res.clone().text());
  const body = await res.json();
  assert.equal(typeof body.error?.code, "string");
  assert.equal(typeof body.error?.message, "string");
  assert.ok(body.error.requestId, "requestId");
  if (code) assert.equal(body.error.code, code);
  return body;
}

/** Replaces `obj[name]` for one test; returns the restore function. */
function stub<T extends object, K extends keyof T>(obj: T, name: K, value: T[K]) {
  const original = obj[name];
  obj[name] = value;
  return () => void (obj[name] = original);
}

describe("HTTP hardening", () => {
  before(async function () {
    this.timeout(120_000); // the shared server boots here on a busy machine
    await testApp();
  });

  describe("bad input is a 4xx envelope, never a 500", () => {
    it("malformed percent-encoding in a path parameter → 400 MALFORMED_URL", async () => {
      const t = await testApp();
      await assertEnvelope(await t.fetch("/api/streams/%E0%A4%A"), 400, "MALFORMED_URL");
      await assertEnvelope(await t.fetch("/api/games/%zz"), 400, "MALFORMED_URL");
    });

    it("Content-Encoding gzip/deflate/br on a body that is not compressed → 400", async () => {
      const t = await testApp();
      for (const encoding of ["gzip", "deflate", "br"]) {
        const res = await t.fetch("/api/auth/login", {
          method: "POST",
          headers: { "Content-Type": "application/json", "Content-Encoding": encoding },
          body: JSON.stringify({ email: "a@b.test", password: "x" }),
        });
        await assertEnvelope(res, 400);
      }
      // A body that really is gzip still works (here: refused as bad credentials, i.e. it was read).
      const res = await t.fetch("/api/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" },
        body: gzipSync(JSON.stringify({ email: "nobody@arcadia.test", password: "Wrong-password-1" })),
      });
      assert.equal(res.status, 401);
    });

    it("NUL characters in a body, query or path field → 400 VALIDATION_FAILED naming the field", async () => {
      const t = await testApp();
      const user = await register(t);
      const purchase = await t.fetch("/api/tokens/purchase", json({ pack: "starter\u0000" }, bearer(user.accessToken)));
      const body = await assertEnvelope(purchase, 400, "VALIDATION_FAILED");
      assert.deepEqual(body.error.details[0], { in: "body", path: "pack", message: "must not contain NUL characters" });
      await assertEnvelope(
        await t.fetch("/api/auth/login", json({ email: "a\u0000@b.test", password: "x" })),
        400,
        "VALIDATION_FAILED",
      );
      await assertEnvelope(await t.fetch("/api/streams?before=%00"), 400, "VALIDATION_FAILED");
      await assertEnvelope(await t.fetch("/api/games/abc%00"), 400, "VALIDATION_FAILED");
    });

    it("NUL in a signed Hive event id → 400, nothing recorded", async () => {
      const t = await testApp();
      const user = await register(t);
      const res = await deliverHive(t, { id: "evt\u0000nul", userId: user.user.id, violation: false });
      await assertEnvelope(res, 400, "VALIDATION_FAILED");
    });

    it("NUL in the monitor login form → 400 page, not a 500", async () => {
      const t = await testApp();
      const res = await t.fetch("/monitor/login", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: "email=ops%00%40arcadia.test&password=x",
      });
      assert.equal(res.status, 400);
    });

    it("a year-0 `before` cursor → 400 on /api/streams and /api/matches", async () => {
      const t = await testApp();
      const user = await register(t);
      await assertEnvelope(await t.fetch("/api/streams?before=0000-01-01T00:00:00Z"), 400, "VALIDATION_FAILED");
      await assertEnvelope(
        await t.fetch("/api/matches?before=0000-06-01T00:00:00Z", { headers: bearer(user.accessToken) }),
        400,
        "VALIDATION_FAILED",
      );
      assert.equal((await t.fetch("/api/streams?before=0001-01-01T00:00:00Z")).status, 200);
    });

    it("a validly signed Stripe event without data.object or its id → 400, nothing credited", async () => {
      const t = await testApp();
      const type = "checkout.session.completed";
      for (const event of [
        { id: "evt_no_data", type },
        { id: "evt_no_object", type, data: {} },
        { id: "evt_no_object_id", type, data: { object: { payment_status: "paid" } } },
        { id: "evt_nul_id", type, data: { object: { id: "cs_\u0000", payment_status: "paid" } } },
      ]) {
        await assertEnvelope(await deliver(t, event), 400, "INVALID_EVENT");
      }
    });

    it("a URL over 16 KB → 431 in the error envelope", async () => {
      const t = await testApp();
      const res = await t.fetch(`/api/streams?pad=${"a".repeat(20_000)}`);
      const body = await assertEnvelope(res, 431, "HEADERS_TOO_LARGE");
      assert.equal(res.headers.get("x-request-id"), body.error.requestId);
      assert.equal((await t.fetch("/health")).status, 200);
    });

    it("an unparsable request line → 400 in the error envelope", async () => {
      const t = await testApp();
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(t.app.port, "127.0.0.1", () =>
          socket.end("GET /has space HTTP/1.1\r\nHost: x\r\n\r\n"),
        );
        let data = "";
        socket.on("data", (d: Buffer) => (data += d));
        socket.on("end", () => resolve(data));
        socket.on("error", reject);
      });
      assert.match(raw, /^HTTP\/1\.1 400 /);
      assert.equal(JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)).error.code, "BAD_REQUEST");
    });
  });

  describe("errors: bodies without stacks, logs at the right level", () => {
    it("an unexpected error answers a bare 500 envelope; the log has one error line with the stack", async () => {
      const t = await testApp();
      const restore = stub(t.app.services.streams, "listLive", async () => {
        throw new Error("secret internal detail");
      });
      try {
        const res = await t.fetch("/api/streams", { headers: { "X-Request-Id": "hardening-500-test" } });
        assert.equal(res.status, 500);
        const text = await res.text();
        assert.deepEqual(JSON.parse(text), {
          error: { code: "INTERNAL", message: "Internal server error", requestId: "hardening-500-test" },
        });
        assert.ok(!text.includes("secret internal detail") && !text.includes("/"), "no message or path");
        const lines = await logsOf(t, "hardening-500-test");
        const errors = lines.filter((l) => l.level === 50);
        assert.equal(errors.length, 1, JSON.stringify(lines));
        assert.match(errors[0].err.stack, /secret internal detail/);
      } finally {
        restore();
      }
    });

    it("an expected 503 (*_NOT_CONFIGURED) is logged once at warn, without a stack", async () => {
      const t = await testApp();
      const user = await register(t);
      const restore = stub(t.app.services.turn, "credentials", () => {
        throw new AppError(503, "TURN_NOT_CONFIGURED", "TURN is not configured on this server");
      });
      try {
        const res = await t.fetch("/api/turn/credentials", {
          method: "POST",
          headers: { ...bearer(user.accessToken), "X-Request-Id": "hardening-503-test" },
        });
        await assertEnvelope(res, 503, "TURN_NOT_CONFIGURED");
        const lines = await logsOf(t, "hardening-503-test");
        assert.deepEqual(
          lines.map((l) => l.level),
          [40],
        );
        assert.ok(!JSON.stringify(lines).includes('"stack"'), "no stack logged");
      } finally {
        restore();
      }
    });

    it("a 4xx is logged at warn without a stack", async () => {
      const t = await testApp();
      await t.fetch("/api/auth/me", { headers: { "X-Request-Id": "hardening-401-test" } });
      const lines = await logsOf(t, "hardening-401-test");
      assert.deepEqual(
        lines.map((l) => l.level),
        [40],
      );
      assert.ok(!JSON.stringify(lines).includes('"stack"'));
    });

    it("a dependency that is unreachable answers 503 UNAVAILABLE with Retry-After, logged at warn", async () => {
      const t = await testApp();
      const failures = [
        Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
        new Error("Command timed out"), // ioredis' commandTimeout: Redis hung
      ];
      for (const [i, failure] of failures.entries()) {
        const restore = stub(t.app.services.streams, "listLive", async () => {
          throw failure;
        });
        try {
          const id = `hardening-unavailable-test-${i}`;
          const res = await t.fetch("/api/streams", { headers: { "X-Request-Id": id } });
          await assertEnvelope(res, 503, "UNAVAILABLE");
          assert.ok(Number(res.headers.get("retry-after")) > 0);
          const lines = await logsOf(t, id);
          assert.ok(lines.length > 0 && lines.every((l) => l.level === 40), JSON.stringify(lines));
          assert.ok(!JSON.stringify(lines).includes('"stack"'));
        } finally {
          restore();
        }
      }
    });
  });

  describe("matchmaking auth failures (525) count as client errors", () => {
    it("keeps 525 for the SDK, but logs it at warn and labels it 4xx in the metrics", async () => {
      const t = await testApp();
      const res = await t.fetch("/matchmake/joinOrCreate/match_queue", {
        ...json({ region: "eu" }),
        headers: { "Content-Type": "application/json", "X-Request-Id": "hardening-525-test" },
      });
      assert.equal(res.status, 525);
      const lines = await logsOf(t, "hardening-525-test");
      assert.deepEqual(
        lines.map((l) => l.level),
        [40],
      );
      const metrics = await (await t.fetch("/metrics")).text();
      assert.match(
        metrics,
        /http_request_duration_seconds_count\{[^}]*route="\/matchmake\/:method\/:roomName",status="525",status_class="4xx"\} [1-9]/,
      );
    });
  });

  describe("security headers", () => {
    async function headersFixture(publicUrlIsHttps: boolean) {
      const app = express();
      app.set("trust proxy", 1);
      app.use(securityHeaders({ publicUrlIsHttps }));
      app.get("/", (_req, res) => res.send("ok"));
      app.use(errorHandler);
      return listenOnLoopback(http.createServer(app));
    }
    const hasHttpsOnly = (res: Response) => ({
      hsts: res.headers.get("strict-transport-security") !== null,
      upgrade: (res.headers.get("content-security-policy") ?? "").includes("upgrade-insecure-requests"),
    });

    it("over plain HTTP: no HSTS, no upgrade-insecure-requests (real server)", async () => {
      const t = await testApp();
      for (const path of ["/health", "/docs/", "/monitor/login"]) {
        assert.deepEqual(hasHttpsOnly(await t.fetch(path)), { hsts: false, upgrade: false }, path);
      }
    });

    it("behind a trusted proxy saying https, or with an https PUBLIC_URL: both are sent", async () => {
      const proxied = await headersFixture(false);
      const declared = await headersFixture(true);
      try {
        const plain = await fetch(proxied.url);
        assert.deepEqual(hasHttpsOnly(plain), { hsts: false, upgrade: false });
        const viaProxy = await fetch(proxied.url, { headers: { "X-Forwarded-Proto": "https" } });
        assert.deepEqual(hasHttpsOnly(viaProxy), { hsts: true, upgrade: true });
        assert.deepEqual(hasHttpsOnly(await fetch(declared.url)), { hsts: true, upgrade: true });
      } finally {
        await Promise.all([proxied.close(), declared.close()]);
      }
    });

    it("the CSP allows everything /docs and /monitor load", async () => {
      const t = await testApp();
      const admin = await login(ADMIN.email, ADMIN.password, t);
      for (const [path, headers] of [
        ["/docs/", {}],
        ["/monitor/", bearer(admin.accessToken)],
      ] as const) {
        const res = await t.fetch(path, { headers });
        assert.equal(res.status, 200, path);
        const csp = parseCsp(res.headers.get("content-security-policy") ?? "");
        const html = await res.text();
        for (const [, tag, url] of html.matchAll(/<(script|link)[^>]*(?:src|href)="([^"]+)"/g)) {
          const directive = tag === "script" ? "script-src" : "style-src";
          const allowed = csp[directive] ?? csp["default-src"];
          const origin = url.startsWith("http") ? new URL(url).origin : "'self'";
          assert.ok(allowed.includes(origin), `${path}: ${url} not allowed by ${directive} ${allowed.join(" ")}`);
        }
        // Material Icons' stylesheet pulls its font from fonts.gstatic.com.
        if (html.includes("fonts.googleapis.com")) assert.ok(csp["font-src"].includes("https:"), "font-src https:");
      }
    });
  });
});

function parseCsp(header: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const part of header.split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out[name] = values;
  }
  return out;
}
