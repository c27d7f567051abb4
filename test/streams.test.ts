import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { Room } from "@colyseus/sdk";
import { matchMaker } from "@colyseus/core";
import { StreamMessage } from "../src/entities";
import { ADMIN, testApp, type TestApp } from "./helpers/app";
import { sleep } from "./helpers/play";
import { type Account, bearer, json, login, register } from "./helpers/users";
import { collect, leaveAll, nextMessage, sdkFor, waitFor } from "./helpers/video";
import { fund } from "./helpers/wallet";

describe("livestreams", () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });

  async function goLive(owner: Account, title = "Speedrun night") {
    const res = await t.fetch("/api/streams", json({ title }, bearer(owner.accessToken)));
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as { id: string; title: string };
  }
  const watch = async (account: Account, streamId: string) => {
    const room = await sdkFor(t, account).joinOrCreate<any>("stream", { streamId });
    for (const type of ["history", "userJoined", "userLeft", "chatMessage"]) room.onMessage(type, () => {});
    return room;
  };

  it("CRUD: one live stream per owner, listed newest first with viewers; owner or admin edit and end", async () => {
    const owner = await register(t, { displayName: "Streamer" });
    const other = await register(t);
    const stream = await goLive(owner);
    assert.equal((await t.fetch("/api/streams", json({ title: "Second" }, bearer(owner.accessToken)))).status, 409);
    assert.equal((await t.fetch("/api/streams", json({ title: "" }, bearer(other.accessToken)))).status, 400);
    const viewer = await watch(other, stream.id);
    try {
      await waitFor(() => viewer.state.viewerCount === 1, "one viewer");
      await sleep(400); // the count HTTP reads follows the room's within 250 ms
      const list = await (await t.fetch("/api/streams?limit=100")).json();
      const listed = list.streams.find((s: any) => s.id === stream.id);
      assert.equal(listed.viewerCount, 1);
      assert.equal(list.streams[0].createdAt >= listed.createdAt, true);
      const put = (account: Account, body: object) =>
        t.fetch(`/api/streams/${stream.id}`, { ...json(body, bearer(account.accessToken)), method: "PUT" });
      assert.equal((await put(other, { title: "Mine now" })).status, 403);
      assert.equal((await put(owner, { title: "x", extra: 1 })).status, 400);
      const admin = await login(ADMIN.email, ADMIN.password, t);
      assert.equal(
        (await (await put({ accessToken: admin.accessToken } as Account, { title: "By admin" })).json()).title,
        "By admin",
      );
      const del = (account: Account) =>
        t.fetch(`/api/streams/${stream.id}`, { method: "DELETE", headers: bearer(account.accessToken) });
      assert.equal((await del(other)).status, 403);
      assert.equal((await del(owner)).status, 204);
      const ended = await (await t.fetch(`/api/streams/${stream.id}`)).json();
      assert.equal(ended.status, "ended");
      assert.ok(!(await (await t.fetch("/api/streams?limit=100")).json()).streams.some((s: any) => s.id === stream.id));
      assert.equal((await t.fetch(`/api/streams/${randomUUID()}`)).status, 404);
      await goLive(owner, "Back again");
    } finally {
      await leaveAll(viewer);
    }
  });

  it("20 viewers each receive every chat message once and in order; history on join; persisted", async () => {
    const owner = await register(t, { displayName: "Host" });
    const stream = await goLive(owner);
    const early = await register(t, { displayName: "Early" });
    const first = await watch(early, stream.id);
    const sent = nextMessage(first, "chatMessage");
    first.send("chat", { text: "  first!\u0001  " });
    assert.equal((await sent).text, "first!");

    const viewers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => register(t, { displayName: `Viewer ${i}` })),
    );
    const rooms: Room[] = [];
    try {
      const histories = await Promise.all(
        viewers.map(async (v) => {
          const room = await sdkFor(t, v).joinOrCreate<any>("stream", { streamId: stream.id });
          const history = nextMessage(room, "history");
          rooms.push(room);
          return history;
        }),
      );
      for (const h of histories)
        assert.deepEqual(
          h.messages.map((m: any) => m.text),
          ["first!"],
        );
      const received = rooms.map((r) => collect<{ text: string; displayName: string }>(r, "chatMessage"));
      for (const r of rooms) for (const type of ["userJoined", "userLeft"]) r.onMessage(type, () => {});
      // 4 at once: within the chat burst (5, one spent on "first!") whatever the time since.
      for (let i = 0; i < 4; i++) first.send("chat", { text: `message ${i}` });
      await waitFor(() => received.every((r) => r.length >= 4), "4 messages everywhere", 5000);
      await sleep(100);
      for (const r of received) {
        assert.deepEqual(
          r.map((m) => m.text),
          ["message 0", "message 1", "message 2", "message 3"],
        );
        assert.equal(r[0].displayName, "Early");
      }
      await waitFor(() => rooms[0].state.viewerCount === 21, "21 viewers");
      const page = await (await t.fetch(`/api/streams/${stream.id}/messages?limit=3`)).json();
      assert.deepEqual(
        page.messages.map((m: any) => m.text),
        ["message 3", "message 2", "message 1"],
      );
      const rest = await (await t.fetch(`/api/streams/${stream.id}/messages?before=${page.nextCursor}`)).json();
      assert.deepEqual(
        rest.messages.map((m: any) => m.text),
        ["message 0", "first!"],
      );
    } finally {
      await leaveAll(first, ...rooms);
    }
  });

  it("joins, leaves, mutes and deletions: userJoined/userLeft, a muted viewer is refused, moderators delete", async () => {
    const owner = await register(t, { displayName: "Owner" });
    const stream = await goLive(owner);
    const troll = await register(t, { displayName: "Troll" });
    const ownerRoom = await watch(owner, stream.id);
    const joined = collect<Arrivals>(ownerRoom, "userJoined");
    const trollRoom = await watch(troll, stream.id);
    try {
      // The owner may be announced in the same window as the troll.
      await waitFor(() => listed(joined).some((u) => u.userId === troll.user.id), "the troll announced");
      assert.deepEqual(
        listed(joined).find((u) => u.userId === troll.user.id),
        { userId: troll.user.id, displayName: "Troll" },
      );
      const trollErrors = collect<{ code: string }>(trollRoom, "error");
      trollRoom.send("mute", { userId: owner.user.id, minutes: 5 });
      const muted = nextMessage(ownerRoom, "muted");
      ownerRoom.send("mute", { userId: troll.user.id, minutes: 5 });
      assert.equal((await muted).userId, troll.user.id);
      trollRoom.send("chat", { text: "spam" });
      await waitFor(() => trollErrors.length === 2, "two errors");
      assert.deepEqual(
        trollErrors.map((e) => e.code),
        ["FORBIDDEN", "MUTED"],
      );
      assert.equal(await t.app.dataSource.getRepository(StreamMessage).countBy({ streamId: stream.id }), 0);

      const said = nextMessage(trollRoom, "chatMessage");
      ownerRoom.send("chat", { text: "be nice" });
      const { id } = await said;
      const ownerErrors = collect<{ code: string }>(ownerRoom, "error");
      ownerRoom.send("delete", { id });
      await waitFor(() => ownerErrors.length === 1, "owner is no moderator");
      assert.equal(ownerErrors[0].code, "FORBIDDEN");
      const admin = await login(ADMIN.email, ADMIN.password, t);
      const adminRoom = await sdkFor(t, { accessToken: admin.accessToken } as Account).joinOrCreate<any>("stream", {
        streamId: stream.id,
      });
      adminRoom.onMessage("history", () => {});
      const deleted = nextMessage(trollRoom, "chatDeleted");
      adminRoom.send("delete", { id });
      assert.deepEqual(await deleted, { id });
      const row = await t.app.dataSource.getRepository(StreamMessage).findOneByOrFail({ id });
      assert.ok(row.deletedAt, "kept, marked deleted");
      const history = await (await t.fetch(`/api/streams/${stream.id}/messages`)).json();
      assert.deepEqual(history.messages, []);

      // A connection that joins and leaves within one announcement window is announced in neither.
      await waitFor(() => listed(joined).some((u) => u.userId === admin.user.id), "the admin announced");
      const left = nextMessage<Arrivals>(ownerRoom, "userLeft");
      await adminRoom.leave();
      assert.deepEqual(await left, {
        users: [{ userId: admin.user.id, displayName: admin.user.displayName }],
        count: 1,
      });
    } finally {
      await leaveAll(ownerRoom, trollRoom);
    }
  });

  it("a crowd joining is announced in a few userJoined {users, count} messages, not one per join", async () => {
    const owner = await register(t, { displayName: "Crowd host" });
    const stream = await goLive(owner);
    const ownerRoom = await watch(owner, stream.id);
    const joined = collect<Arrivals>(ownerRoom, "userJoined");
    const left = collect<Arrivals>(ownerRoom, "userLeft");
    const crowd = await Promise.all(Array.from({ length: 30 }, (_, i) => register(t, { displayName: `Fan ${i}` })));
    const rooms = await Promise.all(crowd.map((fan) => watch(fan, stream.id)));
    try {
      const ids = new Set(crowd.map((fan) => fan.user.id));
      const crowdCount = () => joined.reduce((n, m) => n + m.count, 0) - (owned(joined, owner) ? 1 : 0);
      await waitFor(() => crowdCount() === 30, "30 joins announced");
      await waitFor(() => ownerRoom.state.viewerCount === 30, "30 viewers");
      assert.ok(joined.length < 30, `${joined.length} userJoined messages for 30 joins`);
      for (const m of joined) {
        assert.ok(m.users.length <= Math.min(m.count, 20), "at most 20 named per message");
        for (const u of m.users) assert.ok(ids.has(u.userId) || u.userId === owner.user.id);
      }
      await leaveAll(...rooms.splice(0, 5));
      await waitFor(() => left.reduce((n, m) => n + m.count, 0) === 5, "5 leaves announced");
      await waitFor(() => ownerRoom.state.viewerCount === 25, "25 viewers");
    } finally {
      await leaveAll(ownerRoom, ...rooms);
    }
  });

  it("chat is broadcast at once and stored just after; a message that cannot be stored is withdrawn", async () => {
    const owner = await register(t, { displayName: "Writer host" });
    const stream = await goLive(owner);
    const author = await register(t, { displayName: "Author" });
    const authorRoom = await watch(author, stream.id);
    const viewerRoom = await watch(await register(t), stream.id);
    const room = matchMaker.getLocalRoomById(authorRoom.roomId) as unknown as {
      chat: { retryDelaysMs: number[]; streams: object };
    };
    const realStreams = room.chat.streams as { storeMessages: (...args: unknown[]) => Promise<void> };
    let failures = 0;
    const failing = (times: number) =>
      (room.chat.streams = Object.create(realStreams, {
        storeMessages: {
          value: async (...args: unknown[]) => {
            if (failures++ < times) throw new Error("database down");
            return realStreams.storeMessages(...args);
          },
        },
      }));
    room.chat.retryDelaysMs = [20, 20];
    const stored = () => t.app.dataSource.getRepository(StreamMessage).findBy({ streamId: stream.id });
    try {
      const errors = collect<{ code: string }>(authorRoom, "error");
      const deleted = collect<{ id: string }>(viewerRoom, "chatDeleted");
      const seen = collect<{ id: string; text: string }>(viewerRoom, "chatMessage");

      // Fails twice, stored on the last retry: nothing withdrawn.
      failing(2);
      authorRoom.send("chat", { text: "retried" });
      await waitFor(() => seen.length === 1, "shown");
      await waitFor(() => failures === 3, "stored on the third attempt");
      await sleep(100);
      assert.deepEqual(
        (await stored()).map((m) => [String(m.id), m.text]),
        [[seen[0].id, "retried"]],
      );

      // Fails every time: shown, then withdrawn everywhere, the author told, nothing stored, not in history.
      failures = 0;
      failing(Infinity);
      authorRoom.send("chat", { text: "lost" });
      await waitFor(() => seen.length === 2, "shown before it is stored");
      assert.equal(seen[1].text, "lost");
      await waitFor(() => deleted.length === 1 && errors.length === 1, "withdrawn");
      assert.deepEqual(deleted[0], { id: seen[1].id });
      assert.equal(errors[0].code, "CHAT_NOT_SAVED");
      assert.equal(failures, 3);
      assert.equal((await stored()).length, 1);
      const late = await sdkFor(t, await register(t)).joinOrCreate<any>("stream", { streamId: stream.id });
      const history = await nextMessage(late, "history");
      await leaveAll(late);
      assert.deepEqual(
        history.messages.map((m: any) => m.text),
        ["retried"],
      );

      // The database is back: chat goes on, ids keep increasing.
      room.chat.streams = realStreams;
      authorRoom.send("chat", { text: "back" });
      await waitFor(() => seen.length === 3, "shown");
      await sleep(200);
      const rows = await stored();
      assert.deepEqual(rows.map((m) => m.text).sort(), ["back", "retried"]);
      assert.ok(Number(seen[2].id) > Number(seen[1].id));
    } finally {
      room.chat.streams = realStreams;
      await leaveAll(authorRoom, viewerRoom);
    }
  });

  it("refuses joins to unknown or ended streams, and answers bad payloads with error without crashing", async () => {
    const owner = await register(t);
    const viewer = await register(t);
    await assert.rejects(sdkFor(t, viewer).joinOrCreate("stream", { streamId: randomUUID() }), /STREAM_NOT_FOUND/);
    await assert.rejects(sdkFor(t, viewer).joinOrCreate("stream", { streamId: "x" }), /INVALID_STREAM/);
    const stream = await goLive(owner);
    await assert.rejects(t.sdk().joinOrCreate("stream", { streamId: stream.id }), /UNAUTHORIZED/);
    const room = await watch(viewer, stream.id);
    try {
      const errors = collect<{ code: string }>(room, "error");
      room.send("chat", { text: "" });
      room.send("chat", { text: "x".repeat(501) });
      room.send("chat", "not an object");
      room.send("chat", { text: "ok", extra: true });
      room.send("mute", { userId: "nobody", minutes: 5 });
      room.send("delete", { id: "1; drop table" });
      room.send("dance", {});
      await waitFor(() => errors.length === 7, "seven errors");
      assert.deepEqual(
        errors.map((e) => e.code).sort(),
        [...Array(6).fill("INVALID_MESSAGE"), "UNKNOWN_MESSAGE"].sort(),
      );
      const ok = nextMessage(room, "chatMessage");
      room.send("chat", { text: "still connected" });
      assert.equal((await ok).text, "still connected");
    } finally {
      await leaveAll(room);
    }
    await t.fetch(`/api/streams/${stream.id}`, { method: "DELETE", headers: bearer(owner.accessToken) });
    await assert.rejects(sdkFor(t, viewer).joinOrCreate("stream", { streamId: stream.id }), /STREAM_ENDED/);
  });

  it("HTTP reaches the room: PUT → streamUpdate, a tip → tipReceived, DELETE → streamEnded and the room closes", async () => {
    const owner = await register(t, { displayName: "Caster" });
    const fan = await register(t, { displayName: "Big Fan" });
    await fund(t, fan.user.id, 10);
    const stream = await goLive(owner);
    const room = await watch(fan, stream.id);
    const update = nextMessage(room, "streamUpdate");
    const res = await t.fetch(`/api/streams/${stream.id}`, {
      ...json({ title: "New title", description: "now with commentary" }, bearer(owner.accessToken)),
      method: "PUT",
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await update, { title: "New title", description: "now with commentary" });
    await waitFor(() => room.state.title === "New title", "state title");

    const tip = nextMessage(room, "tipReceived");
    const tipped = await t.fetch(
      "/api/payments/tip",
      json(
        { streamId: stream.id, amount: 3, message: "gg" },
        { ...bearer(fan.accessToken), "Idempotency-Key": randomUUID() },
      ),
    );
    assert.equal(tipped.status, 200, await tipped.clone().text());
    assert.deepEqual(await tip, { fromDisplayName: "Big Fan", amount: 3, message: "gg" });

    const ended = nextMessage(room, "streamEnded");
    const closed = new Promise<void>((resolve) => room.onLeave(() => resolve()));
    await t.fetch(`/api/streams/${stream.id}`, { method: "DELETE", headers: bearer(owner.accessToken) });
    await ended;
    await closed;
  });

  it("stream rooms appear in the lobby with their title and viewer count", async () => {
    const owner = await register(t);
    const stream = await goLive(owner, "Lobby listed");
    const viewer = await register(t);
    const lobby = await sdkFor(t, viewer).joinOrCreate<any>("lobby");
    const listed: any[] = [];
    lobby.onMessage("rooms", (rooms: any[]) => listed.push(...rooms));
    lobby.onMessage("+", ([, room]: [string, any]) => listed.push(room));
    lobby.onMessage("-", () => {});
    const room = await watch(viewer, stream.id);
    try {
      await waitFor(
        () => listed.some((r) => r.metadata?.streamId === stream.id && r.metadata?.viewerCount === 1),
        "the stream in the lobby with one viewer",
      );
      const entry = listed.findLast((r) => r.metadata?.streamId === stream.id);
      assert.equal(entry.name, "stream");
      assert.equal(entry.metadata.title, "Lobby listed");
      const metrics = await (await t.fetch("/metrics")).text();
      assert.match(metrics, /^streams_live [1-9]/m);
      assert.match(metrics, /^stream_viewers [1-9]/m);
      assert.match(metrics, /^stream_chat_messages_total \d/m);
    } finally {
      await leaveAll(room, lobby);
    }
  });
});

interface Arrivals {
  users: Array<{ userId: string; displayName: string }>;
  count: number;
}
const listed = (messages: Arrivals[]) => messages.flatMap((m) => m.users);
const owned = (messages: Arrivals[], owner: Account) => listed(messages).some((u) => u.userId === owner.user.id);
