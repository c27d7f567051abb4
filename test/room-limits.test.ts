import assert from "node:assert/strict";
import { testApp, type TestApp } from "./helpers/app";
import { demoGame, sleep, startSession } from "./helpers/play";
import { collect, leaveAll, nextMessage, sdkFor, waitFor } from "./helpers/video";
import { type Account, register, remember } from "./helpers/users";

/** An error as the pg driver raises it when PostgreSQL is down. */
const connectionRefused = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

describe("room limits and outages", () => {
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

  async function joinSession() {
    const game = await demoGame(t, "demo-arcade");
    const { body } = await startSession(t, player.accessToken, game.id);
    const room = await sdkFor(t, player).joinById<any>(body.roomId);
    remember((await nextMessage<{ sessionToken: string }>(room, "session")).sessionToken);
    room.onMessage("session", (m: { sessionToken: string }) => remember(m.sessionToken));
    return { room, sessionId: body.sessionId as string };
  }

  it("3,000 heartbeats at once cost a handful of database writes and leave the process up", async () => {
    const { room } = await joinSession();
    const play = t.app.services.play;
    const beat = play.beat;
    let writes = 0;
    play.beat = function (...args: Parameters<typeof beat>) {
      writes++;
      return beat.apply(this, args);
    };
    try {
      const errors = collect<{ code: string }>(room, "error");
      let closedWith: number | undefined;
      room.onLeave((code: number) => (closedWith = code));
      for (let i = 0; i < 3000; i++) room.send("heartbeat");
      await waitFor(() => closedWith !== undefined || errors.length >= 10, "the flood to be answered", 8000);
      await sleep(300);
      assert.ok(writes <= 5, `${writes} heartbeats reached the database`);
      assert.ok(
        errors.every((e) => e.code === "RATE_LIMITED"),
        JSON.stringify(errors.slice(0, 3)),
      );
      // Past the per-connection ceiling, Colyseus closes the connection with 4002 (documented).
      assert.equal(closedWith, 4002);
      assert.equal((await t.fetch("/health")).status, 200);
    } finally {
      play.beat = beat;
      await leaveAll(room);
    }
  });

  it("a database outage during heartbeat/stop is answered UNAVAILABLE and the room stays", async () => {
    const { room } = await joinSession();
    const play = t.app.services.play;
    const { beat, finish } = play;
    play.beat = () => Promise.reject(connectionRefused());
    play.finish = () => Promise.reject(connectionRefused());
    try {
      let error = nextMessage<{ code: string }>(room, "error");
      room.send("heartbeat");
      assert.equal((await error).code, "UNAVAILABLE");
      error = nextMessage<{ code: string }>(room, "error");
      room.send("stop");
      assert.equal((await error).code, "UNAVAILABLE");
      assert.ok(room.connection.isOpen);
      assert.equal((await t.fetch("/health")).status, 200);
    } finally {
      Object.assign(play, { beat, finish });
    }
    try {
      // The database is back: the same room goes on.
      const session = nextMessage(room, "session");
      room.send("heartbeat");
      await session;
    } finally {
      await leaveAll(room);
    }
  });

  it("a presence handler that throws or rejects is logged, never crashes the process", async () => {
    const { events } = t.app.services;
    const scope = player.user.id;
    let delivered = 0;
    const offs = await Promise.all([
      events.subscribe("stream.ended", scope, () => {
        delivered++;
        throw new Error("sync handler failure");
      }),
      events.subscribe("stream.ended", scope, async () => {
        delivered++;
        throw connectionRefused();
      }),
    ]);
    try {
      await events.publish("stream.ended", scope, { streamId: scope });
      await waitFor(() => delivered === 2, "both handlers to run");
      await sleep(100);
      assert.equal((await t.fetch("/health")).status, 200);
      assert.ok(t.logs.some((line) => line.includes("domain event handler failed")));
    } finally {
      offs.forEach((off) => off());
    }
  });
});
