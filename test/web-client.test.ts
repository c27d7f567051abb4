import assert from "node:assert/strict";
import http from "node:http";
import express from "express";
import { Api } from "../src/http/api";
import { errorHandler, notFoundHandler } from "../src/http/errors";
import { createRegistry } from "../src/http/openapi";
import { registerDemoRoutes } from "../src/http/routes/demo";
import { DemoTokens } from "../src/services/demo-tokens";
import { testApp } from "./helpers/app";
import { listenOnLoopback } from "./helpers/listen";
import { bearer, json, register } from "./helpers/users";

describe("web client", () => {
  it("serves the page at / with its own CSP: no inline script, WebSockets to this host, blob: media", async () => {
    const t = await testApp();
    const res = await t.fetch("/");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/html/);
    const html = await res.text();
    assert.match(html, /<script defer src="\/app.js"><\/script>/);
    assert.doesNotMatch(html, /<script>(?!<)/, "no inline script");
    const csp = res.headers.get("content-security-policy")!;
    const host = new URL(t.baseUrl).host;
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, new RegExp(`connect-src 'self' ws://${host} wss://${host}`));
    assert.match(csp, /media-src 'self' blob:/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  });

  it("bundles the client once (esbuild) and serves /app.js and /app.css with ETags; no source map outside development", async () => {
    const t = await testApp();
    const js = await t.fetch("/app.js");
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type")!, /^text\/javascript/);
    const body = await js.text();
    assert.ok(body.length > 10_000, "the bundle carries the SDK and the screens");
    assert.doesNotMatch(body, /sourceMappingURL/, "minified, no map in test/production");
    const etag = js.headers.get("etag")!;
    assert.equal((await t.fetch("/app.js", { headers: { "If-None-Match": etag } })).status, 304);
    assert.equal((await t.fetch("/app.js")).headers.get("etag"), etag, "built once, cached in memory");
    const css = await t.fetch("/app.css");
    assert.equal(css.status, 200);
    assert.match(css.headers.get("content-type")!, /^text\/css/);
    assert.equal((await t.fetch("/app.js.map")).status, 404);
  });

  it("a hostile Host header never reaches the CSP", async () => {
    const t = await testApp();
    const { port } = new URL(t.baseUrl);
    const csp = await new Promise<string>((resolve, reject) =>
      http
        .get({ host: "127.0.0.1", port, path: "/", headers: { Host: "evil.test; script-src *" } }, (res) => {
          res.resume();
          resolve(String(res.headers["content-security-policy"]));
        })
        .on("error", reject),
    );
    assert.doesNotMatch(csp, /evil|script-src \*/);
    assert.match(csp, /connect-src 'self'(;|$)/);
  });
});

describe("demo tokens (outside production)", () => {
  it("tops a wallet up to 100 tokens, never beyond; needs a bearer", async () => {
    const t = await testApp();
    const a = await register(t);
    const first = await t.fetch("/api/dev/demo-tokens", json({}, bearer(a.accessToken)));
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { granted: 100, balance: 100 });
    const again = await t.fetch("/api/dev/demo-tokens", json({}, bearer(a.accessToken)));
    assert.deepEqual(await again.json(), { granted: 0, balance: 100 });
    assert.equal(await t.app.services.wallet.balance(a.user.id), 100);
    assert.equal((await t.fetch("/api/dev/demo-tokens", json({}))).status, 401);
  });

  it("do not exist in production: the route is not registered (404) and the service refuses", async () => {
    const t = await testApp();
    const a = await register(t);
    const answer = async (isProduction: boolean) => {
      const app = express();
      const api = new Api(app, createRegistry(), 1024);
      registerDemoRoutes(api, t.app.services, { isProduction });
      app.use(notFoundHandler, errorHandler);
      const server = await listenOnLoopback(http.createServer(app));
      try {
        return (await fetch(`${server.url}/api/dev/demo-tokens`, json({}, bearer(a.accessToken)))).status;
      } finally {
        await server.close();
      }
    };
    assert.equal(await answer(false), 200, "the same app outside production has the route");
    assert.equal(await answer(true), 404);
    await assert.rejects(new DemoTokens(t.app.services.wallet, true).topUp(a.user.id), { status: 404 });
    assert.equal(await t.app.services.wallet.balance(a.user.id), 100, "only the development grant landed");
  });
});
