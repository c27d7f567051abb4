import assert from "node:assert/strict";
import type { Room } from "@colyseus/sdk";
import { closeReason } from "../src/rooms/close-reason";
import { testApp, type TestApp } from "./helpers/app";
import { demoGame, startSession } from "./helpers/play";
import { freshBucket, leaveAll, nextMessage, sdkFor } from "./helpers/video";
import { type Account, register } from "./helpers/users";
import { fund } from "./helpers/wallet";

const LONG_TYPE = "A".repeat(100);

async function healthy(t: TestApp) {
  assert.equal((await t.fetch("/health")).status, 200);
}

describe("room guard: no client message ends the process", () => {
  let t: TestApp;
  let player: Account;
  before(async function () {
    this.timeout(120_000); // the first suite to run boots the shared app
    await testApp();
  });
  beforeEach(async () => {
    t = await testApp();
    player = await register();
  });

  it("the lobby answers a metadata filter while a room without metadata is listed", async () => {
    const game = await demoGame(t, "demo-arcade");
    const { body } = await startSession(t, player.accessToken, game.id);
    assert.ok(body.roomId, "a play_session room (no metadata) exists");
    const lobby = await t.sdk().joinOrCreate("lobby");
    try {
      await nextMessage(lobby, "rooms");
      const rooms = nextMessage<unknown[]>(lobby, "rooms");
      lobby.send("filter", { name: "x", metadata: { title: "x" } });
      assert.deepEqual(await rooms, []);
      await healthy(t);
    } finally {
      await leaveAll(lobby);
    }
  });

  it("the lobby lists streams only: other players' sessions, queues and calls stay private", async () => {
    const game = await demoGame(t, "demo-arcade");
    const { body } = await startSession(t, player.accessToken, game.id);
    const lobby = await t.sdk().joinOrCreate("lobby");
    try {
      const rooms = await nextMessage<Array<{ roomId: string; name: string }>>(lobby, "rooms");
      assert.ok(!rooms.some((r) => r.roomId === body.roomId), "the play_session room is not listed");
      assert.deepEqual(
        rooms.filter((r) => r.name !== "stream"),
        [],
      );
      const filtered = nextMessage<unknown[]>(lobby, "rooms");
      lobby.send("filter", { name: "play_session" });
      assert.deepEqual(await filtered, []);
    } finally {
      await leaveAll(lobby);
    }
  });

  it("the lobby refuses a malformed filter with INVALID_MESSAGE and keeps the connection", async () => {
    const lobby = await t.sdk().joinOrCreate("lobby");
    try {
      await nextMessage(lobby, "rooms");
      for (const filter of [{ metadata: "x" }, { metadata: { a: { deep: 1 } } }, 42, { name: "x".repeat(500) }]) {
        const error = nextMessage<{ code: string }>(lobby, "error");
        lobby.send("filter", filter);
        assert.equal((await error).code, "INVALID_MESSAGE");
      }
      const rooms = nextMessage<unknown[]>(lobby, "rooms");
      lobby.send("filter", { name: "stream" });
      assert.ok(Array.isArray(await rooms));
    } finally {
      await leaveAll(lobby);
    }
  });

  it("an invalid filter join option is refused with a 400, not a crash", async () => {
    await assert.rejects(t.sdk().joinOrCreate("lobby", { filter: { metadata: [1, 2] } }), /INVALID_OPTIONS/);
    await healthy(t);
  });

  it("a 100-character unknown type gets UNKNOWN_MESSAGE in lobby, play_session and match_queue", async () => {
    const game = await demoGame(t, "demo-arcade");
    await fund(t, player.user.id, 5);
    const { body } = await startSession(t, player.accessToken, game.id);
    const rooms: Room[] = [
      await t.sdk().joinOrCreate("lobby"),
      await sdkFor(t, player).joinById(body.roomId),
      await sdkFor(t, player).joinOrCreate("match_queue", freshBucket()),
    ];
    try {
      for (const room of rooms) {
        const replies: unknown[] = [];
        room.onMessage("error", (e) => replies.push(e));
        const error = nextMessage<{ code: string; message: string }>(room, "error");
        room.send(LONG_TYPE);
        const reply = await error;
        assert.equal(reply.code, "UNKNOWN_MESSAGE", room.name);
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(replies.length, 1, `${room.name} answers once`);
        assert.ok(reply.message.length < 100, "the type is truncated in the reply");
        assert.ok(room.connection.isOpen, `${room.name} stays connected`);
      }
      await healthy(t);
    } finally {
      await leaveAll(...rooms);
    }
  });

  it("close reasons are cut to 123 UTF-8 bytes without splitting a character", () => {
    assert.equal(closeReason("short"), "short");
    assert.equal(Buffer.byteLength(closeReason("A".repeat(500))!), 123);
    const cut = closeReason("é".repeat(100))!;
    assert.ok(Buffer.byteLength(cut) <= 123);
    assert.equal(cut, "é".repeat(61));
  });
});
