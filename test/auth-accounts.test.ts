import assert from "node:assert/strict";
import argon2 from "argon2";
import { User } from "../src/entities";
import { testApp } from "./helpers/app";
import { bearer, json, login, me, register, remember, strongPassword, uniqueEmail } from "./helpers/users";

describe("accounts", () => {
  it("registers: 201 with user, tokens and the refresh cookie", async () => {
    const { fetch } = await testApp();
    const email = uniqueEmail();
    const password = strongPassword();
    const res = await fetch("/api/auth/register", json({ email, password, displayName: "  Ada \u0007 Lovelace " }));
    assert.equal(res.status, 201);
    const body = await res.json();
    remember(body.accessToken);
    remember(body.refreshToken);
    assert.deepEqual(Object.keys(body).sort(), ["accessToken", "expiresIn", "refreshToken", "user"]);
    assert.equal(body.expiresIn, 900);
    assert.equal(body.user.email, email);
    assert.equal(body.user.displayName, "Ada Lovelace", "control characters stripped, whitespace collapsed");
    assert.equal(body.user.role, "user");
    assert.equal(body.user.isGuest, false);
    assert.ok(Date.parse(body.user.createdAt));
    const cookies = res.headers.getSetCookie();
    const refreshCookie = cookies.find((c) => c.startsWith("refresh_token="));
    assert.ok(refreshCookie);
    assert.match(refreshCookie, /HttpOnly/i);
    assert.match(refreshCookie, /SameSite=Strict/i);
    assert.match(refreshCookie, /Path=\/api\/auth/);
    assert.doesNotMatch(refreshCookie, /Secure/, "secure only in production");
    const meRes = await me(body.accessToken);
    assert.equal(meRes.status, 200);
    assert.equal((await meRes.json()).user.id, body.user.id);
  });

  it("normalises emails and keeps them unique", async () => {
    const { fetch } = await testApp();
    const email = uniqueEmail();
    const account = await register(undefined, { email: `  ${email.toUpperCase()} ` });
    assert.equal(account.user.email, email);
    const dup = await fetch("/api/auth/register", json({ email, password: strongPassword(), displayName: "Other" }));
    assert.equal(dup.status, 409);
    assert.equal((await dup.json()).error.code, "EMAIL_TAKEN");
    await login(email.toUpperCase(), account.password);
  });

  it("enforces the password policy with clear 400s", async () => {
    const { fetch } = await testApp();
    const attempt = (password: string, displayName = "Policy") =>
      fetch("/api/auth/register", json({ email: uniqueEmail(), password, displayName }));
    const tooLong = `${"violet tractor sings quietly at dawn ".repeat(4)}`.slice(0, 129);
    for (const bad of ["short7!", tooLong, "password123", "Password123", "qwertyuiop"]) {
      const res = await attempt(bad);
      assert.equal(res.status, 400, bad);
      assert.equal((await res.json()).error.code, "WEAK_PASSWORD", bad);
    }
    const longPassphrase = "violet tractor sings quietly at dawn beside forty amber lanterns";
    assert.equal(longPassphrase.length, 64);
    for (const good of [longPassphrase, tooLong.slice(0, 128), "correct-horse-battery-staple"]) {
      const res = await attempt(remember(good));
      assert.equal(res.status, 201, `${good.length} characters accepted: ${await res.clone().text()}`);
      const body = await res.json();
      remember(body.accessToken);
      remember(body.refreshToken);
    }
  });

  it("refuses guessable passwords that a short list let through, saying why", async () => {
    const { fetch } = await testApp();
    for (const bad of ["aaaaaaaa", "abcdefgh", "password123!"]) {
      const res = await fetch("/api/auth/register", json({ email: uniqueEmail(), password: bad, displayName: "Weak" }));
      assert.equal(res.status, 400, bad);
      const { error } = await res.json();
      assert.equal(error.code, "WEAK_PASSWORD", bad);
      assert.match(error.message, /too easy to guess: \S/, "the estimator's feedback is the message");
      assert.ok(error.details.score < 3 && Array.isArray(error.details.suggestions), bad);
    }
  });

  it("counts the user's own email and name as guessable words", async () => {
    const { fetch } = await testApp();
    const email = uniqueEmail("marguerite.yourcenar");
    const res = await fetch(
      "/api/auth/register",
      json({ email, password: "Marguerite Yourcenar", displayName: "Marguerite Yourcenar" }),
    );
    assert.equal(res.status, 400);
    const { error } = await res.json();
    assert.equal(error.code, "WEAK_PASSWORD");
    assert.match(error.message, /personal/);
  });

  it("stores argon2id hashes with OWASP parameters, and rehashes weaker ones on login", async () => {
    const { app } = await testApp();
    const account = await register();
    const users = app.dataSource.getRepository(User);
    const stored = await users.findOneByOrFail({ id: account.user.id });
    assert.match(stored.passwordHash!, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    const weak = await argon2.hash(account.password, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1 });
    await users.update({ id: account.user.id }, { passwordHash: weak });
    await login(account.email, account.password);
    const rehashed = await users.findOneByOrFail({ id: account.user.id });
    assert.match(rehashed.passwordHash!, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    assert.notEqual(rehashed.passwordHash, weak);
  });

  it("answers unknown email and wrong password alike, and both pay for a hash", async () => {
    const { fetch } = await testApp();
    const account = await register();
    const attempt = async (email: string) => {
      const started = performance.now();
      const res = await fetch("/api/auth/login", json({ email, password: "wrong-password-1" }));
      const body = await res.json();
      delete body.error.requestId;
      return { status: res.status, body, ms: performance.now() - started };
    };
    const wrong = [];
    const unknown = [];
    for (let i = 0; i < 3; i++) {
      wrong.push(await attempt(account.email));
      unknown.push(await attempt(uniqueEmail("nobody")));
    }
    assert.deepEqual(unknown[0].body, wrong[0].body);
    assert.equal(unknown[0].status, 401);
    assert.equal(wrong[0].status, 401);
    const median = (xs: { ms: number }[]) => xs.map((x) => x.ms).sort((a, b) => a - b)[1];
    // Not a speed target: proves the unknown-email path runs a real argon2 verification too.
    assert.ok(median(unknown) > median(wrong) * 0.5, `unknown ${median(unknown)} ms vs wrong ${median(wrong)} ms`);
  });

  describe("guests", () => {
    it("one guest account per device id", async () => {
      const { fetch } = await testApp();
      const deviceId = `device-${Date.now()}-a`;
      const first = await (await fetch("/api/auth/guest", json({ deviceId }))).json();
      const again = await (await fetch("/api/auth/guest", json({ deviceId }))).json();
      const other = await (await fetch("/api/auth/guest", json({ deviceId: `${deviceId}-b` }))).json();
      [first, again, other].forEach((b) => remember(b.refreshToken) && remember(b.accessToken));
      assert.equal(first.user.isGuest, true);
      assert.equal(first.user.id, again.user.id);
      assert.notEqual(first.user.id, other.user.id);
      assert.equal((await fetch("/api/auth/guest", json({ deviceId: "short" }))).status, 400);
    });

    it("a guest registers an email and keeps its id; the device then needs the email", async () => {
      const { fetch } = await testApp();
      const deviceId = `device-${Date.now()}-upgrade`;
      const guest = await (await fetch("/api/auth/guest", json({ deviceId }))).json();
      remember(guest.accessToken);
      const email = uniqueEmail("upgraded");
      const password = strongPassword();
      const res = await fetch(
        "/api/auth/register",
        json({ email, password, displayName: "Was Guest" }, bearer(guest.accessToken)),
      );
      assert.equal(res.status, 201);
      const upgraded = await res.json();
      remember(upgraded.accessToken);
      remember(upgraded.refreshToken);
      assert.equal(upgraded.user.id, guest.user.id);
      assert.equal(upgraded.user.isGuest, false);
      assert.equal(upgraded.user.email, email);
      const deviceLogin = await fetch("/api/auth/guest", json({ deviceId }));
      assert.equal(deviceLogin.status, 409);
      assert.equal((await deviceLogin.json()).error.code, "DEVICE_REGISTERED");
      assert.equal((await login(email, password)).user.id, guest.user.id);
    });
  });

  describe("profiles", () => {
    it("others see the public profile, the user and admins see contact details", async () => {
      const { fetch } = await testApp();
      const alice = await register();
      const bob = await register();
      const asBob = await (await fetch(`/api/users/${alice.user.id}`, { headers: bearer(bob.accessToken) })).json();
      assert.equal(asBob.displayName, "Player One");
      assert.equal(asBob.email, undefined);
      const asAlice = await (await fetch(`/api/users/${alice.user.id}`, { headers: bearer(alice.accessToken) })).json();
      assert.equal(asAlice.email, alice.email);
      assert.equal((await fetch(`/api/users/${alice.user.id}`)).status, 401);
      assert.equal((await fetch(`/api/users/not-a-uuid`, { headers: bearer(bob.accessToken) })).status, 400);
    });

    it("only the user or an admin may edit", async () => {
      const { fetch } = await testApp();
      const alice = await register();
      const bob = await register();
      const put = (token: string, body: unknown) =>
        fetch(`/api/users/${alice.user.id}`, { ...json(body, bearer(token)), method: "PUT" });
      assert.equal((await put(bob.accessToken, { displayName: "Hacked" })).status, 403);
      const ok = await put(alice.accessToken, { displayName: "Alice" });
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).displayName, "Alice");
    });

    it("rejects mass assignment of privileged fields and changes nothing", async () => {
      const { fetch, app } = await testApp();
      const alice = await register();
      for (const field of [
        { role: "admin" },
        { isGuest: true },
        { tokenVersion: 99 },
        { balance: 1000 },
        { email: "x@y.z" },
      ]) {
        const res = await fetch(`/api/users/${alice.user.id}`, {
          ...json({ displayName: "Sneaky", ...field }, bearer(alice.accessToken)),
          method: "PUT",
        });
        assert.equal(res.status, 400, JSON.stringify(field));
      }
      const before = await app.dataSource.getRepository(User).countBy({});
      const reg = await fetch(
        "/api/auth/register",
        json({ email: uniqueEmail(), password: strongPassword(), displayName: "Mallory", role: "admin" }),
      );
      assert.equal(reg.status, 400);
      assert.equal(await app.dataSource.getRepository(User).countBy({}), before, "no account created");
      const stored = await app.dataSource.getRepository(User).findOneByOrFail({ id: alice.user.id });
      assert.equal(stored.role, "user");
      assert.equal(stored.displayName, "Player One");
      assert.equal(stored.tokenVersion, 0);
    });

    it("deleting anonymises the account and ends every session", async () => {
      const { fetch, app } = await testApp();
      const alice = await register();
      const bob = await register();
      assert.equal(
        (await fetch(`/api/users/${alice.user.id}`, { method: "DELETE", headers: bearer(bob.accessToken) })).status,
        403,
      );
      const del = await fetch(`/api/users/${alice.user.id}`, { method: "DELETE", headers: bearer(alice.accessToken) });
      assert.equal(del.status, 204);
      assert.equal((await me(alice.accessToken)).status, 401);
      assert.equal((await fetch("/api/auth/refresh", json({ refreshToken: alice.refreshToken }))).status, 401);
      assert.equal(
        (await fetch("/api/auth/login", json({ email: alice.email, password: alice.password }))).status,
        401,
      );
      const stored = await app.dataSource.getRepository(User).findOneByOrFail({ id: alice.user.id });
      assert.equal(stored.email, null);
      assert.equal(stored.passwordHash, null);
      assert.equal(stored.displayName, "Deleted user");
      assert.ok(stored.deletedAt);
      const publicView = await (
        await fetch(`/api/users/${alice.user.id}`, { headers: bearer(bob.accessToken) })
      ).json();
      assert.equal(publicView.displayName, "Deleted user");
    });
  });
});
