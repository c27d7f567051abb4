import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { type ScoreOperator, type SortOrder, User } from "../src/entities";
import { createRedis } from "../src/redis";
import { LeaderboardService, type RankedRecord } from "../src/services/leaderboards";
import { compareRankKeys, type RankKey } from "../src/services/rank-index";
import { MemoryRankIndexes } from "../src/services/rank-memory";
import { encodeMember, RedisRankIndexes } from "../src/services/rank-redis";
import { OrderStatisticTree } from "../src/services/rank-tree";
import { isClusterMode, testApp, type TestApp } from "./helpers/app";
import { prng } from "./helpers/prng";

type Row = Pick<RankedRecord, "rank" | "userId" | "score" | "subscore" | "numScore" | "updatedAt">;
const OPERATORS: ScoreOperator[] = ["best", "set", "incr", "decr"];
const ORDERS: SortOrder[] = ["desc", "asc"];
const row = (r: RankedRecord): Row => ({
  rank: r.rank,
  userId: r.userId,
  score: r.score,
  subscore: r.subscore,
  numScore: r.numScore,
  updatedAt: r.updatedAt,
});

/**
 * The rank index (in-process treap, or Redis sorted sets in cluster mode) against PostgreSQL's
 * own answer: row_number() over the period, computed here, on randomized data full of ties.
 */
describe("leaderboard ranks equal SQL's window function", function () {
  this.timeout(60_000);
  let t: TestApp;
  let ds: DataSource;
  let service: LeaderboardService;
  let realNow: () => Date;
  before(async () => {
    t = await testApp();
    ds = t.app.dataSource;
    service = t.app.services.leaderboards;
    realNow = service.clock.now;
  });
  afterEach(() => {
    service.clock.now = realNow;
  });

  const setClock = (at: Date | string) => {
    const d = new Date(at);
    service.clock.now = () => d;
  };
  async function makeUsers(n: number) {
    const saved = await ds
      .getRepository(User)
      .save(Array.from({ length: n }, (_, i) => ({ displayName: `R${i}`, isGuest: true })));
    return saved.map((u) => u.id);
  }
  async function createBoard(sortOrder: SortOrder, operator: ScoreOperator, resetSchedule: string | null = null) {
    const id = `rk-${randomBytes(4).toString("hex")}`;
    await service.create({ id, title: id, sortOrder, operator, resetSchedule, authoritative: false });
    return id;
  }

  /** PostgreSQL's ranks of one period, in rank order. */
  async function sqlRanks(boardId: string, periodStart: Date, order: SortOrder): Promise<Row[]> {
    const k1 = order === "desc" ? "-score" : "score";
    const rows: any[] = await ds.query(
      `SELECT user_id, score, subscore, num_score, updated_at,
              row_number() OVER (ORDER BY ${k1}, -subscore, updated_at, user_id) AS rank
       FROM leaderboard_records WHERE board_id = $1 AND period_start = $2 ORDER BY rank`,
      [boardId, periodStart],
    );
    return rows.map((r) => ({
      rank: Number(r.rank),
      userId: r.user_id,
      score: Number(r.score),
      subscore: Number(r.subscore),
      numScore: r.num_score,
      updatedAt: new Date(r.updated_at).toISOString(),
    }));
  }

  /** Every page forward and back, every user's record and some around-me windows match SQL. */
  async function assertMatchesSql(
    svc: LeaderboardService,
    boardId: string,
    order: SortOrder,
    period: string,
    periodStart: Date,
    random: () => number,
  ) {
    const expected = await sqlRanks(boardId, periodStart, order);
    const limit = 1 + Math.floor(random() * 9);
    const forward: Row[] = [];
    let page = await svc.records(boardId, { limit, period });
    forward.push(...page.records.map(row));
    const cursors: string[] = [];
    while (page.nextCursor) {
      cursors.push(page.nextCursor);
      page = await svc.records(boardId, { limit, cursor: page.nextCursor, period });
      forward.push(...page.records.map(row));
    }
    assert.deepEqual(forward, expected, `pages of ${limit} from the top`);
    const backward: Row[] = [...page.records.map(row)];
    while (page.prevCursor) {
      page = await svc.records(boardId, { limit, cursor: page.prevCursor, period });
      backward.unshift(...page.records.map(row));
    }
    assert.deepEqual(backward, expected, "pages back from the bottom");
    for (const e of expected) {
      assert.deepEqual(row((await svc.record(boardId, e.userId, period)).record), e, `record of ${e.userId}`);
    }
    for (let i = 0; i < 4 && expected.length; i++) {
      const me = expected[Math.floor(random() * expected.length)];
      const around = await svc.around(boardId, me.userId, { limit: 3, period });
      const at = me.rank - 1;
      assert.deepEqual(around.records.map(row), expected.slice(Math.max(0, at - 3), at + 4), `around ${me.rank}`);
    }
    return expected;
  }

  /** A random write of this board's operator: few distinct values, few distinct instants (ties). */
  function randomWrite(random: () => number, users: string[], base: number) {
    const userId = users[Math.floor(random() * users.length)];
    const score = Math.floor(random() * 5) * 10 - (random() < 0.2 ? 20 : 0);
    const subscore = Math.floor(random() * 3);
    const at = new Date(base + Math.floor(random() * 4) * 1000);
    return { userId, score, subscore, at };
  }

  it("JS string order of lowercase uuids is PostgreSQL's uuid order", async () => {
    const hex = "0123456789abcdef";
    const ids = Array.from({ length: 200 }, (_, i) =>
      i % 2
        ? randomUUID()
        : // Same prefix, differing late, digits against letters.
          `${hex[i % 16]}${hex[(i >> 4) % 16]}000000-0000-4000-8000-${"0".repeat(11)}${hex[(i * 7) % 16]}`,
    );
    const unique = [...new Set(ids)];
    const rows: Array<{ id: string }> = await ds.query(`SELECT id FROM unnest($1::uuid[]) AS id ORDER BY id`, [unique]);
    assert.deepEqual(
      rows.map((r) => r.id),
      [...unique].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  });

  it("the Redis member encoding sorts like the comparator, across the whole safe range", () => {
    const random = prng(7);
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
    const numbers = [-(2 ** 53 - 1), -(2 ** 52), -1e15, -3, -1, 0, 1, 2, 1e15, 2 ** 52, 2 ** 53 - 1];
    const users = Array.from({ length: 4 }, () => randomUUID());
    const keys: RankKey[] = Array.from({ length: 400 }, () => ({
      score: pick(numbers),
      subscore: pick(numbers),
      updatedAtMs: pick([-86_400_000, 0, 1_796_000_000_000, 1_796_000_000_001]),
      userId: pick(users),
    }));
    for (const order of ORDERS) {
      for (let i = 0; i < 2000; i++) {
        const a = pick(keys);
        const b = pick(keys);
        const ma = encodeMember(order, a);
        const mb = encodeMember(order, b);
        const byBytes = ma < mb ? -1 : ma > mb ? 1 : 0;
        assert.equal(byBytes, Math.sign(compareRankKeys(order, a, b)), JSON.stringify({ order, a, b }));
      }
    }
  });

  it("the treap agrees with a sorted array under random inserts and removes", () => {
    const random = prng(99);
    const tree = new OrderStatisticTree<number>((a, b) => a - b);
    // Loaded in one go (as a rebuild does), then changed one key at a time.
    let sorted = [...new Set(Array.from({ length: 300 }, () => Math.floor(random() * 500)))].sort((a, b) => a - b);
    tree.load(sorted);
    assert.deepEqual(tree.slice(0, 1000), sorted);
    for (let i = 0; i < 3000; i++) {
      const v = Math.floor(random() * 500);
      const at = sorted.indexOf(v);
      if (at >= 0 && random() < 0.5) {
        assert.equal(tree.remove(v), true);
        sorted.splice(at, 1);
      } else if (at < 0) {
        tree.insert(v);
        sorted = [...sorted, v].sort((a, b) => a - b);
      }
      const probe = Math.floor(random() * 500);
      assert.equal(tree.countBefore(probe), sorted.filter((x) => x < probe).length);
      assert.equal(tree.countBefore(probe, true), sorted.filter((x) => x <= probe).length);
      const from = Math.floor(random() * (sorted.length + 2));
      assert.deepEqual(tree.slice(from, 5), sorted.slice(from, from + 5));
    }
    assert.equal(tree.size, sorted.length);
    assert.equal(tree.remove(-1), false);
  });

  for (const order of ORDERS) {
    for (const operator of OPERATORS) {
      it(`${operator} ${order}: random writes with ties; a dropped index rebuilds to the same answer`, async () => {
        const random = prng(OPERATORS.indexOf(operator) * 10 + ORDERS.indexOf(order) + 1);
        const board = await createBoard(order, operator);
        const users = await makeUsers(40);
        const base = Date.parse("2026-12-01T10:00:00Z");
        // Built (empty) before the writes: they are applied to it one by one.
        assert.deepEqual((await service.records(board, { limit: 5 })).records, []);
        for (let i = 0; i < 160; i++) {
          const w = randomWrite(random, users, base);
          await service.submit(board, w.userId, w.score, w.subscore, { at: w.at });
          if (i % 80 === 79) await assertMatchesSql(service, board, order, "current", new Date(0), random);
        }
        const before = await assertMatchesSql(service, board, order, "current", new Date(0), random);
        assert.ok(before.length > 20 && new Set(before.map((r) => r.score)).size < before.length, "ties");
        await service.ranks.dropBoard(board);
        assert.deepEqual(await assertMatchesSql(service, board, order, "current", new Date(0), random), before);
      });
    }
  }

  it("writes racing a rebuild are not lost", async () => {
    const random = prng(4242);
    const board = await createBoard("desc", "incr");
    const users = await makeUsers(30);
    const base = Date.parse("2026-12-01T10:00:00Z");
    for (const id of users) await service.submit(board, id, 1, 0, { at: new Date(base) });
    for (let round = 0; round < 3; round++) {
      await service.ranks.dropBoard(board);
      const writes = Array.from({ length: 25 }, () => randomWrite(random, users, base + 10_000 * (round + 1)));
      await Promise.all([
        service.records(board, { limit: 3 }),
        ...writes.map((w) => service.submit(board, w.userId, w.score + 1, w.subscore, { at: w.at })),
        service.record(board, users[0]),
      ]);
      await assertMatchesSql(service, board, "desc", "current", new Date(0), random);
    }
  });

  it("period rollover at the exact boundary, and after a restart, per period", async () => {
    const random = prng(2026);
    const board = await createBoard("desc", "best", "0 0 * * *");
    const users = await makeUsers(30);
    const day1 = Date.parse("2026-12-01T00:00:00Z");
    const boundary = Date.parse("2026-12-02T00:00:00Z");
    setClock(new Date(boundary - 1));
    for (let i = 0; i < 60; i++) {
      const w = randomWrite(random, users, boundary - 4000);
      await service.submit(board, w.userId, w.score, w.subscore, { at: w.at });
    }
    const previous = await assertMatchesSql(service, board, "desc", "current", new Date(day1), random);
    assert.ok(previous.length > 0);
    setClock(new Date(boundary)); // the first instant of the new period
    assert.deepEqual((await service.records(board, { limit: 10 })).records, [], "a new period starts empty");
    for (let i = 0; i < 60; i++) {
      const w = randomWrite(random, users, boundary);
      await service.submit(board, w.userId, w.score, w.subscore, { at: w.at });
    }
    // A late write for the old period (its result happened before midnight) lands there.
    await service.submit(board, users[0], 1000, 0, { at: new Date(boundary - 1) });
    const current = await assertMatchesSql(service, board, "desc", "current", new Date(boundary), random);
    const old = await assertMatchesSql(service, board, "desc", "previous", new Date(day1), random);
    assert.equal(old[0].userId, users[0]);

    // A restart: a fresh service (fresh in-process indexes; Redis keys as they are) answers the same.
    const restarted = new LeaderboardService(ds, undefined, undefined, service.clock, freshRanks());
    assert.deepEqual(await assertMatchesSql(restarted, board, "desc", "current", new Date(boundary), random), current);
    assert.deepEqual(await assertMatchesSql(restarted, board, "desc", "previous", new Date(day1), random), old);
  });

  it("delete and re-create: the board starts empty", async () => {
    const board = await createBoard("asc", "set");
    const [a, b] = await makeUsers(2);
    await service.submit(board, a, 5);
    await service.submit(board, b, 7);
    assert.equal((await service.records(board, { limit: 10 })).records.length, 2);
    await service.delete(board);
    await service.create({
      id: board,
      title: "again",
      sortOrder: "asc",
      operator: "set",
      resetSchedule: null,
      authoritative: false,
    });
    assert.deepEqual((await service.records(board, { limit: 10 })).records, []);
    assert.equal((await service.submit(board, b, 9)).rank, 1);
    assert.deepEqual(
      (await service.topWithRanks(board, 10)).map((r) => [r.rank, r.userId, r.score]),
      [[1, b, 9]],
    );
    assert.equal(await service.rankOf(board, a), undefined);
  });

  it("a repeated idempotency key counts once; writes to a deleted board are 404 even through a cached definition", async () => {
    const board = await createBoard("desc", "incr");
    const [a] = await makeUsers(1);
    const key = `round-${randomUUID()}`;
    const first = await service.submit(board, a, 5, 0, { idempotencyKey: key });
    const again = await service.submit(board, a, 5, 0, { idempotencyKey: key });
    assert.deepEqual(again, first);
    assert.deepEqual([first.rank, first.score, first.numScore], [1, 5, 1]);
    assert.equal((await service.submit(board, a, 2, 0, { idempotencyKey: `${key}-2` })).score, 7);
    // A second process has the definition cached when the board is deleted here.
    const other = new LeaderboardService(ds, undefined, undefined, service.clock, freshRanks());
    await other.records(board, { limit: 1 });
    await service.delete(board);
    for (const write of [
      () => other.submit(board, a, 1),
      () => other.submit(board, a, 1, 0, { idempotencyKey: key }),
    ]) {
      await assert.rejects(write(), (err: any) => err.code === "LEADERBOARD_NOT_FOUND");
    }
    assert.deepEqual((await ds.query(`SELECT * FROM leaderboard_records WHERE board_id = $1`, [board])).length, 0);
  });

  it("sums leaving the safe range are refused whole (decr, subscores) and the index keeps the row", async () => {
    const max = Number.MAX_SAFE_INTEGER;
    const [a, b] = await makeUsers(2);
    const decr = await createBoard("desc", "decr");
    assert.equal((await service.submit(decr, a, max)).score, -max);
    const refused = (p: Promise<unknown>) => assert.rejects(p, (err: any) => err.code === "SCORE_OUT_OF_RANGE");
    await refused(service.submit(decr, a, 1));
    await refused(service.submit(decr, b, max + 1));
    const incr = await createBoard("desc", "incr");
    await service.submit(incr, a, 1, max - 1);
    await refused(service.submit(incr, a, 0, 2));
    assert.deepEqual(row((await service.record(incr, a)).record), (await sqlRanks(incr, new Date(0), "desc"))[0]);
    assert.deepEqual(
      [(await service.record(decr, a)).record.score, (await service.record(decr, a)).record.numScore],
      [-max, 1],
    );
  });

  it("topWithRanks and rankOf read the current period; HTTP pages carry the same ranks", async () => {
    const random = prng(5);
    const board = await createBoard("desc", "set");
    const users = await makeUsers(25);
    for (const id of users) await service.submit(board, id, Math.floor(random() * 4), Math.floor(random() * 2));
    const expected = await sqlRanks(board, new Date(0), "desc");
    assert.deepEqual((await service.topWithRanks(board, 10)).map(row), expected.slice(0, 10));
    assert.deepEqual(row((await service.rankOf(board, expected[17].userId))!), expected[17]);
    // A uuid in capitals (valid in a URL) names the same user, as it does for PostgreSQL.
    assert.deepEqual(row((await service.record(board, expected[3].userId.toUpperCase())).record), expected[3]);
    const around = await service.around(board, expected[3].userId.toUpperCase(), { limit: 1 });
    assert.deepEqual(around.records.map(row), expected.slice(2, 5));
    const res = await t.fetch(`/api/leaderboards/${board}/records?limit=100`);
    const body = (await res.json()) as { records: RankedRecord[] };
    assert.deepEqual(body.records.map(row), expected);
  });

  it("in-process indexes idle too long are evicted and rebuilt on the next read", async () => {
    let now = 0;
    const ranks = new MemoryRankIndexes({ idleMs: 1000, now: () => now });
    const scope = (boardId: string) => ({
      boardId,
      generation: 1,
      periodStart: new Date(0),
      sortOrder: "desc" as const,
    });
    const entry = (userId: string, score: number) => ({ userId, score, subscore: 0, updatedAtMs: 0, version: 1 });
    let builds = 0;
    const source = async (after: string | undefined) => {
      builds++;
      return after ? [] : [entry(randomUUID(), 3)];
    };
    await ranks.open(scope("a"), source);
    now = 500;
    await ranks.open(scope("b"), source);
    now = 1200; // a idle 1200 ms, b 700 ms
    const again = await ranks.open(scope("b"), source);
    assert.equal(ranks.size, 1, "a was evicted");
    assert.equal(builds, 2);
    assert.equal(await again.count(), 1);
    await ranks.open(scope("a"), source);
    assert.equal(builds, 3, "a rebuilt");
  });

  describe("two processes sharing Redis", () => {
    it("agree with each other and with SQL after concurrent writes through both", async function () {
      if (!isClusterMode()) {
        console.log("    (skipped: set DATABASE_URL and REDIS_URL to run the Redis rank tests)");
        this.skip();
      }
      const random = prng(31337);
      const board = await createBoard("desc", "incr");
      const users = await makeUsers(30);
      const other = new LeaderboardService(ds, undefined, undefined, service.clock, freshRanks());
      const base = Date.parse("2026-12-01T10:00:00Z");
      await other.records(board, { limit: 1 });
      await Promise.all(
        Array.from({ length: 120 }, (_, i) => {
          const w = randomWrite(random, users, base);
          return (i % 2 ? service : other).submit(board, w.userId, w.score + 1, w.subscore, { at: w.at });
        }),
      );
      const a = await assertMatchesSql(service, board, "desc", "current", new Date(0), random);
      const b = await assertMatchesSql(other, board, "desc", "current", new Date(0), random);
      assert.deepEqual(a, b);
      // Redis lost its data (FLUSH): the next read rebuilds from PostgreSQL.
      await (other.ranks as RedisRankIndexes).client.del(...(await rankKeys(board)));
      assert.deepEqual(await assertMatchesSql(other, board, "desc", "current", new Date(0), random), a);
    });
  });

  /** A second process's rank indexes: a new Redis client on the same keys, or fresh in-process ones. */
  const clients: Array<{ quit(): Promise<unknown> }> = [];
  function freshRanks() {
    if (!(service.ranks instanceof RedisRankIndexes)) return new MemoryRankIndexes();
    const client = createRedis(process.env.REDIS_URL!);
    clients.push(client);
    return new RedisRankIndexes(client, t.app.config.REDIS_KEY_PREFIX);
  }
  async function rankKeys(boardId: string): Promise<string[]> {
    const redis = (service.ranks as RedisRankIndexes).client;
    return redis.keys(`${t.app.config.REDIS_KEY_PREFIX}lb:{${boardId}}:*`);
  }
  after(async () => {
    for (const c of clients.splice(0)) await c.quit();
  });
});
