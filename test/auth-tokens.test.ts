import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import jwt from "jsonwebtoken";
import { ACCESS_AUDIENCE, signAccessToken, TOKEN_ISSUER, verifyAccessToken } from "../src/services/access-tokens";
import { testApp } from "./helpers/app";
import { me, register } from "./helpers/users";

describe("access tokens", () => {
  it("are HS256 JWTs with iss, aud, typ, sub, role, ver and a 15-minute lifetime", async () => {
    const account = await register();
    const { header, payload } = jwt.decode(account.accessToken, { complete: true }) as jwt.Jwt & {
      payload: jwt.JwtPayload;
    };
    assert.equal(header.alg, "HS256");
    assert.equal(payload.iss, TOKEN_ISSUER);
    assert.equal(payload.aud, ACCESS_AUDIENCE);
    assert.equal(payload.typ, "access");
    assert.equal(payload.sub, account.user.id);
    assert.equal(payload.role, "user");
    assert.equal(payload.ver, 0);
    assert.equal(payload.exp! - payload.iat!, 900);
  });

  describe("verification rejects", () => {
    let secret: string;
    let userId: string;
    const claims = () => ({ sub: userId, role: "admin", ver: 0, typ: "access" });
    const sign = (payload: object, options: jwt.SignOptions = {}, key: jwt.Secret = secret) =>
      jwt.sign(payload, key, {
        algorithm: "HS256",
        issuer: TOKEN_ISSUER,
        audience: ACCESS_AUDIENCE,
        expiresIn: 600,
        ...options,
      });
    const rejected = async (token: string, code = "INVALID_TOKEN") => {
      const res = await me(token);
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error.code, code);
    };

    before(async () => {
      const { app } = await testApp();
      secret = app.config.JWT_SECRET;
      userId = (await register()).user.id;
    });

    it("a correctly signed token (control: the forgeries below differ in one thing each)", async () => {
      assert.equal((await me(sign({ ...claims(), role: "user" }))).status, 200);
    });

    it('alg "none"', async () => {
      const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
      const now = Math.floor(Date.now() / 1000);
      const body = Buffer.from(
        JSON.stringify({ ...claims(), iss: TOKEN_ISSUER, aud: ACCESS_AUDIENCE, iat: now, exp: now + 600 }),
      ).toString("base64url");
      await rejected(`${header}.${body}.`);
    });

    it("another HMAC algorithm with the right secret (HS512)", async () => {
      await rejected(sign(claims(), { algorithm: "HS512" }));
    });

    it("an asymmetric algorithm (RS256)", async () => {
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      await rejected(sign(claims(), { algorithm: "RS256" }, privateKey));
    });

    it("a wrong signature", async () => {
      await rejected(sign(claims(), {}, "x".repeat(48)));
    });

    it("a session or refresh token used as an access token", async () => {
      await rejected(sign({ ...claims(), typ: "session", sid: "s", gid: "g" }));
      await rejected(sign({ ...claims(), typ: "refresh" }));
      await rejected(sign({ sub: userId, role: "user", ver: 0 }));
      const account = await register();
      await rejected(account.refreshToken);
    });

    it("a wrong audience or issuer", async () => {
      await rejected(sign(claims(), { audience: "arcadia:session" }));
      await rejected(sign(claims(), { issuer: "someone-else" }));
    });

    it("an expired token", async () => {
      await rejected(sign(claims(), { expiresIn: -10 }), "TOKEN_EXPIRED");
    });

    it("a token version older than the user's", async () => {
      await rejected(sign({ ...claims(), ver: -1 }), "TOKEN_REVOKED");
    });

    it("a missing or malformed Authorization header", async () => {
      const { fetch } = await testApp();
      assert.equal((await fetch("/api/auth/me")).status, 401);
      assert.equal((await fetch("/api/auth/me", { headers: { Authorization: "Basic abc" } })).status, 401);
      assert.equal((await fetch("/api/auth/me", { headers: { Authorization: "Bearer not.a.jwt" } })).status, 401);
    });
  });

  it("a token verified once is still refused once it expires (verified tokens are remembered, not their validity)", () => {
    const secret = "remembered-token-test-secret-0123456789";
    const token = signAccessToken(secret, { sub: "00000000-0000-4000-8000-000000000001", role: "user", ver: 3 });
    const first = verifyAccessToken(secret, token);
    assert.deepEqual([first.sub, first.ver], ["00000000-0000-4000-8000-000000000001", 3]);
    assert.equal(verifyAccessToken(secret, token), first, "the second check is answered from memory");
    assert.throws(() => verifyAccessToken(`${secret}-other`, token), /Invalid access token/, "per secret");
    const realNow = Date.now;
    Date.now = () => realNow() + 16 * 60_000;
    try {
      assert.throws(
        () => verifyAccessToken(secret, token),
        (err: { code?: string }) => err.code === "TOKEN_EXPIRED",
      );
    } finally {
      Date.now = realNow;
    }
  });
});
