import assert from "node:assert/strict";
import { testApp } from "./helpers/app";
import { bearer, json, login, me, refresh, register, remember, strongPassword } from "./helpers/users";

describe("sessions: refresh, logout, password change", () => {
  describe("refresh-token rotation", () => {
    it("spends the token and returns a new pair", async () => {
      const account = await register();
      const first = await refresh(account.refreshToken);
      assert.equal(first.status, 200);
      assert.notEqual(first.body.refreshToken, account.refreshToken);
      assert.equal(first.body.user.id, account.user.id);
      assert.equal((await me(first.body.accessToken)).status, 200);
      const second = await refresh(first.body.refreshToken);
      assert.equal(second.status, 200);
    });

    it("reuse of a spent token is refused and kills the fresh token issued after it (RFC 9700 §4.14.2)", async () => {
      const account = await register();
      const rotated = await refresh(account.refreshToken);
      assert.equal(rotated.status, 200);
      const replay = await refresh(account.refreshToken);
      assert.equal(replay.status, 401);
      assert.equal(replay.body.error.code, "REFRESH_TOKEN_REUSED");
      const victim = await refresh(rotated.body.refreshToken);
      assert.equal(victim.status, 401);
      assert.equal(victim.body.error.code, "REFRESH_TOKEN_REVOKED");
    });

    it("reuse revokes only that login's family", async () => {
      const account = await register();
      const otherLogin = await login(account.email, account.password);
      await refresh(account.refreshToken);
      await refresh(account.refreshToken); // reuse
      assert.equal((await refresh(otherLogin.refreshToken)).status, 200);
    });

    it("two truly concurrent refreshes of one token: one wins, the other is reuse and the family dies", async () => {
      const account = await register();
      const results = await Promise.all([refresh(account.refreshToken), refresh(account.refreshToken)]);
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 401]);
      const winner = results.find((r) => r.status === 200)!;
      const loser = results.find((r) => r.status === 401)!;
      assert.equal(loser.body.error.code, "REFRESH_TOKEN_REUSED");
      assert.equal((await refresh(winner.body.refreshToken)).status, 401, "the winner's new token is revoked too");
    });

    it("unknown and malformed tokens are 401", async () => {
      assert.equal((await refresh("rt_unknown")).status, 401);
      const { fetch } = await testApp();
      assert.equal((await fetch("/api/auth/refresh", json({}))).status, 401);
    });
  });

  describe("the refresh cookie", () => {
    const cookieOf = (res: Response, name: string) =>
      res.headers
        .getSetCookie()
        .find((c) => c.startsWith(`${name}=`))!
        .split(";")[0];

    it("works from an allowed Origin, and is refused cross-site without a CSRF token", async () => {
      const { fetch } = await testApp();
      const res = await fetch("/api/auth/login", json({ email: (await register()).email, password: "" }));
      assert.equal(res.status, 401);
      const account = await register();
      const loginRes = await fetch("/api/auth/login", json({ email: account.email, password: account.password }));
      remember((await loginRes.json()).accessToken);
      const refreshCookie = cookieOf(loginRes, "refresh_token");
      const csrfCookie = cookieOf(loginRes, "csrf_token");
      remember(refreshCookie.split("=")[1]);

      const crossSite = await fetch("/api/auth/refresh", {
        method: "POST",
        headers: { Cookie: refreshCookie, Origin: "https://evil.test" },
      });
      assert.equal(crossSite.status, 403);
      assert.equal((await crossSite.json()).error.code, "CSRF_FAILED");
      const noOrigin = await fetch("/api/auth/refresh", { method: "POST", headers: { Cookie: refreshCookie } });
      assert.equal(noOrigin.status, 403);

      const allowed = await fetch("/api/auth/refresh", {
        method: "POST",
        headers: { Cookie: refreshCookie, Origin: "https://game.arcadia.test" },
      });
      assert.equal(allowed.status, 200);
      const body = await allowed.json();
      remember(body.accessToken);
      remember(body.refreshToken);
      const nextCookie = cookieOf(allowed, "refresh_token");
      assert.equal(nextCookie, `refresh_token=${body.refreshToken}`, "the cookie rotates with the token");

      const doubleSubmit = await fetch("/api/auth/refresh", {
        method: "POST",
        headers: { Cookie: `${nextCookie}; ${csrfCookie}`, "X-CSRF-Token": csrfCookie.split("=")[1] },
      });
      assert.equal(doubleSubmit.status, 200);
      remember((await doubleSubmit.json()).refreshToken);
    });
  });

  describe("logout", () => {
    it("with the refresh token revokes that login only", async () => {
      const { fetch } = await testApp();
      const account = await register();
      const other = await login(account.email, account.password);
      const res = await fetch("/api/auth/logout", json({ refreshToken: account.refreshToken }));
      assert.equal(res.status, 204);
      assert.equal((await refresh(account.refreshToken)).status, 401);
      assert.equal((await refresh(other.refreshToken)).status, 200);
    });

    it("with only the bearer revokes the bearer's login", async () => {
      const { fetch } = await testApp();
      const account = await register();
      const res = await fetch("/api/auth/logout", { method: "POST", headers: bearer(account.accessToken) });
      assert.equal(res.status, 204);
      assert.equal((await refresh(account.refreshToken)).status, 401);
      assert.equal((await fetch("/api/auth/logout", { method: "POST" })).status, 401);
    });

    it("logout-all: every access and refresh token of the user fails at once", async () => {
      const { fetch } = await testApp();
      const account = await register();
      const second = await login(account.email, account.password);
      assert.equal((await me(second.accessToken)).status, 200, "token cached as valid before");
      const res = await fetch("/api/auth/logout-all", { method: "POST", headers: bearer(account.accessToken) });
      assert.equal(res.status, 204);
      for (const token of [account.accessToken, second.accessToken]) {
        const r = await me(token);
        assert.equal(r.status, 401);
        assert.equal((await r.json()).error.code, "TOKEN_REVOKED");
      }
      assert.equal((await refresh(account.refreshToken)).status, 401);
      assert.equal((await refresh(second.refreshToken)).status, 401);
      assert.equal(
        (await me((await login(account.email, account.password)).accessToken)).status,
        200,
        "new logins work",
      );
    });
  });

  describe("change-password", () => {
    it("checks the current password and the policy, then ends other sessions", async () => {
      const { fetch } = await testApp();
      const account = await register();
      const change = (currentPassword: string, newPassword: string) =>
        fetch("/api/auth/change-password", json({ currentPassword, newPassword }, bearer(account.accessToken)));
      const wrong = await change("not-the-password", strongPassword());
      assert.equal(wrong.status, 403);
      const weak = await change(account.password, "password1");
      assert.equal(weak.status, 400);
      assert.equal((await weak.json()).error.code, "WEAK_PASSWORD");
      const newPassword = strongPassword();
      assert.equal((await change(account.password, newPassword)).status, 204);
      assert.equal((await me(account.accessToken)).status, 401);
      assert.equal((await refresh(account.refreshToken)).status, 401);
      assert.equal(
        (await fetch("/api/auth/login", json({ email: account.email, password: account.password }))).status,
        401,
      );
      await login(account.email, newPassword);
    });
  });
});
