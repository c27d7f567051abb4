import assert from "node:assert/strict";
import { type Client as ColyseusClient, matchMaker, Room } from "@colyseus/core";
import jwt from "jsonwebtoken";
import { ACCESS_AUDIENCE, TOKEN_ISSUER } from "../src/services/access-tokens";
import { authenticateRoomClient, authenticateRoomClientWithRole, type RoomAuth } from "../src/rooms/auth";
import { ADMIN, testApp } from "./helpers/app";
import { bearer, login, register } from "./helpers/users";

/** A probe room using the shared onAuth, defined only for this test. */
class AuthProbeRoom extends Room {
  static onAuth = authenticateRoomClient;
  onJoin(client: ColyseusClient, _options: unknown, auth: RoomAuth) {
    client.send("whoami", auth);
  }
}

class ModeratorProbeRoom extends Room {
  static onAuth = (token: string) => authenticateRoomClientWithRole(token, ["moderator", "admin"]);
}

describe("room authentication (shared onAuth, real SDK clients)", () => {
  before(async () => {
    await testApp();
    matchMaker.defineRoomType("auth_probe", AuthProbeRoom);
    matchMaker.defineRoomType("moderator_probe", ModeratorProbeRoom);
  });
  after(() => {
    matchMaker.removeRoomType("auth_probe");
    matchMaker.removeRoomType("moderator_probe");
  });

  const joinWith = async (token?: string) => {
    const client = (await testApp()).sdk();
    if (token) client.auth.token = token;
    return client.joinOrCreate("auth_probe");
  };

  it("admits a signed-in user and puts {userId, role, displayName, languages} on the client", async () => {
    const account = await register(undefined, { displayName: "Room Tester" });
    const room = await joinWith(account.accessToken);
    try {
      const whoami = await new Promise((resolve) => room.onMessage("whoami", resolve));
      assert.deepEqual(whoami, { userId: account.user.id, role: "user", displayName: "Room Tester", languages: [] });
    } finally {
      await room.leave();
    }
  });

  it("refuses a join without a token", async () => {
    await assert.rejects(joinWith(), /UNAUTHORIZED/);
  });

  it("refuses an expired token", async () => {
    const { app } = await testApp();
    const account = await register();
    const expired = jwt.sign({ role: "user", ver: 0, typ: "access" }, app.config.JWT_SECRET, {
      algorithm: "HS256",
      subject: account.user.id,
      issuer: TOKEN_ISSUER,
      audience: ACCESS_AUDIENCE,
      expiresIn: -5,
    });
    await assert.rejects(joinWith(expired), /TOKEN_EXPIRED/);
  });

  it("refuses a token revoked by logout-all", async () => {
    const { fetch } = await testApp();
    const account = await register();
    const room = await joinWith(account.accessToken);
    await room.leave();
    assert.equal(
      (await fetch("/api/auth/logout-all", { method: "POST", headers: bearer(account.accessToken) })).status,
      204,
    );
    await assert.rejects(joinWith(account.accessToken), /TOKEN_REVOKED/);
  });

  it("refuses a refresh token or garbage in place of an access token", async () => {
    const account = await register();
    await assert.rejects(joinWith(account.refreshToken), /INVALID_TOKEN/);
    await assert.rejects(joinWith("garbage"), /INVALID_TOKEN/);
  });

  it("the role check admits moderators and admins only", async () => {
    const join = async (token: string) => {
      const client = (await testApp()).sdk();
      client.auth.token = token;
      return client.joinOrCreate("moderator_probe");
    };
    await assert.rejects(join((await register()).accessToken), /FORBIDDEN/);
    const room = await join((await login(ADMIN.email, ADMIN.password)).accessToken);
    await room.leave();
  });
});
