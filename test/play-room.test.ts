import assert from "node:assert/strict";
import type { Room } from "@colyseus/sdk";
import { PlaySession } from "../src/entities";
import { testApp, type TestApp } from "./helpers/app";
import { demoGame, heartbeat, sleep, startSession } from "./helpers/play";
import { type Account, register, remember } from "./helpers/users";
import { fund } from "./helpers/wallet";

const next = <T>(room: Room, type: string) => new Promise<T>((resolve) => room.onMessage(type, resolve));

describe("play_session room (SDK door)", () => {
  let t: TestApp;
  let player: Account;
  beforeEach(async () => {
    t = await testApp();
    player = await register();
  });
  const sdkFor = (account: Account) => {
    const client = t.sdk();
    client.auth.token = account.accessToken;
    return client;
  };

  it("the player joins the room made by /api/play/start, heartbeats and stops by message", async () => {
    const game = await demoGame(t, "demo-arcade");
    const { body } = await startSession(t, player.accessToken, game.id);
    const room = await sdkFor(player).joinById(body.roomId);
    try {
      const first = await next<{ sessionId: string; sessionToken: string }>(room, "session");
      remember(first.sessionToken);
      assert.equal(first.sessionId, body.sessionId);
      assert.equal(room.state.sessionId, body.sessionId);
      assert.equal(room.state.status, "live");
      assert.ok(room.state.expiresAt > Date.now());

      const rolled = next<{ sessionToken: string }>(room, "session");
      room.send("heartbeat");
      const second = await rolled;
      remember(second.sessionToken);
      assert.notEqual(second.sessionToken, first.sessionToken);

      const endedMsg = next<{ reason: string; charged: number }>(room, "session:ended");
      room.send("stop");
      assert.equal((await endedMsg).reason, "stopped");
      const row = await t.app.dataSource.getRepository(PlaySession).findOneByOrFail({ id: body.sessionId });
      assert.equal(row.status, "stopped");
    } finally {
      if (room.connection.isOpen) await room.leave();
    }
  });

  it("an HTTP heartbeat reaches the room (one implementation for both doors)", async () => {
    const game = await demoGame(t, "demo-arcade");
    const { body } = await startSession(t, player.accessToken, game.id);
    const room = await sdkFor(player).joinById(body.roomId);
    try {
      await next(room, "session");
      const before = room.state.lastHeartbeatAt;
      await sleep(20);
      const patched = new Promise<void>((resolve) =>
        room.onStateChange(() => room.state.lastHeartbeatAt > before && resolve()),
      );
      assert.equal((await heartbeat(t, body.sessionToken)).status, 200);
      await patched;
      assert.ok(room.state.lastHeartbeatAt > before);
    } finally {
      await room.leave();
    }
  });

  it("another user cannot join someone's session room", async () => {
    const game = await demoGame(t, "demo-arcade");
    const { body } = await startSession(t, player.accessToken, game.id);
    const intruder = await register();
    await assert.rejects(sdkFor(intruder).joinById(body.roomId), /FORBIDDEN|another player/);
    await assert.rejects(t.sdk().joinById(body.roomId), /UNAUTHORIZED/);
  });

  it('create("play_session", {gameId}) starts a session from the SDK', async () => {
    const game = await demoGame(t, "demo-arcade");
    const room = await sdkFor(player).create("play_session", { gameId: game.id });
    try {
      const grant = await next<{ sessionId: string; sessionToken: string }>(room, "session");
      remember(grant.sessionToken);
      const row = await t.app.dataSource.getRepository(PlaySession).findOneByOrFail({ id: grant.sessionId });
      assert.equal(row.userId, player.user.id);
      assert.equal(row.roomId, room.roomId);
      assert.equal((await heartbeat(t, grant.sessionToken)).status, 200, "the HTTP door finds the SDK-made room");
      const second = await startSession(t, player.accessToken, game.id);
      assert.equal(second.status, 409);
    } finally {
      await room.leave();
    }
  });

  it("the SDK door refuses a paid game without funds, with the reason", async () => {
    const game = await demoGame(t, "whack-arena-deluxe");
    await assert.rejects(sdkFor(player).create("play_session", { gameId: game.id }), /INSUFFICIENT_FUNDS/);
  });

  it("the billing tick ends a session whose wallet runs dry and tells the client", async () => {
    // The test server expires a session after 2 s (two 1 s heartbeat intervals), which raced the
    // tick due at 1 s on a busy machine. Sessions of this test expire after 2 minutes: only the
    // billing tick can end it, however late it runs.
    const play = t.app.services.play.config;
    const heartbeatIntervalSec = play.heartbeatIntervalSec;
    play.heartbeatIntervalSec = 60;
    try {
      const game = await demoGame(t, "whack-arena-deluxe");
      await fund(t, player.user.id, 2);
      const room = await sdkFor(player).create("play_session", { gameId: game.id });
      const endedMsg = next<{ reason: string }>(room, "session:ended");
      const repo = t.app.dataSource.getRepository(PlaySession);
      let row = await repo.findOneByOrFail({ userId: player.user.id });
      for (let waited = 0; row.status === "live" && waited < 10_000; waited += 50) {
        await sleep(50);
        row = await repo.findOneByOrFail({ userId: player.user.id });
      }
      assert.deepEqual(
        { status: row.status, charged: row.charged, periodsBilled: row.periodsBilled },
        { status: "insufficient_funds", charged: 2, periodsBilled: 1 },
        `session ${JSON.stringify(row)}`,
      );
      assert.equal(await t.app.services.wallet.balance(player.user.id), 0);
      // The push precedes the close (unless the period ran out while the join itself was completing).
      const pushed = await Promise.race([endedMsg, sleep(10).then(() => undefined)]);
      if (pushed) assert.equal(pushed.reason, "insufficient_funds");
    } finally {
      play.heartbeatIntervalSec = heartbeatIntervalSec;
    }
  });

  it("expiry pushes session:ended {reason: expired}", async () => {
    const game = await demoGame(t, "demo-arcade");
    const room = await sdkFor(player).create("play_session", { gameId: game.id });
    const endedMsg = await Promise.race([
      next<{ reason: string }>(room, "session:ended"),
      sleep(4000).then(() => null),
    ]);
    assert.equal(endedMsg?.reason, "expired");
  });
});
