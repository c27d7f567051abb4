import assert from "node:assert/strict";
import { matchMaker } from "@colyseus/core";
import { PlaySession } from "../src/entities";
import { testApp, type TestApp } from "./helpers/app";
import { demoGame, heartbeat, sleep, startSession } from "./helpers/play";
import { freshBucket, leaveAll, nextMessage, sdkFor } from "./helpers/video";
import { type Account, bearer, json, register, remember } from "./helpers/users";
import { fund } from "./helpers/wallet";

describe("room creation: ownership, caps, create vs joinOrCreate", () => {
  let t: TestApp;
  let player: Account;
  before(async function () {
    this.timeout(120_000);
    await testApp();
  });
  beforeEach(async () => {
    t = await testApp();
    player = await register();
  });

  const matchmake = (method: string, room: string, body: unknown, account: Account) =>
    t.fetch(`/matchmake/${method}/${room}`, json(body, bearer(account.accessToken)));

  it("a user cannot attach a room to another user's play session (takeover repro)", async () => {
    const game = await demoGame(t, "demo-arcade");
    const { body: b } = await startSession(t, player.accessToken, game.id);
    remember(b.sessionToken);
    const attacker = await register();
    const res = await matchmake("create", "play_session", { sessionId: b.sessionId }, attacker);
    assert.equal(res.status, 403, await res.clone().text());
    assert.match(await res.text(), /FORBIDDEN/);
    const row = await t.app.dataSource.getRepository(PlaySession).findOneByOrFail({ id: b.sessionId });
    assert.equal(row.roomId, b.roomId);
    assert.equal(row.status, "live");
    assert.equal((await heartbeat(t, b.sessionToken)).status, 200);
  });

  it("the service refuses to attach a room to someone else's session", async () => {
    const game = await demoGame(t, "demo-arcade");
    const { body: b } = await startSession(t, player.accessToken, game.id);
    remember(b.sessionToken);
    const other = await register();
    await assert.rejects(
      t.app.services.play.attachRoom(b.sessionId, "stolenroom", other.user.id),
      /NOT_SESSION_OWNER|another player/,
    );
    const row = await t.app.dataSource.getRepository(PlaySession).findOneByOrFail({ id: b.sessionId });
    assert.equal(row.roomId, b.roomId);
  });

  it("rooms created and never joined are capped per user and disposed after the seat reservation", async function () {
    this.timeout(30_000);
    const game = await demoGame(t, "demo-arcade");
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await matchmake("create", "play_session", { gameId: game.id }, player);
      assert.equal(res.status, 200, await res.clone().text());
      created.push(((await res.json()) as { roomId: string }).roomId);
    }
    const refused = await matchmake("create", "play_session", { gameId: game.id }, player);
    assert.equal(refused.status, 429);
    assert.match(await refused.text(), /ROOM_CAP/);
    // Another user is not affected.
    const other = await register();
    assert.equal((await matchmake("create", "play_session", { gameId: game.id }, other)).status, 200);

    await sleep(4_000 + 1_500);
    const left = await matchMaker.query({ name: "play_session" });
    assert.deepEqual(
      left.filter((r) => created.includes(r.roomId)).map((r) => r.roomId),
      [],
      "unjoined rooms are disposed",
    );
    assert.equal((await matchmake("create", "play_session", { gameId: game.id }, player)).status, 200);
  });

  it("joining the created room frees its place under the cap", async () => {
    const game = await demoGame(t, "demo-arcade");
    await fund(t, player.user.id, 10);
    const rooms = [];
    try {
      for (let i = 0; i < 7; i++) {
        const room = await sdkFor(t, player).create("play_session", { gameId: game.id });
        room.onMessage("session", (m: { sessionToken: string }) => remember(m.sessionToken));
        rooms.push(room);
        const ended = nextMessage(room, "session:ended");
        room.send("stop");
        await ended;
      }
    } finally {
      await leaveAll(...rooms);
    }
  });

  it("create is refused for one-per-key rooms; joinOrCreate finds the one room", async () => {
    for (const [room, options] of [
      ["lobby", {}],
      ["match_queue", freshBucket()],
      ["stream", { streamId: crypto.randomUUID() }],
      ["match_chat", { matchId: crypto.randomUUID() }],
    ] as const) {
      const res = await matchmake("create", room, options, player);
      assert.equal(res.status, 400, room);
      assert.match(await res.text(), /JOIN_OR_CREATE_ONLY/, room);
    }
    const a = await t.sdk().joinOrCreate("lobby");
    const b = await t.sdk().joinOrCreate("lobby");
    try {
      assert.equal(a.roomId, b.roomId);
    } finally {
      await leaveAll(a, b);
    }
  });

  it("play_session refuses join/joinOrCreate (they would pick any player's room)", async () => {
    const game = await demoGame(t, "demo-arcade");
    for (const method of ["join", "joinOrCreate"]) {
      const res = await matchmake(method, "play_session", { gameId: game.id }, player);
      assert.equal(res.status, 400, method);
      assert.match(await res.text(), /CREATE_OR_JOIN_BY_ID/);
    }
  });
});
