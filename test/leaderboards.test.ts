import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { User } from "../src/entities";
import type { LeaderboardService } from "../src/services/leaderboards";
import { ADMIN, testApp, type TestApp } from "./helpers/app";
import { createBoard as createBoardAs } from "./helpers/leaderboards";
import { prng } from "./helpers/prng";
import { type Account, bearer, json, login, register } from "./helpers/users";

interface Rec {
  rank: number;
  userId: string;
  score: number;
  subscore: number;
  numScore: number;
  updatedAt: string;
}

describe("leaderboards", () => {
  let t: TestApp;
  let service: LeaderboardService;
  let adminToken: string;
  let realNow: () => Date;
  before(async () => {
    t = await testApp();
    service = t.app.services.leaderboards;
    realNow = service.clock.now;
    adminToken = (await login(ADMIN.email, ADMIN.password, t)).accessToken;
  });
  afterEach(() => {
    service.clock.now = realNow;
  });

  const slug = (tag: string) => `${tag}-${randomBytes(4).toString("hex")}`;
  const setClock = (iso: string) => {
    service.clock.now = () => new Date(iso);
  };
  const createBoard = (overrides: Record<string, unknown> = {}) => createBoardAs(t, adminToken, overrides);
  async function submit(board: string, account: Account, score: number, subscore?: number) {
    const res = await t.fetch(
      `/api/leaderboards/${board}/records`,
      json({ score, subscore }, bearer(account.accessToken)),
    );
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Rec;
  }
  async function getJson(path: string, expected = 200) {
    const res = await t.fetch(path);
    assert.equal(res.status, expected, await res.clone().text());
    return res.json();
  }
  /** Users made directly in the database: registering 50 through argon2 would only slow the test. */
  async function makeUsers(n: number) {
    const users = t.app.dataSource.getRepository(User);
    const saved = await users.save(Array.from({ length: n }, (_, i) => ({ displayName: `P${i}`, isGuest: true })));
    return saved.map((u) => u.id);
  }

  it("seeds the four whack boards, authoritative, with their periods", async () => {
    setClock("2026-12-02T16:42:00Z"); // a Wednesday
    const { leaderboards } = await getJson("/api/leaderboards");
    const byId = new Map<string, any>(leaderboards.map((b: any) => [b.id, b]));
    assert.deepEqual(
      ["whack-daily", "whack-weekly", "whack-alltime", "whack-moles"].map((id) => {
        const b = byId.get(id);
        return [b.operator, b.sortOrder, b.resetSchedule, b.authoritative, b.periodStart, b.periodEnd];
      }),
      [
        ["best", "desc", "0 0 * * *", true, "2026-12-02T00:00:00.000Z", "2026-12-03T00:00:00.000Z"],
        ["best", "desc", "0 0 * * 1", true, "2026-11-30T00:00:00.000Z", "2026-12-07T00:00:00.000Z"],
        ["best", "desc", null, true, null, null],
        ["incr", "desc", null, true, null, null],
      ],
    );
  });

  it("admins alone create and delete; bad definitions are 400, a taken id 409", async () => {
    const user = await register(t);
    const body = {
      id: slug("adm"),
      title: "T",
      sortOrder: "asc",
      operator: "set",
      resetSchedule: null,
      authoritative: false,
    };
    assert.equal((await t.fetch("/api/leaderboards", json(body))).status, 401);
    assert.equal((await t.fetch("/api/leaderboards", json(body, bearer(user.accessToken)))).status, 403);
    for (const bad of [
      { ...body, id: "Not A Slug" },
      { ...body, sortOrder: "up" },
      { ...body, operator: "max" },
      { ...body, resetSchedule: "every day" },
      { ...body, resetSchedule: "0 0 * * 9" },
      { ...body, extra: 1 },
    ]) {
      const res = await t.fetch("/api/leaderboards", json(bad, bearer(adminToken)));
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal((await res.json()).error.code, "VALIDATION_FAILED");
    }
    assert.equal((await t.fetch("/api/leaderboards", json(body, bearer(adminToken)))).status, 201);
    const again = await t.fetch("/api/leaderboards", json({ ...body, title: "Other" }, bearer(adminToken)));
    assert.equal(again.status, 409);
    assert.equal((await again.json()).error.code, "LEADERBOARD_EXISTS");
    const del = (token?: string) =>
      t.fetch(`/api/leaderboards/${body.id}`, { method: "DELETE", headers: token ? bearer(token) : {} });
    assert.equal((await del()).status, 401);
    assert.equal((await del(user.accessToken)).status, 403);
    assert.equal((await del(adminToken)).status, 204);
    assert.equal((await del(adminToken)).status, 404);
  });

  it("players cannot write authoritative boards (403) nor unknown ones (404); the game can", async () => {
    const player = await register(t);
    const res = await t.fetch(
      "/api/leaderboards/whack-alltime/records",
      json({ score: 10 }, bearer(player.accessToken)),
    );
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error.code, "LEADERBOARD_AUTHORITATIVE");
    await getJson(`/api/leaderboards/whack-alltime/records/${player.user.id}`, 404);
    assert.equal(
      (await t.fetch("/api/leaderboards/no-such-board/records", json({ score: 1 }, bearer(player.accessToken)))).status,
      404,
    );
    assert.equal((await t.fetch("/api/leaderboards/whack-alltime/records", json({ score: 1 }))).status, 401);
    assert.equal(
      (await t.fetch("/api/leaderboards/whack-alltime/records", json({ score: 1.5 }, bearer(player.accessToken))))
        .status,
      400,
    );
    const auth = await service.submit("whack-moles", player.user.id, 3);
    assert.equal(auth.score, 3);
    await getJson("/api/leaderboards/no-such-board/records", 404);
  });

  it("best keeps the better score by sort order; a worse one succeeds and changes nothing", async () => {
    const player = await register(t);
    const desc = await createBoard({ operator: "best", sortOrder: "desc" });
    setClock("2026-12-01T10:00:00Z");
    assert.deepEqual(pick(await submit(desc.id, player, 50, 1)), [50, 1, 1, "2026-12-01T10:00:00.000Z"]);
    setClock("2026-12-01T10:01:00Z");
    assert.deepEqual(pick(await submit(desc.id, player, 40, 9)), [50, 1, 1, "2026-12-01T10:00:00.000Z"]);
    assert.deepEqual(pick(await submit(desc.id, player, 50, 1)), [50, 1, 1, "2026-12-01T10:00:00.000Z"]);
    assert.deepEqual(pick(await submit(desc.id, player, 50, 2)), [50, 2, 2, "2026-12-01T10:01:00.000Z"]);
    assert.deepEqual(pick(await submit(desc.id, player, 70)), [70, 0, 3, "2026-12-01T10:01:00.000Z"]);
    const asc = await createBoard({ operator: "best", sortOrder: "asc" });
    await submit(asc.id, player, 50);
    assert.equal((await submit(asc.id, player, 60)).score, 50);
    assert.equal((await submit(asc.id, player, 30)).score, 30);
  });

  it("set replaces; incr and decr add (by 0: nothing changes)", async () => {
    const player = await register(t);
    const set = await createBoard({ operator: "set" });
    await submit(set.id, player, 50);
    assert.deepEqual(pick(await submit(set.id, player, 20, 4)).slice(0, 3), [20, 4, 2]);
    assert.deepEqual(pick(await submit(set.id, player, 20, 4)).slice(0, 3), [20, 4, 2], "same values: unchanged");
    const incr = await createBoard({ operator: "incr" });
    await submit(incr.id, player, 5);
    assert.deepEqual(pick(await submit(incr.id, player, 7, 2)).slice(0, 3), [12, 2, 2]);
    assert.deepEqual(pick(await submit(incr.id, player, 0)).slice(0, 3), [12, 2, 2]);
    assert.deepEqual(pick(await submit(incr.id, player, -2)).slice(0, 3), [10, 2, 3]);
    const decr = await createBoard({ operator: "decr" });
    assert.equal((await submit(decr.id, player, 5)).score, -5);
    assert.equal((await submit(decr.id, player, 3)).score, -8);
  });

  it("a total past the safe integer range is refused (409) and changes nothing", async () => {
    const board = await createBoard({ operator: "incr" });
    const player = await register(t);
    for (let i = 1; i <= 9; i++) assert.equal((await submit(board.id, player, 1e15)).score, i * 1e15);
    const res = await t.fetch(
      `/api/leaderboards/${board.id}/records`,
      json({ score: 1e15 }, bearer(player.accessToken)),
    );
    assert.equal(res.status, 409);
    assert.equal((await res.json()).error.code, "SCORE_OUT_OF_RANGE");
    const { record } = await getJson(`/api/leaderboards/${board.id}/records/${player.user.id}`);
    assert.deepEqual([record.score, record.numScore], [9e15, 9]);
  });

  it("ties rank by higher subscore, then earlier updatedAt, then user id", async () => {
    const board = await createBoard({ operator: "set" });
    const [a, b, c, d, e] = await makeUsers(5);
    setClock("2026-12-01T10:00:00Z");
    await service.submit(board.id, a, 100, 1);
    await service.submit(board.id, b, 100, 5);
    await service.submit(board.id, d, 90, 0);
    await service.submit(board.id, e, 90, 0);
    setClock("2026-12-01T10:05:00Z");
    await service.submit(board.id, c, 100, 1);
    const { records } = await getJson(`/api/leaderboards/${board.id}/records`);
    const [first, second] = [d, e].sort();
    assert.deepEqual(
      records.map((r: Rec) => [r.rank, r.userId]),
      [
        [1, b],
        [2, a],
        [3, c],
        [4, first],
        [5, second],
      ],
    );
  });

  describe("50 players", () => {
    let board: string;
    let expected: string[];
    let ids: string[];
    before(async () => {
      board = (await createBoard({ operator: "set" })).id;
      ids = await makeUsers(50);
      const random = prng(13);
      const scores = new Map<string, [number, number]>();
      setClock("2026-12-01T10:00:00Z"); // one instant: ties fall through to the user id
      for (const id of ids) {
        const entry: [number, number] = [Math.floor(random() * 10), Math.floor(random() * 3)];
        scores.set(id, entry);
        await service.submit(board, id, ...entry);
      }
      expected = [...ids].sort((x, y) => {
        const [sx, ssx] = scores.get(x)!;
        const [sy, ssy] = scores.get(y)!;
        return sy - sx || ssy - ssx || (x < y ? -1 : 1);
      });
    });

    it("ranks are exact, 1..n; one record carries its rank", async () => {
      const { records } = await getJson(`/api/leaderboards/${board}/records?limit=100`);
      assert.deepEqual(
        records.map((r: Rec) => r.userId),
        expected,
      );
      assert.deepEqual(
        records.map((r: Rec) => r.rank),
        expected.map((_, i) => i + 1),
      );
      const { record } = await getJson(`/api/leaderboards/${board}/records/${expected[17]}`);
      assert.equal(record.rank, 18);
      await getJson(`/api/leaderboards/${board}/records/${(await makeUsers(1))[0]}`, 404);
    });

    it("cursors page forward and back without gaps or duplicates", async () => {
      const forward: Rec[][] = [];
      let page = await getJson(`/api/leaderboards/${board}/records?limit=7`);
      assert.equal(page.prevCursor, null);
      forward.push(page.records);
      while (page.nextCursor) {
        page = await getJson(`/api/leaderboards/${board}/records?limit=7&cursor=${page.nextCursor}`);
        forward.push(page.records);
      }
      assert.deepEqual(
        forward.flat().map((r) => r.userId),
        expected,
      );
      assert.deepEqual(
        forward.map((p) => p.length),
        [7, 7, 7, 7, 7, 7, 7, 1],
      );
      const backward: Rec[][] = [page.records];
      while (page.prevCursor) {
        page = await getJson(`/api/leaderboards/${board}/records?limit=7&cursor=${page.prevCursor}`);
        backward.unshift(page.records);
      }
      assert.deepEqual(
        backward.flat().map((r) => r.userId),
        expected,
      );
      assert.deepEqual(
        backward.flat().map((r) => r.rank),
        expected.map((_, i) => i + 1),
      );
    });

    it("around a user: at the top, in the middle, at the bottom", async () => {
      const around = async (userId: string) =>
        (await getJson(`/api/leaderboards/${board}/records/around/${userId}?limit=3`)).records.map(
          (r: Rec) => r.userId,
        );
      assert.deepEqual(await around(expected[0]), expected.slice(0, 4));
      assert.deepEqual(await around(expected[25]), expected.slice(22, 29));
      assert.deepEqual(await around(expected[49]), expected.slice(46, 50));
    });

    it("bad cursors, limits and periods are 400", async () => {
      const page = await getJson(`/api/leaderboards/${board}/records?limit=5`);
      const other = await createBoard();
      for (const query of [
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=garbage",
        `cursor=${Buffer.from("{}").toString("base64url")}`,
        "period=yesterday",
        "period=previous", // this board never resets
      ]) {
        const res = await t.fetch(`/api/leaderboards/${board}/records?${query}`);
        assert.equal(res.status, 400, query);
        assert.equal((await res.json()).error.code, "VALIDATION_FAILED");
      }
      const foreign = await t.fetch(`/api/leaderboards/${other.id}/records?cursor=${page.nextCursor}`);
      assert.equal(foreign.status, 400, "a cursor is bound to its board");
    });
  });

  it("periods: a record stays in its period; previous and an ISO start read it back", async () => {
    const board = await createBoard({ resetSchedule: "0 0 * * *" });
    const player = await register(t);
    setClock("2026-12-01T23:59:00Z");
    await submit(board.id, player, 42);
    await service.submit(board.id, (await makeUsers(1))[0], 41);
    const today = await getJson(`/api/leaderboards/${board.id}/records`);
    assert.deepEqual([today.periodStart, today.periodEnd], ["2026-12-01T00:00:00.000Z", "2026-12-02T00:00:00.000Z"]);
    assert.equal(today.records.length, 2);
    const { nextCursor } = await getJson(`/api/leaderboards/${board.id}/records?limit=1`);
    setClock("2026-12-02T00:00:00Z");
    const next = await getJson(`/api/leaderboards/${board.id}/records`);
    assert.equal(next.periodStart, "2026-12-02T00:00:00.000Z");
    assert.deepEqual(next.records, []);
    await getJson(`/api/leaderboards/${board.id}/records/${player.user.id}`, 404);
    const previous = await getJson(`/api/leaderboards/${board.id}/records?period=previous`);
    assert.deepEqual(
      previous.records.map((r: Rec) => [r.userId, r.score]),
      [
        [player.user.id, 42],
        [previous.records[1]?.userId, 41],
      ],
    );
    await getJson(`/api/leaderboards/${board.id}/records?period=previous&limit=1&cursor=${nextCursor}`);
    await getJson(`/api/leaderboards/${board.id}/records?limit=1&cursor=${nextCursor}`, 400);
    const byStart = await getJson(
      `/api/leaderboards/${board.id}/records/${player.user.id}?period=2026-12-01T00:00:00.000Z`,
    );
    assert.equal(byStart.record.score, 42);
    assert.equal((await submit(board.id, player, 7)).score, 7, "the new period starts from nothing");
    // A cursor of one period is refused in another; a time that is not a period start is refused.
    await getJson(`/api/leaderboards/${board.id}/records?period=2026-12-01T05:00:00.000Z`, 400);
    await getJson(`/api/leaderboards/${board.id}/records?period=2026-12-09T00:00:00.000Z`, 400);
  });

  it("around me needs a bearer token and a record", async () => {
    const board = await createBoard();
    const player = await register(t);
    const other = await register(t);
    await submit(board.id, player, 5);
    await submit(board.id, other, 9);
    const res = await t.fetch(`/api/leaderboards/${board.id}/records/around/me`, {
      headers: bearer(player.accessToken),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      (await res.json()).records.map((r: Rec) => r.userId),
      [other.user.id, player.user.id],
    );
    assert.equal((await t.fetch(`/api/leaderboards/${board.id}/records/around/me`)).status, 401);
    const stranger = await register(t);
    const none = await t.fetch(`/api/leaderboards/${board.id}/records/around/me`, {
      headers: bearer(stranger.accessToken),
    });
    assert.equal(none.status, 404);
  });

  it("delete removes the records: a board re-created with the same id starts empty", async () => {
    const board = await createBoard({ operator: "incr" });
    const player = await register(t);
    await submit(board.id, player, 5);
    assert.equal(
      (await t.fetch(`/api/leaderboards/${board.id}`, { method: "DELETE", headers: bearer(adminToken) })).status,
      204,
    );
    await getJson(`/api/leaderboards/${board.id}/records`, 404);
    await createBoard({ id: board.id, operator: "incr" });
    assert.deepEqual((await getJson(`/api/leaderboards/${board.id}/records`)).records, []);
    assert.equal((await submit(board.id, player, 2)).score, 2);
  });

  it("20 parallel increments by one user add up exactly", async () => {
    const board = await createBoard({ operator: "incr" });
    const player = await register(t);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.fetch(`/api/leaderboards/${board.id}/records`, json({ score: i + 1 }, bearer(player.accessToken))),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      Array(20).fill(200),
    );
    const { record } = await getJson(`/api/leaderboards/${board.id}/records/${player.user.id}`);
    assert.deepEqual([record.score, record.numScore], [210, 20]);
  });
});

const pick = (r: Rec) => [r.score, r.subscore, r.numScore, r.updatedAt];
