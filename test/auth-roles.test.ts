import assert from "node:assert/strict";
import http from "node:http";
import { User } from "../src/entities";
import { LOGIN_THROTTLE } from "../src/services/auth";
import { ADMIN, type TestApp, testApp } from "./helpers/app";
import { bearer, json, login, me, register, remember, uniqueEmail } from "./helpers/users";

describe("roles, admin and brute force", () => {
  before(() => remember(ADMIN.password));

  it("ADMIN_EMAIL / ADMIN_PASSWORD created the admin account at start", async () => {
    const admin = await login(ADMIN.email, ADMIN.password);
    assert.equal(admin.user.role, "admin");
  });

  describe("/monitor", () => {
    it("401 without credentials (a sign-in form for browsers)", async () => {
      const { fetch } = await testApp();
      const api = await fetch("/monitor/", { headers: { Accept: "application/json" } });
      assert.equal(api.status, 401);
      assert.equal((await api.json()).error.code, "UNAUTHORIZED");
      const page = await fetch("/monitor/", { headers: { Accept: "text/html" } });
      assert.equal(page.status, 401);
      assert.match(await page.text(), /<form method="post" action="\/monitor\/login">/);
    });

    it("403 for a signed-in non-admin", async () => {
      const { fetch } = await testApp();
      const user = await register();
      assert.equal((await fetch("/monitor/", { headers: bearer(user.accessToken) })).status, 403);
    });

    it("serves the panel and its API to an admin bearer", async () => {
      const { fetch } = await testApp();
      const admin = await login(ADMIN.email, ADMIN.password);
      const page = await fetch("/monitor/", { headers: bearer(admin.accessToken) });
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /html/);
      const rooms = await fetch("/monitor/api", { headers: bearer(admin.accessToken) });
      assert.equal(rooms.status, 200);
      assert.ok(Array.isArray((await rooms.json()).rooms));
    });

    it("accepts the admin_session cookie set by /api/auth/login, scoped to /monitor", async () => {
      const { fetch } = await testApp();
      const res = await fetch("/api/auth/login", json({ email: ADMIN.email, password: ADMIN.password }));
      const body = await res.json();
      remember(body.accessToken);
      remember(body.refreshToken);
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith("admin_session="))!;
      assert.match(cookie, /Path=\/monitor/);
      assert.match(cookie, /HttpOnly/i);
      assert.match(cookie, /SameSite=Strict/i);
      const page = await fetch("/monitor/api", { headers: { Cookie: cookie.split(";")[0] } });
      assert.equal(page.status, 200);
      const user = await fetch("/api/auth/login", json({ email: (await register()).email, password: "x" }));
      assert.ok(!user.headers.getSetCookie().some((c) => c.startsWith("admin_session=")));
    });

    it("the sign-in form sets the cookie for admins only", async () => {
      const { fetch } = await testApp();
      const form = (email: string, password: string) =>
        fetch("/monitor/login", {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ email, password }).toString(),
          redirect: "manual",
        });
      const ok = await form(ADMIN.email, ADMIN.password);
      assert.equal(ok.status, 303);
      assert.equal(ok.headers.get("location"), "/monitor/");
      const cookie = ok.headers.getSetCookie().find((c) => c.startsWith("admin_session="))!;
      remember(cookie.split(";")[0].split("=")[1]);
      assert.equal((await fetch("/monitor/api", { headers: { Cookie: cookie.split(";")[0] } })).status, 200);
      const user = await register();
      assert.equal((await form(user.email, user.password)).status, 403);
      assert.equal((await form(ADMIN.email, "wrong-password")).status, 401);
    });
  });

  describe("brute force", () => {
    const { perSource, perAccount } = LOGIN_THROTTLE;
    it(`locks an account after ${perSource.maxFailures} failed logins, even for the right password`, async () => {
      const { fetch } = await testApp();
      const victim = await register();
      const attempt = (password: string) => fetch("/api/auth/login", json({ email: victim.email, password }));
      for (let i = 1; i < perSource.maxFailures; i++) assert.equal((await attempt(`wrong-${i}`)).status, 401);
      const locked = await attempt("wrong-last");
      assert.equal(locked.status, 429);
      assert.equal((await locked.json()).error.code, "ACCOUNT_LOCKED");
      const retryAfter = Number(locked.headers.get("retry-after"));
      assert.ok(retryAfter > 0 && retryAfter <= perSource.windowSec);
      const right = await attempt(victim.password);
      assert.equal(right.status, 429, "the right password does not open a locked account");
    });

    it("locks unknown emails the same way (no account enumeration)", async () => {
      const { fetch } = await testApp();
      const email = uniqueEmail("ghost");
      let last = 0;
      for (let i = 0; i < perSource.maxFailures; i++)
        last = (await fetch("/api/auth/login", json({ email, password: "nope-nope" }))).status;
      assert.equal(last, 429);
    });

    it("a success resets the failure count", async () => {
      const { fetch } = await testApp();
      const user = await register();
      for (let i = 0; i < perSource.maxFailures - 1; i++)
        await fetch("/api/auth/login", json({ email: user.email, password: "bad-pass" }));
      await login(user.email, user.password);
      assert.equal((await fetch("/api/auth/login", json({ email: user.email, password: "bad-pass" }))).status, 401);
    });

    it("a parallel burst cannot pass the limit: the right password among the attempts past it is refused", async () => {
      const { fetch } = await testApp();
      const victim = await register();
      const passwords = Array.from({ length: 100 }, (_, i) => (i === 60 ? victim.password : `wrong-${i}`));
      const responses = await Promise.all(
        passwords.map((password) => fetch("/api/auth/login", json({ email: victim.email, password }))),
      );
      const statuses = responses.map((r) => r.status);
      assert.equal(statuses[60], 429, "the right password at position 61 arrives past the threshold");
      const verified = statuses.filter((s) => s !== 429).length;
      assert.ok(verified <= perSource.maxFailures, `${verified} attempts reached the password check`);
      assert.equal(
        (await fetch("/api/auth/login", json({ email: victim.email, password: victim.password }))).status,
        429,
      );
    });

    it("failures from one address do not lock the account for another address", async () => {
      const t = await testApp();
      const victim = await register();
      let last = 0;
      for (let i = 0; i < perSource.maxFailures; i++)
        last = (await loginFrom(t, "127.0.0.2", victim.email, `wrong-${i}`)).status;
      assert.equal(last, 429);
      assert.equal((await loginFrom(t, "127.0.0.2", victim.email, victim.password)).status, 429);
      const elsewhere = await loginFrom(t, "127.0.0.3", victim.email, victim.password);
      assert.equal(elsewhere.status, 200, "the owner still logs in from their own address");
      remember(elsewhere.body.accessToken);
      remember(elsewhere.body.refreshToken);
    });

    it(`takes at most ${perAccount.maxFailures} failures per account from all addresses, then every address waits`, async () => {
      const t = await testApp();
      const victim = await register();
      const sources = Math.ceil(perAccount.maxFailures / (perSource.maxFailures - 1));
      let failures = 0;
      for (let s = 0; s < sources; s++) {
        // Just under each address's own lock, in parallel per address.
        const batch = Math.min(perSource.maxFailures - 1, perAccount.maxFailures - failures);
        const statuses = await Promise.all(
          Array.from({ length: batch }, (_, i) => loginFrom(t, `127.0.1.${s + 1}`, victim.email, `wrong-${s}-${i}`)),
        );
        assert.ok(
          statuses.every((r) => r.status === 401),
          JSON.stringify(statuses.map((r) => r.status)),
        );
        failures += batch;
      }
      assert.equal(failures, perAccount.maxFailures);
      const fresh = await loginFrom(t, "127.0.2.1", victim.email, victim.password);
      assert.equal(fresh.status, 429);
      assert.equal(fresh.body.error.code, "ACCOUNT_THROTTLED");
      const retryAfter = Number(fresh.headers["retry-after"]);
      assert.ok(retryAfter > 0 && retryAfter <= perAccount.windowSec);
    }).timeout(90_000); // a hundred argon2 verifications on a shared machine

    it("applies the stricter per-IP auth limit on /api/auth/*", async () => {
      const { fetch, app } = await testApp();
      assert.ok(app.config.AUTH_RATE_LIMIT_MAX < app.config.RATE_LIMIT_MAX);
      const auth = await fetch("/api/auth/me");
      assert.match(auth.headers.get("ratelimit-policy") ?? "", new RegExp(`q=${app.config.AUTH_RATE_LIMIT_MAX};`));
      const other = await fetch("/docs/openapi.json");
      assert.match(other.headers.get("ratelimit-policy") ?? "", new RegExp(`q=${app.config.RATE_LIMIT_MAX};`));
    });
  });

  it("start-up updates an existing ADMIN_EMAIL account: password, role, and its old sessions end", async () => {
    const { app } = await testApp();
    const account = await register();
    const newPassword = remember(`Admin-${Date.now()}-pw`);
    await app.services.users.ensureAdmin(account.email.toUpperCase(), newPassword);
    assert.equal((await me(account.accessToken)).status, 401, "sessions from before the change end");
    const admin = await login(account.email, newPassword);
    assert.equal(admin.user.role, "admin");
    assert.equal((await me(admin.accessToken)).status, 200);
    await app.services.users.ensureAdmin(account.email, newPassword);
    assert.equal((await me(admin.accessToken)).status, 200, "an unchanged admin keeps its sessions");
  });

  it("two processes starting at once with a new ADMIN_EMAIL both start; one admin account", async () => {
    const { app } = await testApp();
    const email = uniqueEmail("admin");
    const password = remember(`Admin-${Date.now()}-pw`);
    await Promise.all([
      app.services.users.ensureAdmin(email, password),
      app.services.users.ensureAdmin(email, password),
    ]);
    assert.deepEqual(await app.dataSource.query(`SELECT role FROM users WHERE email = $1`, [email]), [
      { role: "admin" },
    ]);
  });

  it("role changes take effect on the next request", async () => {
    const { app, fetch } = await testApp();
    const user = await register();
    await app.dataSource.getRepository(User).update({ id: user.user.id }, { role: "admin" });
    await app.services.authState.invalidate(user.user.id);
    assert.equal((await fetch("/monitor/api", { headers: bearer(user.accessToken) })).status, 200);
  });
});

/** A login sent from a chosen loopback address (the whole 127.0.0.0/8 is local on Linux). */
function loginFrom(t: TestApp, localAddress: string, email: string, password: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>((resolve, reject) => {
    const req = http.request(
      `${t.baseUrl}/api/auth/login`,
      { method: "POST", localAddress, headers: { "Content-Type": "application/json" } },
      (res) => {
        let raw = "";
        res.on("data", (c) => (raw += c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(raw) }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ email, password }));
  });
}
