import assert from "node:assert/strict";
import type { Room } from "@colyseus/sdk";
import { User } from "../src/entities";
import type { LeaderboardService } from "../src/services/leaderboards";
import { ADMIN, testApp, type TestApp } from "./helpers/app";
import { createBoard as createBoardAs } from "./helpers/leaderboards";
import { sleep } from "./helpers/play";
import { type Account, bearer, json, login, register } from "./helpers/users";
import { collect, leaveAll, nextMessage, sdkFor, waitFor } from "./helpers/video";

interface Rollover {
  boardId: string;
  periodStart: string | null;
  periodEnd: string | null;
}

describe("leaderboard room", () => {
  let t: TestApp;
  let service: LeaderboardService;
  let adminToken: string;
  let realNow: () => Date;
  const rooms: Room[] = [];
  before(async () => {
    t = await testApp();
    service = t.app.services.leaderboards;
    realNow = service.clock.now;
    adminToken = (await login(ADMIN.email, ADMIN.password, t)).accessToken;
  });
  afterEach(async () => {
    await leaveAll(...rooms.splice(0));
    service.clock.now = realNow;
  });

  const setClock = (iso: string) => {
    service.clock.now = () => new Date(iso);
  };
  const createBoard = (overrides: Record<string, unknown> = {}) => createBoardAs(t, adminToken, overrides);
  async function submit(boardId: string, account: Account, score: number) {
    const res = await t.fetch(`/api/leaderboards/${boardId}/records`, json({ score }, bearer(account.accessToken)));
    assert.equal(res.status, 200, await res.clone().text());
  }
  /** Players made directly in the database (no sign-in needed): fillers for the board. */
  async function makeUsers(n: number) {
    const users = t.app.dataSource.getRepository(User);
    const saved = await users.save(
      Array.from({ length: n }, (_, i) => ({ displayName: `Filler ${i}`, isGuest: true })),
    );
    return saved.map((u) => u.id);
  }
  async function watch(account: Account, boardId: string) {
    const room = await sdkFor(t, account).joinOrCreate<any>("leaderboard", { boardId });
    rooms.push(room);
    // The join resolves before the first state arrives.
    await waitFor(() => room.state?.boardId === boardId, "the room's first state");
    return room;
  }
  const refreshCount = async () => {
    const metrics = await (await t.fetch("/metrics")).text();
    return Number(/^leaderboard_room_refreshes_total (\d+)/m.exec(metrics)![1]);
  };
  const topOf = (room: Room<any>) =>
    room.state.top.map((e: any) => ({ rank: e.rank, userId: e.userId, name: e.name, score: e.score }));
  const meOf = (room: Room<any>) => {
    const me = room.state.me?.get(room.sessionId);
    return me ? { rank: me.rank, score: me.score } : undefined;
  };

  it("joins with the board's top 10 and the joiner's own standing in state", async () => {
    const board = await createBoard();
    const fillers = await makeUsers(12);
    for (const [i, userId] of fillers.entries()) await service.submit(board.id, userId, 100 + i * 10);
    const player = await register(t, { displayName: "Eleventh" });
    await service.submit(board.id, player.user.id, 125); // between filler 2 (120) and 3 (130): rank 10
    const outsider = await register(t, { displayName: "No record" });

    const room = await watch(player, board.id);
    await waitFor(() => room.state.top?.length === 10, "the top 10");
    assert.equal(room.state.boardId, board.id);
    assert.equal(room.state.periodStart, "", "a board that never resets has no period bounds");
    assert.equal(room.state.periodEnd, "");
    const top = topOf(room);
    assert.deepEqual(
      top.map((e: any) => [e.rank, e.score]),
      [210, 200, 190, 180, 170, 160, 150, 140, 130, 125].map((score, i) => [i + 1, score]),
    );
    assert.equal(top[0].userId, fillers[11]);
    assert.equal(top[0].name, "Filler 11");
    assert.equal(top[9].name, "Eleventh");
    await waitFor(() => meOf(room) !== undefined, "me");
    assert.deepEqual(meOf(room), { rank: 10, score: 125 });

    // Below the top 10: `me` still says where the viewer stands.
    await service.submit(board.id, fillers[0], 1000); // everyone else moves down one
    await waitFor(() => meOf(room)?.rank === 11, "me moved to rank 11");
    assert.equal(room.state.top[0].score, 1000);

    const other = await watch(outsider, board.id);
    await waitFor(() => other.state.top?.length === 10, "the outsider's top 10");
    await sleep(200); // a `me` set by the join would have arrived with the first state
    assert.equal(meOf(other), undefined, "no record, no `me`");
    assert.equal(other.state.me?.size ?? 0, 0);
  });

  it("a write through HTTP patches the top and the writer's `me`", async () => {
    const board = await createBoard();
    const writer = await register(t, { displayName: "Writer" });
    const watcher = await register(t, { displayName: "Watcher" });
    const mine = await watch(writer, board.id);
    const theirs = await watch(watcher, board.id);
    assert.equal(meOf(mine), undefined);
    assert.equal(mine.state.top.length, 0);

    await submit(board.id, writer, 42);
    await waitFor(() => meOf(mine)?.score === 42, "the writer's me");
    assert.deepEqual(meOf(mine), { rank: 1, score: 42 });
    await waitFor(() => theirs.state.top.length === 1, "the watcher's top");
    assert.deepEqual(topOf(theirs), [{ rank: 1, userId: writer.user.id, name: "Writer", score: 42 }]);
    assert.deepEqual(topOf(mine), topOf(theirs));

    // The watcher overtakes: both ranks and the top follow.
    await submit(board.id, watcher, 50);
    await waitFor(() => meOf(mine)?.rank === 2 && meOf(theirs)?.rank === 1, "ranks swapped");
    assert.deepEqual(
      topOf(mine).map((e: any) => [e.rank, e.name, e.score]),
      [
        [1, "Watcher", 50],
        [2, "Writer", 42],
      ],
    );
    // A write that changes nothing (a worse best) changes nothing here either.
    await submit(board.id, writer, 1);
    await sleep(300);
    assert.deepEqual(meOf(mine), { rank: 2, score: 42 });
  });

  it("a burst of writes ends in the final ranking, refreshed at most once per 100 ms", async () => {
    const board = await createBoard({ operator: "incr" });
    const player = await register(t, { displayName: "Burst" });
    const room = await watch(player, board.id);
    const fillers = await makeUsers(5);
    const before = await refreshCount();
    const startedAt = performance.now();
    await Promise.all([
      ...fillers.map((id, i) => service.submit(board.id, id, 10 * (i + 1))),
      ...Array.from({ length: 20 }, () => service.submit(board.id, player.user.id, 3)),
    ]);
    await waitFor(() => meOf(room)?.score === 60, "all 20 increments");
    await waitFor(() => room.state.top.length === 6 && room.state.top[0].score === 60, "the final top");
    assert.deepEqual(
      topOf(room).map((e: any) => e.score),
      [60, 50, 40, 30, 20, 10],
    );
    assert.deepEqual(meOf(room), { rank: 1, score: 60 });
    await sleep(250); // a trailing refresh, if one is due, happens within this
    const elapsed = performance.now() - startedAt;
    const refreshed = (await refreshCount()) - before;
    // 25 writes, 25 announcements: coalesced into at most one refresh per started 100 ms.
    assert.ok(refreshed >= 1, "the writes were refreshed");
    assert.ok(refreshed <= Math.ceil(elapsed / 100) + 1, `${refreshed} refreshes in ${elapsed.toFixed(0)} ms`);
  });

  it("each client receives its own `me` and never another client's", async () => {
    const board = await createBoard();
    const a = await register(t, { displayName: "Alice" });
    const b = await register(t, { displayName: "Bob" });
    // Ten others above both: A's and B's standings are theirs alone, in no one's top 10.
    for (const userId of await makeUsers(10)) await service.submit(board.id, userId, 10_000_000);
    await service.submit(board.id, a.user.id, 10);
    await service.submit(board.id, b.user.id, 20);
    const roomA = await watch(a, board.id);
    // Every state frame A receives, as bytes: B's entry must not be in any of them.
    const frames: Uint8Array[] = [];
    const serializer = (roomA as any).serializer;
    const patch = serializer.patch.bind(serializer);
    serializer.patch = (bytes: Uint8Array, it: unknown) => (frames.push(Uint8Array.from(bytes)), patch(bytes, it));
    const roomB = await watch(b, board.id);
    await waitFor(() => meOf(roomA) !== undefined && meOf(roomB) !== undefined, "both standings");
    assert.deepEqual(meOf(roomA), { rank: 12, score: 10 });
    assert.deepEqual(meOf(roomB), { rank: 11, score: 20 });

    // B's standing changes; A's changes with it (rank) but A sees only its own.
    await service.submit(board.id, b.user.id, 5_000_000);
    await service.submit(board.id, a.user.id, 7_000_000);
    await waitFor(() => meOf(roomB)?.rank === 12 && meOf(roomA)?.rank === 11, "new ranks");
    await waitFor(() => meOf(roomB)?.score === 5_000_000, "B's new score");

    for (const [room, self, other] of [
      [roomA, roomA, roomB],
      [roomB, roomB, roomA],
    ] as const) {
      assert.deepEqual([...room.state.me.keys()], [self.sessionId], "only the client's own entry");
      assert.ok(!JSON.stringify(room.state.toJSON()).includes(other.sessionId));
      // Nothing of the other's entry reached the decoder at all: its only standing object is its own.
      const refs = [...(room as any).serializer.decoder.root.refs.values()];
      const standings = refs.filter(
        (ref: any) => ref?.constructor?.name === "Standing" || hasOnly(ref, "rank", "score"),
      );
      assert.equal(standings.length, 1, "one standing object in the decoder");
    }
    const seen = Buffer.concat(frames);
    assert.ok(frames.length > 0, "A received patches");
    assert.equal(seen.indexOf(Buffer.from(roomB.sessionId)), -1, "B's session id never reached A");
    assert.equal(seen.indexOf(encodedNumber(5_000_000)), -1, "B's score never reached A");
  });

  it("refuses unknown boards, bad ids, missing tokens and `create`; messages get error replies", async () => {
    const viewer = await register(t);
    await assert.rejects(
      sdkFor(t, viewer).joinOrCreate("leaderboard", { boardId: "no-such-board" }),
      /LEADERBOARD_NOT_FOUND/,
    );
    await assert.rejects(sdkFor(t, viewer).joinOrCreate("leaderboard", { boardId: "Not A Slug" }), /INVALID_BOARD/);
    await assert.rejects(sdkFor(t, viewer).joinOrCreate("leaderboard", {}), /INVALID_BOARD/);
    const board = await createBoard();
    await assert.rejects(t.sdk().joinOrCreate("leaderboard", { boardId: board.id }), /UNAUTHORIZED/);
    await assert.rejects(sdkFor(t, viewer).create("leaderboard", { boardId: board.id }), /JOIN_OR_CREATE_ONLY/);

    const room = await watch(viewer, board.id);
    const errors = collect(room, "error");
    room.send("score", { score: 1_000_000 });
    room.send("me", {});
    await waitFor(() => errors.length === 2, "two error replies");
    assert.deepEqual(
      errors.map((e) => e.code),
      ["UNKNOWN_MESSAGE", "UNKNOWN_MESSAGE"],
    );
    // Still connected and still served.
    await submit(board.id, viewer, 7);
    await waitFor(() => meOf(room)?.score === 7, "me after the errors");
  });

  it("rolls over at the period's end by the service clock: rollover message, empty top, no `me`", async () => {
    setClock("2026-12-02T10:00:30.000Z");
    const board = await createBoard({ resetSchedule: "* * * * *" });
    const player = await register(t, { displayName: "Minute" });
    await service.submit(board.id, player.user.id, 99);
    const room = await watch(player, board.id);
    assert.equal(room.state.periodStart, "2026-12-02T10:00:00.000Z");
    assert.equal(room.state.periodEnd, "2026-12-02T10:01:00.000Z");
    await waitFor(() => meOf(room)?.score === 99, "me in the first period");
    assert.equal(room.state.top.length, 1);

    const rollover = nextMessage<Rollover>(room, "period:rollover");
    setClock("2026-12-02T10:01:02.000Z");
    assert.deepEqual(await rollover, {
      boardId: board.id,
      periodStart: "2026-12-02T10:01:00.000Z",
      periodEnd: "2026-12-02T10:02:00.000Z",
    });
    // Sent after the patch: the state already shows the new, empty period.
    assert.equal(room.state.periodStart, "2026-12-02T10:01:00.000Z");
    assert.equal(room.state.periodEnd, "2026-12-02T10:02:00.000Z");
    assert.equal(room.state.top.length, 0);
    assert.equal(meOf(room), undefined);

    // The new period fills from its own writes; the next boundary rolls over again.
    await submit(board.id, player, 5);
    await waitFor(() => meOf(room)?.score === 5, "me in the new period");
    assert.deepEqual(topOf(room), [{ rank: 1, userId: player.user.id, name: "Minute", score: 5 }]);
    const again = nextMessage<Rollover>(room, "period:rollover");
    setClock("2026-12-02T10:02:00.500Z");
    assert.equal((await again).periodStart, "2026-12-02T10:02:00.000Z");
  });

  it("closes when its board was deleted (noticed at the next refresh)", async () => {
    setClock("2026-12-02T10:00:30.000Z");
    const board = await createBoard({ resetSchedule: "* * * * *" });
    const player = await register(t);
    const room = await watch(player, board.id);
    const left = new Promise<number>((resolve) => room.onLeave(resolve));
    const del = await t.fetch(`/api/leaderboards/${board.id}`, { method: "DELETE", headers: bearer(adminToken) });
    assert.equal(del.status, 204);
    setClock("2026-12-02T10:01:00.000Z"); // the period's end: the room reads the board again
    assert.equal(typeof (await left), "number");
    await assert.rejects(sdkFor(t, player).joinOrCreate("leaderboard", { boardId: board.id }), /LEADERBOARD_NOT_FOUND/);
  });

  it("a period longer than a timer can wait rolls over only at its end", async () => {
    setClock("2026-01-02T00:00:00.000Z");
    const board = await createBoard({ resetSchedule: "0 0 1 1 *" }); // yearly: ~364 days away
    const player = await register(t);
    const room = await watch(player, board.id);
    assert.equal(room.state.periodEnd, "2027-01-01T00:00:00.000Z");
    const rollovers = collect<Rollover>(room, "period:rollover");
    setClock("2026-12-31T23:59:59.000Z");
    await sleep(1500); // longer than the room's re-check interval
    assert.equal(rollovers.length, 0, "no rollover before the end");
    setClock("2027-01-01T00:00:00.000Z");
    await waitFor(() => rollovers.length === 1, "the yearly rollover");
    assert.equal(rollovers[0].periodStart, "2027-01-01T00:00:00.000Z");
    assert.equal(rollovers[0].periodEnd, "2028-01-01T00:00:00.000Z");
  });
});

/** An object with exactly these own enumerable fields (a reflected Standing on the client). */
function hasOnly(ref: unknown, ...fields: string[]) {
  if (!ref || typeof ref !== "object") return false;
  const json = (ref as { toJSON?: () => object }).toJSON?.();
  return Boolean(json) && Object.keys(json!).sort().join() === [...fields].sort().join();
}

/** How the schema encoder writes a number of this size (msgpack-style uint32 after its 0xce prefix). */
function encodedNumber(n: number) {
  const buf = Buffer.alloc(5);
  buf[0] = 0xce;
  buf.writeUInt32LE(n, 1);
  return buf;
}
