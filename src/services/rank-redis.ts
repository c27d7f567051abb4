import { createHash, randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { SortOrder } from "../entities";
import type { RankEntry, RankIndex, RankIndexes, RankKey, RankScope, RankSource } from "./rank-index";
import { scopeId } from "./rank-index";
import { REBUILD_BATCH } from "./rank-memory";

/** 2^53: added to every number so the range ±2^53 encodes as 0…2^54 (14 hex digits). */
const OFFSET = 2n ** 53n;
const NUMBER_WIDTH = 14;
const UUID_WIDTH = 36;
/** A building marker not refreshed this long belongs to a builder that died: another takes over. */
const BUILDING_TTL_SEC = 30;
/** Keys of a period nobody writes expire after a week; a read after that rebuilds them. */
const RETAIN_SEC = 7 * 24 * 3600;
const WAIT_STEP_MS = 25;
const WAIT_LIMIT_MS = 60_000;

function encodeNumber(n: number): string {
  return (BigInt(n) + OFFSET).toString(16).padStart(NUMBER_WIDTH, "0");
}

/**
 * A record as a sorted-set member whose byte order is the rank order (all members score 0,
 * so Redis orders them lexicographically): fixed-width hex of the direction-adjusted score, the
 * inverted subscore and updatedAt ms, then the user id (canonical lowercase uuid).
 */
export function encodeMember(order: SortOrder, key: RankKey): string {
  return (
    encodeNumber(order === "desc" ? -key.score : key.score) +
    encodeNumber(-key.subscore) +
    encodeNumber(key.updatedAtMs) +
    key.userId.toLowerCase()
  );
}

const userOf = (member: string) => member.slice(member.length - UUID_WIDTH);

/** EVALSHA, loading the script once per Redis (restart or flush: NOSCRIPT, then EVAL). */
class Script {
  private readonly sha: string;
  constructor(private readonly lua: string) {
    this.sha = createHash("sha1").update(lua).digest("hex");
  }
  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error)?.message).includes("NOSCRIPT")) throw err;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

// KEYS: marker, zset, hash. ARGV: required marker ("" = any), TTL of the keys (a building marker
// keeps its own unless it is the required one), then (userId, version, member) triples. Returns entries applied, or -1 when the marker is absent
// or not the required one (the index is not built nor being built by this builder).
const UPSERT = new Script(`
local m = redis.call('GET', KEYS[1])
if not m or (ARGV[1] ~= '' and m ~= ARGV[1]) then return -1 end
local n = 0
for i = 3, #ARGV, 3 do
  local user, ver, member = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local old = redis.call('HGET', KEYS[3], user)
  local newer = true
  if old then
    local sep = string.find(old, ':', 1, true)
    if tonumber(string.sub(old, 1, sep - 1)) >= ver then newer = false
    else redis.call('ZREM', KEYS[2], string.sub(old, sep + 1)) end
  end
  if newer then
    redis.call('ZADD', KEYS[2], 0, member)
    redis.call('HSET', KEYS[3], user, ARGV[i + 1] .. ':' .. member)
    n = n + 1
  end
end
local ttl = tonumber(ARGV[2])
if m == 'built' or ARGV[1] ~= '' then redis.call('EXPIRE', KEYS[1], ttl) end
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[3], ttl)
return n`);

// KEYS: marker, zset, hash. ARGV: userId.
const REMOVE = new Script(`
if redis.call('GET', KEYS[1]) ~= 'built' then return -1 end
local old = redis.call('HGET', KEYS[3], ARGV[1])
if not old then return 0 end
redis.call('ZREM', KEYS[2], string.sub(old, string.find(old, ':', 1, true) + 1))
redis.call('HDEL', KEYS[3], ARGV[1])
return 1`);

// Reads answer false (nil to the client) when the index is not built: the caller rebuilds.
// KEYS: marker, zset, hash. ARGV: userId. Returns {rank0} or {} when the user has no record.
const RANK = new Script(`
if redis.call('GET', KEYS[1]) ~= 'built' then return false end
local old = redis.call('HGET', KEYS[3], ARGV[1])
if not old then return {} end
return {redis.call('ZRANK', KEYS[2], string.sub(old, string.find(old, ':', 1, true) + 1))}`);

// KEYS: marker, zset. ARGV: lexical upper bound ("(m" or "[m"). Returns {count}.
const COUNT_BEFORE = new Script(`
if redis.call('GET', KEYS[1]) ~= 'built' then return false end
return {redis.call('ZLEXCOUNT', KEYS[2], '-', ARGV[1])}`);

// KEYS: marker, zset. ARGV: start, stop (0-based, inclusive). Returns {"ok", members...}.
const RANGE = new Script(`
if redis.call('GET', KEYS[1]) ~= 'built' then return false end
local out = redis.call('ZRANGE', KEYS[2], ARGV[1], ARGV[2])
table.insert(out, 1, 'ok')
return out`);

// KEYS: marker, zset. Returns {count}.
const COUNT = new Script(`
if redis.call('GET', KEYS[1]) ~= 'built' then return false end
return {redis.call('ZCARD', KEYS[2])}`);

// KEYS: marker, zset, hash, board's scope set. ARGV: building marker, TTL, scope base.
// Takes the build when nobody holds it: clears what a lost build left, marks it building.
const CLAIM = new Script(`
local m = redis.call('GET', KEYS[1])
if m then return m end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3])
return 'claimed'`);

// KEYS: marker, zset, hash. ARGV: building marker, retention. 1 when this builder finished.
const FINISH = new Script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], 'built', 'EX', ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return 1`);

// KEYS: the board's scope set. Deletes every period's keys of every generation of the board.
const DROP_BOARD = new Script(`
for _, base in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('DEL', base .. ':m', base .. ':z', base .. ':h')
end
redis.call('DEL', KEYS[1])
return 1`);

class NotBuilt extends Error {}

/**
 * Cluster mode: one sorted set per (board, period) shared by every process, members encoded so
 * that Redis' lexicographic order is the rank order (ZRANK, ZLEXCOUNT, ZRANGE by index: O(log n)),
 * plus a hash userId → "version:member" so a user's old member can be found and replaced.
 *
 * A marker key says the set is complete ("built") or being built ("building:<token>", with a TTL
 * the builder refreshes). Writes apply only while a marker exists: before that, the rebuild's
 * scan reads them from the database. Every read checks the marker in the same script, so a Redis
 * that lost its data (restart, FLUSH) is noticed on the next read and rebuilt from PostgreSQL.
 * Keys carry the board's hash tag, so one board's keys share a Redis Cluster slot.
 */
export class RedisRankIndexes implements RankIndexes {
  readonly mode = "redis" as const;
  private readonly building = new Map<string, Promise<void>>();
  /** Scopes whose last write could not reach Redis: rebuilt before their next use here. */
  private readonly suspect = new Set<string>();

  constructor(
    readonly client: Redis,
    private readonly prefix: string,
    private readonly options: { onRebuild?: (mode: "redis") => void; onApplyFailed?: (err: unknown) => void } = {},
  ) {}

  base(scope: RankScope): string {
    return `${this.prefix}lb:{${scope.boardId}}:${scope.generation}:${scope.periodStart.getTime()}`;
  }

  private keys(scope: RankScope): [string, string, string] {
    const base = this.base(scope);
    return [`${base}:m`, `${base}:z`, `${base}:h`];
  }

  private boardSet(boardId: string): string {
    return `${this.prefix}lb:{${boardId}}:scopes`;
  }

  async open(scope: RankScope, source: RankSource): Promise<RankIndex> {
    const id = scopeId(scope);
    if (this.suspect.has(id)) {
      await this.client.del(this.keys(scope)[0]);
      this.suspect.delete(id);
    }
    return new RedisRankIndex(this, scope, source);
  }

  async apply(scope: RankScope, entry: RankEntry): Promise<void> {
    try {
      await this.upsert(scope, [entry], "", RETAIN_SEC);
    } catch (err) {
      // The row is committed but this index missed it: rebuild before this process reads it again.
      this.suspect.add(scopeId(scope));
      this.options.onApplyFailed?.(err);
    }
  }

  async dropBoard(boardId: string): Promise<void> {
    await DROP_BOARD.run(this.client, [this.boardSet(boardId)], []);
  }

  /** -1 when the marker was missing (or not `required`). */
  async upsert(scope: RankScope, entries: RankEntry[], required: string, ttlSec: number): Promise<number> {
    const args: Array<string | number> = [required, ttlSec];
    for (const e of entries) args.push(e.userId, e.version, encodeMember(scope.sortOrder, e));
    return Number(await UPSERT.run(this.client, this.keys(scope), args));
  }

  /** Runs a read script; when the index is not built, builds it (or waits for the builder) and runs it again. */
  async read<T>(scope: RankScope, source: RankSource, run: (keys: [string, string, string]) => Promise<T | null>) {
    const keys = this.keys(scope);
    const first = await run(keys);
    if (first !== null) return first;
    await this.ensureBuilt(scope, source);
    const second = await run(keys);
    if (second === null) throw new NotBuilt(`rank index ${this.base(scope)} vanished right after its rebuild`);
    return second;
  }

  /** One rebuild per scope in this process at a time; other processes wait on the marker. */
  ensureBuilt(scope: RankScope, source: RankSource): Promise<void> {
    const id = scopeId(scope);
    let pending = this.building.get(id);
    if (!pending) {
      pending = this.build(scope, source).finally(() => this.building.delete(id));
      this.building.set(id, pending);
    }
    return pending;
  }

  private async build(scope: RankScope, source: RankSource): Promise<void> {
    const [marker, zset, hash] = this.keys(scope);
    const deadline = Date.now() + WAIT_LIMIT_MS;
    while (Date.now() < deadline) {
      const token = `building:${randomUUID()}`;
      const state = String(
        await CLAIM.run(
          this.client,
          [marker, zset, hash, this.boardSet(scope.boardId)],
          [token, BUILDING_TTL_SEC, this.base(scope)],
        ),
      );
      if (state === "built") return;
      if (state !== "claimed") {
        await new Promise((r) => setTimeout(r, WAIT_STEP_MS)); // another process builds it
        continue;
      }
      this.options.onRebuild?.("redis");
      if (await this.fill(scope, source, token)) {
        if (Number(await FINISH.run(this.client, [marker, zset, hash], [token, RETAIN_SEC])) === 1) return;
      }
      // Lost the build (Redis flushed meanwhile, or the marker expired and another took it): again.
    }
    throw new NotBuilt(`rank index ${this.base(scope)} was not built within ${WAIT_LIMIT_MS} ms`);
  }

  /** Copies the period's rows in user-id batches; false when the build was lost midway. */
  private async fill(scope: RankScope, source: RankSource, token: string): Promise<boolean> {
    let after: string | undefined;
    for (;;) {
      const rows = await source(after, REBUILD_BATCH);
      if (rows.length > 0 || after === undefined) {
        if ((await this.upsert(scope, rows, token, BUILDING_TTL_SEC)) < 0) return false;
      }
      if (rows.length < REBUILD_BATCH) return true;
      after = rows[rows.length - 1].userId;
    }
  }
}

/** One period's sorted set, through the scripts above. */
class RedisRankIndex implements RankIndex {
  constructor(
    private readonly owner: RedisRankIndexes,
    private readonly scope: RankScope,
    private readonly source: RankSource,
  ) {}

  /** Not built yet: nothing to do, its rebuild reads the row from the database. */
  async upsert(entry: RankEntry): Promise<void> {
    await this.owner.upsert(this.scope, [entry], "", RETAIN_SEC);
  }

  async remove(userId: string): Promise<void> {
    await this.owner.read(this.scope, this.source, async ([m, z, h]) => {
      const removed = Number(await REMOVE.run(this.owner.client, [m, z, h], [userId.toLowerCase()]));
      return removed < 0 ? null : removed;
    });
  }

  async rankOf(userId: string): Promise<number | undefined> {
    const reply = await this.owner.read(this.scope, this.source, async (keys) => {
      return (await RANK.run(this.owner.client, keys, [userId.toLowerCase()])) as number[] | null;
    });
    return reply.length ? Number(reply[0]) + 1 : undefined;
  }

  async countBefore(key: RankKey, inclusive: boolean): Promise<number> {
    const bound = (inclusive ? "[" : "(") + encodeMember(this.scope.sortOrder, key);
    const reply = await this.owner.read(this.scope, this.source, async ([m, z]) => {
      return (await COUNT_BEFORE.run(this.owner.client, [m, z], [bound])) as number[] | null;
    });
    return Number(reply[0]);
  }

  async entriesByRank(fromRank: number, count: number): Promise<string[]> {
    if (count <= 0) return [];
    const start = Math.max(0, fromRank - 1);
    const reply = await this.owner.read(this.scope, this.source, async ([m, z]) => {
      return (await RANGE.run(this.owner.client, [m, z], [start, start + count - 1])) as string[] | null;
    });
    return reply.slice(1).map(userOf);
  }

  async count(): Promise<number> {
    const reply = await this.owner.read(this.scope, this.source, async ([m, z]) => {
      return (await COUNT.run(this.owner.client, [m, z], [])) as number[] | null;
    });
    return Number(reply[0]);
  }
}
