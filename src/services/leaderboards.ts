import type { Logger } from "pino";
import type { DataSource, EntityManager } from "typeorm";
import { Leaderboard, LeaderboardRecord, type ScoreOperator, type SortOrder } from "../entities";
import { CronError, parseCron } from "./cron";
import type { DomainEvents } from "./events";
import { AppError, badRequest, conflict, forbidden, notFound } from "./errors";
import { leaderboardRankRebuilds, leaderboardWrites } from "../metrics";
import { decodeCursor, encodeCursor } from "./leaderboard-cursor";
import type { RankEntry, RankIndex, RankIndexes, RankScope, RankSource } from "./rank-index";
import { MemoryRankIndexes } from "./rank-memory";

export interface LeaderboardDefinition {
  id: string;
  title: string;
  sortOrder: SortOrder;
  operator: ScoreOperator;
  resetSchedule: string | null;
  authoritative: boolean;
}

export interface LeaderboardView extends LeaderboardDefinition {
  periodStart: string | null;
  periodEnd: string | null;
}

export interface RankedRecord {
  rank: number;
  userId: string;
  displayName: string;
  score: number;
  subscore: number;
  numScore: number;
  updatedAt: string;
}

/** `current`, `previous`, or the ISO start of a period. */
export type PeriodSelector = string;

interface Period {
  start: Date;
  end: Date | null;
  /** Null on boards without resets: their single period has no start to show. */
  shownStart: Date | null;
}

/** The single period of boards without resets is stored under this start. */
const FOREVER = new Date(0);
/** How long a process trusts its copy of a board definition (a delete elsewhere also evicts it). */
const BOARD_CACHE_MS = 5000;
const validationFailed = (path: string, message: string) =>
  new AppError(400, "VALIDATION_FAILED", "Request validation failed", [{ in: "query", path, message }]);

/**
 * Leaderboards: definitions, per-period records written by each board's operator, exact ranks
 * (score by sortOrder, then higher subscore, earlier updatedAt, user id) and keyset pages.
 * The database holds the records; ranks come from a rank index per (board, period) (see
 * rank-index.ts: in-process, or Redis sorted sets in cluster mode), rebuilt from the records on
 * first use, so every read is O(log n) plus primary-key lookups of the rows it returns.
 */
export class LeaderboardService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events?: DomainEvents,
    private readonly logger?: Pick<Logger, "error">,
    /** Replaced in tests to move between periods without waiting. */
    readonly clock: { now(): Date } = { now: () => new Date() },
    readonly ranks: RankIndexes = new MemoryRankIndexes({ onRebuild: (mode) => leaderboardRankRebuilds.inc({ mode }) }),
  ) {}

  private readonly boards = new Map<string, { board: Leaderboard; until: number }>();

  /** Boards deleted through any process: their cached definition goes, and their in-process rank indexes. */
  async start(): Promise<void> {
    await this.events?.subscribe("leaderboard.deleted", "all", async ({ boardId }) => {
      this.boards.delete(boardId);
      if (this.ranks.mode === "memory") await this.ranks.dropBoard(boardId);
    });
  }

  async list(): Promise<LeaderboardView[]> {
    const boards = await this.dataSource.getRepository(Leaderboard).find({ order: { id: "ASC" } });
    return boards.map((b) => this.view(b));
  }

  async create(def: LeaderboardDefinition): Promise<LeaderboardView> {
    if (def.resetSchedule !== null) checkSchedule(def.resetSchedule);
    const inserted = await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(Leaderboard)
      .values(def)
      .orIgnore()
      .returning(["id"])
      .execute();
    if (inserted.raw.length === 0) {
      throw conflict("LEADERBOARD_EXISTS", `Leaderboard ${def.id} already exists`).withParams({ id: def.id });
    }
    this.boards.delete(def.id); // a copy of a deleted namesake whose announcement is still on its way
    return this.view(await this.board(def.id));
  }

  /** Removes the board and every record of every period, atomically; then its rank data everywhere. */
  async delete(id: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const deleted = await m.delete(Leaderboard, { id });
      if (!deleted.affected) throw boardNotFound(id);
      await m.delete(LeaderboardRecord, { boardId: id });
      await m.query(`DELETE FROM leaderboard_writes WHERE board_id = $1`, [id]);
    });
    this.boards.delete(id);
    // Rank keys are per board generation (creation time): a re-created board never reads these, and
    // Redis keys left by a failed drop expire unused, so the delete stands either way.
    await this.ranks
      .dropBoard(id)
      .catch((err) => this.logger?.error({ err, boardId: id }, "dropping a deleted board's rank data failed"));
    this.events
      ?.publish("leaderboard.deleted", "all", { boardId: id })
      .catch((err) => this.logger?.error({ err, boardId: id }, "leaderboard deletion announcement failed"));
  }

  /** A player's own submission: refused on authoritative boards (the game writes those). */
  async submitAsPlayer(boardId: string, userId: string, score: number, subscore = 0) {
    return this.write(boardId, userId, score, subscore, false);
  }

  /**
   * The game's write (any board). `idempotencyKey`: a key already applied makes the call a
   * no-op (a round's result retried after a crash counts once). `at`: when the result happened,
   * which picks the period (a round that finished before midnight counts for that day even when
   * its write is retried after it).
   */
  async submit(
    boardId: string,
    userId: string,
    score: number,
    subscore = 0,
    opts: { idempotencyKey?: string; at?: Date } = {},
  ) {
    return this.write(boardId, userId, score, subscore, true, opts);
  }

  private async write(
    boardId: string,
    userId: string,
    score: number,
    subscore: number,
    trusted: boolean,
    opts: { idempotencyKey?: string; at?: Date } = {},
  ) {
    const at = opts.at ?? this.clock.now();
    // The definition may come from the cache; the statements below lock the board row itself.
    const board = await this.board(boardId);
    if (board.authoritative && !trusted) {
      throw forbidden("This leaderboard is written by the game only", "LEADERBOARD_AUTHORITATIVE");
    }
    const period = this.period(board, at);
    if (!Number.isSafeInteger(score) || !Number.isSafeInteger(subscore)) throw scoreOutOfRange();
    const apply = async (m: EntityManager) => {
      const written = await upsert(m, board, period.start, userId, score, subscore, at).catch(rejectOverflow);
      if (!written) throw this.forget(boardId);
      return written;
    };
    // Without a key the upsert is one statement (atomic on its own); with one, the claim and the
    // upsert commit together.
    const key = opts.idempotencyKey;
    const result =
      key === undefined
        ? await apply(this.dataSource.manager)
        : await this.dataSource.transaction(async (m) => {
            const claimed: unknown[] = await m.query(
              `WITH board AS (SELECT id FROM leaderboards WHERE id = $2 FOR SHARE)
               INSERT INTO leaderboard_writes (idempotency_key, board_id) SELECT $1, id FROM board
               ON CONFLICT DO NOTHING RETURNING idempotency_key`,
              [key, boardId],
            );
            if (claimed.length > 0) return apply(m);
            if (!(await m.query(`SELECT 1 FROM leaderboards WHERE id = $1 FOR SHARE`, [boardId])).length) {
              throw this.forget(boardId);
            }
            return { outcome: "duplicate" as const, row: undefined };
          });
    leaderboardWrites.inc({ board: boardId, outcome: result.outcome });
    if (result.outcome === "changed" && result.row) {
      // After the commit, from the row as written: every process's index converges on the highest version.
      await this.ranks.apply(this.scope(board, period), toEntry(result.row));
      this.announce(boardId, period, userId);
    }
    const rank = result.row && (await (await this.index(board, period)).rankOf(userId));
    if (result.row && rank !== undefined) return toRecord(result.row, rank);
    return (await this.recordAt(board, period, userId))!;
  }

  /** Live leaderboard rooms refresh on this; a lost announcement only delays them, so it is not awaited. */
  private announce(boardId: string, period: Period, userId: string) {
    this.events
      ?.publish("leaderboard.changed", boardId, {
        boardId,
        periodStart: period.shownStart?.toISOString() ?? null,
        userId,
      })
      .catch((err) => this.logger?.error({ err, boardId }, "leaderboard change announcement failed"));
  }

  async records(boardId: string, opts: { limit: number; cursor?: string; period?: PeriodSelector }) {
    const board = await this.board(boardId);
    const period = this.selectPeriod(board, opts.period);
    const key = opts.cursor ? decodeCursor(opts.cursor, boardId, period.start) : undefined;
    const index = await this.index(board, period);
    const backward = key?.direction === "prev";
    // The page's first 0-based position and how many records to read (forward: one more, to see if there is more).
    const at = key && { ...key, updatedAtMs: new Date(key.updatedAt).getTime() };
    let from = 0;
    let count = opts.limit + 1;
    let before = 0;
    if (at && backward) {
      before = await index.countBefore(at, false);
      from = Math.max(0, before - opts.limit);
      count = before - from;
    } else if (at) {
      from = await index.countBefore(at, true);
    }
    let page = await this.rankedFrom(board, period, index, from, count);
    const more = backward ? before > opts.limit : page.length > opts.limit;
    page = page.slice(0, opts.limit);
    const first = page[0];
    const last = page[page.length - 1];
    const hasNext = backward ? Boolean(key) : more;
    const hasPrev = backward ? more : Boolean(key);
    return {
      records: page,
      nextCursor: hasNext && last ? encodeCursor(boardId, period.start, "next", last) : null,
      prevCursor: hasPrev && first ? encodeCursor(boardId, period.start, "prev", first) : null,
      ...shownPeriod(period),
    };
  }

  /** The user's record with up to `limit` records above and below it. */
  async around(boardId: string, userId: string, opts: { limit: number; period?: PeriodSelector }) {
    const board = await this.board(boardId);
    const period = this.selectPeriod(board, opts.period);
    const index = await this.index(board, period);
    const rank = await index.rankOf(userId);
    if (rank === undefined) throw notFound("No record for this user in this period", "RECORD_NOT_FOUND");
    const from = Math.max(0, rank - 1 - opts.limit);
    const records = await this.rankedFrom(board, period, index, from, rank + opts.limit - from);
    return { records, ...shownPeriod(period) };
  }

  async record(boardId: string, userId: string, periodSelector?: PeriodSelector) {
    const board = await this.board(boardId);
    const period = this.selectPeriod(board, periodSelector);
    const record = await this.recordAt(board, period, userId);
    if (!record) throw notFound("No record for this user in this period", "RECORD_NOT_FOUND");
    return { record, ...shownPeriod(period) };
  }

  /** The first `n` records of the current period (live leaderboard rooms): index-backed, no cursor. */
  async topWithRanks(boardId: string, n: number): Promise<RankedRecord[]> {
    const board = await this.board(boardId);
    const period = this.period(board, this.clock.now());
    return this.rankedFrom(board, period, await this.index(board, period), 0, n);
  }

  /** One user's record in the current period with its rank; undefined when they have none. */
  async rankOf(boardId: string, userId: string): Promise<RankedRecord | undefined> {
    const board = await this.board(boardId);
    return this.recordAt(board, this.period(board, this.clock.now()), userId);
  }

  /** Several users' records in one period (live rooms refresh every viewer's own rank at once). */
  async standings(boardId: string, userIds: string[], periodSelector?: PeriodSelector): Promise<RankedRecord[]> {
    const board = await this.board(boardId);
    const period = this.selectPeriod(board, periodSelector);
    const index = await this.index(board, period);
    const ranks = await Promise.all(userIds.map(async (id) => [id, await index.rankOf(id)] as const));
    const ranked = new Map(ranks.filter(([, rank]) => rank !== undefined) as Array<[string, number]>);
    const rows = await this.rows(board, period, [...ranked.keys()]);
    return rows.map((row) => toRecord(row, ranked.get(row.user_id)!));
  }

  private async recordAt(board: Leaderboard, period: Period, userId: string): Promise<RankedRecord | undefined> {
    const rank = await (await this.index(board, period)).rankOf(userId);
    if (rank === undefined) return undefined;
    const [row] = await this.rows(board, period, [userId]);
    return row && toRecord(row, rank);
  }

  /** Up to `count` records from the 0-based position `from`, with their ranks. */
  private async rankedFrom(
    board: Leaderboard,
    period: Period,
    index: RankIndex,
    from: number,
    count: number,
  ): Promise<RankedRecord[]> {
    if (count <= 0) return [];
    const ids = await index.entriesByRank(from + 1, count);
    const rows = new Map((await this.rows(board, period, ids)).map((r) => [r.user_id, r]));
    // A row deleted since the index answered (its board was deleted) is left out.
    return ids.flatMap((id, i) => {
      const row = rows.get(id);
      return row ? [toRecord(row, from + i + 1)] : [];
    });
  }

  /** The rows of these users (primary-key lookups) with their display names: one query. */
  private async rows(board: Leaderboard, period: Period, userIds: string[]): Promise<RawRecord[]> {
    if (userIds.length === 0) return [];
    return this.dataSource.query(
      `SELECT r.user_id, COALESCE(u.display_name, '') AS display_name, r.score, r.subscore, r.num_score, r.updated_at
       FROM leaderboard_records r LEFT JOIN users u ON u.id = r.user_id
       WHERE r.board_id = $1 AND r.period_start = $2 AND r.user_id = ANY($3::uuid[])`,
      [board.id, period.start, userIds],
    );
  }

  private scope(board: Leaderboard, period: Period): RankScope {
    return {
      boardId: board.id,
      generation: board.createdAt.getTime(),
      periodStart: period.start,
      sortOrder: board.sortOrder,
    };
  }

  /** The period's rank index, built from its rows on first use. */
  private index(board: Leaderboard, period: Period): Promise<RankIndex> {
    return this.ranks.open(this.scope(board, period), this.rankSource(board, period));
  }

  /** The period's rows in user-id order, in keyset batches (the primary key's order). */
  private rankSource(board: Leaderboard, period: Period): RankSource {
    return async (after, limit) => {
      // updatedAt as epoch ms (what the service writes): no timestamp parsing for a million rows.
      const rows: Array<{ user_id: string; score: string; subscore: string; updated_ms: string; num_score: number }> =
        await this.dataSource.query(
          `SELECT user_id, score, subscore, (extract(epoch FROM updated_at) * 1000)::bigint AS updated_ms, num_score
           FROM leaderboard_records
           WHERE board_id = $1 AND period_start = $2 AND ($3::uuid IS NULL OR user_id > $3::uuid)
           ORDER BY user_id LIMIT $4`,
          [board.id, period.start, after ?? null, limit],
        );
      return rows.map((r) => ({
        userId: r.user_id,
        score: Number(r.score),
        subscore: Number(r.subscore),
        updatedAtMs: Number(r.updated_ms),
        version: Number(r.num_score),
      }));
    };
  }

  /**
   * Definitions never change after creation (the title aside, which no route edits), so they are
   * cached briefly: a read costs its rows alone. A delete forgets the board here and, through
   * `leaderboard.deleted`, on every process; writes lock the board row, so none outlives it.
   */
  private async board(id: string): Promise<Leaderboard> {
    const cached = this.boards.get(id);
    if (cached && cached.until > Date.now()) return cached.board;
    const board = await this.dataSource.manager.findOneBy(Leaderboard, { id });
    if (!board) throw boardNotFound(id);
    this.boards.set(id, { board, until: Date.now() + BOARD_CACHE_MS });
    return board;
  }

  /** The board is gone: drop its cached definition; the error to throw. */
  private forget(id: string): AppError {
    this.boards.delete(id);
    return boardNotFound(id);
  }

  private view(board: Leaderboard): LeaderboardView {
    const { id, title, sortOrder, operator, resetSchedule, authoritative } = board;
    return {
      id,
      title,
      sortOrder,
      operator,
      resetSchedule,
      authoritative,
      ...shownPeriod(this.period(board, this.clock.now())),
    };
  }

  private period(board: Leaderboard, at: Date): Period {
    if (board.resetSchedule === null) return { start: FOREVER, end: null, shownStart: null };
    const cron = parseCron(board.resetSchedule);
    // A schedule with no boundary in the search window (created in the far past) counts as one period.
    const start = cron.previous(at) ?? FOREVER;
    return { start, end: cron.next(at), shownStart: start };
  }

  private selectPeriod(board: Leaderboard, selector: PeriodSelector = "current"): Period {
    const current = this.period(board, this.clock.now());
    if (selector === "current") return current;
    if (board.resetSchedule === null) {
      throw validationFailed("period", "this leaderboard never resets: it has only the current period");
    }
    if (selector === "previous") return this.period(board, new Date(current.start.getTime() - 1));
    const start = new Date(selector);
    if (!/^\d{4}-\d\d-\d\dT/.test(selector) || Number.isNaN(start.getTime())) {
      throw validationFailed("period", "current, previous, or the ISO start of a period");
    }
    const period = this.period(board, start);
    if (period.start.getTime() !== start.getTime() || start > current.start) {
      throw validationFailed("period", "not the start of a past or current period of this leaderboard");
    }
    return period;
  }
}

interface RawRecord {
  user_id: string;
  display_name: string;
  score: string;
  subscore: string;
  num_score: number;
  updated_at: Date;
}

function toRecord(row: RawRecord, rank: number): RankedRecord {
  return {
    rank,
    userId: row.user_id,
    displayName: row.display_name,
    score: Number(row.score),
    subscore: Number(row.subscore),
    numScore: row.num_score,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** The row as the rank index keys it; num_score (changed writes so far) is its version. */
function toEntry(row: {
  user_id: string;
  score: string | number;
  subscore: string | number;
  updated_at: Date | string;
  num_score: number;
}): RankEntry {
  return {
    userId: row.user_id,
    score: Number(row.score),
    subscore: Number(row.subscore),
    updatedAtMs: new Date(row.updated_at).getTime(),
    version: Number(row.num_score),
  };
}

function shownPeriod(period: Period) {
  return { periodStart: period.shownStart?.toISOString() ?? null, periodEnd: period.end?.toISOString() ?? null };
}

function boardNotFound(id: string) {
  return notFound(`No leaderboard ${id}`, "LEADERBOARD_NOT_FOUND").withParams({ id });
}

function checkSchedule(schedule: string) {
  try {
    parseCron(schedule);
  } catch (err) {
    if (err instanceof CronError)
      throw badRequest("VALIDATION_FAILED", "Request validation failed", [
        { in: "body", path: "resetSchedule", message: err.message },
      ]);
    throw err;
  }
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const scoreOutOfRange = () => conflict("SCORE_OUT_OF_RANGE", "The score would leave the range of safe integers");

/** Scores are JSON numbers: past 2^53 they would lose precision; past bigint PostgreSQL refuses (22003). */
function rejectOverflow(err: unknown): never {
  const e = err as { code?: string; driverError?: { code?: string } };
  if (e?.code === "22003" || e?.driverError?.code === "22003") throw scoreOutOfRange();
  throw err;
}

/**
 * `updatedAt` comes from the service clock (millisecond precision, as in cursors), never from
 * the database's now(), so a cursor's key compares equal to the row it came from.
 * One statement (atomic on its own) locks the board row (FOR SHARE: a concurrent delete waits, so no record outlives
 * its board) and applies the operator under the row lock PostgreSQL takes for ON CONFLICT; the
 * WHERE clause skips writes that change nothing (a worse best, the same set), so they touch
 * nothing. It answers the record as written (or as it stands, unchanged) with the display name,
 * or nothing when the board is gone.
 */
async function upsert(
  m: EntityManager,
  board: Leaderboard,
  periodStart: Date,
  userId: string,
  score: number,
  subscore: number,
  at: Date,
): Promise<{ outcome: "changed" | "unchanged"; row: RawRecord | undefined } | undefined> {
  const sign = board.operator === "decr" ? -1 : 1;
  const added = `score = r.score + EXCLUDED.score, subscore = r.subscore + EXCLUDED.subscore`;
  const nonZero = `EXCLUDED.score <> 0 OR EXCLUDED.subscore <> 0`;
  const better = board.sortOrder === "desc" ? ">" : "<";
  const rules: Record<ScoreOperator, { set: string; when: string }> = {
    best: {
      set: `score = EXCLUDED.score, subscore = EXCLUDED.subscore`,
      when: `EXCLUDED.score ${better} r.score OR (EXCLUDED.score = r.score AND EXCLUDED.subscore > r.subscore)`,
    },
    set: {
      set: `score = EXCLUDED.score, subscore = EXCLUDED.subscore`,
      when: `(EXCLUDED.score, EXCLUDED.subscore) IS DISTINCT FROM (r.score, r.subscore)`,
    },
    incr: { set: added, when: nonZero },
    decr: { set: added, when: nonZero },
  };
  const rule = rules[board.operator];
  // A sum past the safe range is not written (the inputs themselves are checked by the caller);
  // the answer tells that case from "nothing to change".
  const adds = board.operator === "incr" || board.operator === "decr";
  const inRange = (row: string) =>
    `abs(${row}.score + $4::bigint) <= ${MAX_SAFE} AND abs(${row}.subscore + $5::bigint) <= ${MAX_SAFE}`;
  const when = adds ? `(${rule.when}) AND ${inRange("r")}` : rule.when;
  const outOfRange = adds ? `c.user_id IS NOT NULL AND NOT (${inRange("c")})` : "false";
  // `current` is the row as this statement's snapshot saw it: the answer when nothing changed.
  const [result]: Array<{
    board_found: boolean;
    changed: boolean;
    out_of_range: boolean;
    user_id: string | null;
    display_name: string;
    score: string;
    subscore: string;
    num_score: number;
    updated_at: Date;
  }> = await m.query(
    `WITH board AS (SELECT id FROM leaderboards WHERE id = $1 FOR SHARE),
     written AS (
       INSERT INTO leaderboard_records AS r (board_id, period_start, user_id, score, subscore, num_score, updated_at)
       SELECT id, $2::timestamptz, $3::uuid, $4::bigint, $5::bigint, 1, $6::timestamptz FROM board
       ON CONFLICT (board_id, period_start, user_id) DO UPDATE
         SET ${rule.set}, num_score = r.num_score + 1, updated_at = EXCLUDED.updated_at
         WHERE ${when}
       RETURNING r.user_id, r.score, r.subscore, r.num_score, r.updated_at
     )
     SELECT EXISTS (SELECT 1 FROM board) AS board_found, w.user_id IS NOT NULL AS changed,
            w.user_id IS NULL AND ${outOfRange} AS out_of_range,
            COALESCE(w.user_id, c.user_id) AS user_id, COALESCE(u.display_name, '') AS display_name,
            COALESCE(w.score, c.score) AS score, COALESCE(w.subscore, c.subscore) AS subscore,
            COALESCE(w.num_score, c.num_score) AS num_score, COALESCE(w.updated_at, c.updated_at) AS updated_at
     FROM (SELECT 1) one
     LEFT JOIN written w ON true
     LEFT JOIN leaderboard_records c ON c.board_id = $1 AND c.period_start = $2::timestamptz AND c.user_id = $3::uuid
     LEFT JOIN users u ON u.id = $3::uuid`,
    [board.id, periodStart, userId, sign * score, sign * subscore, at],
  );
  if (!result?.board_found) return undefined;
  if (result.out_of_range) throw scoreOutOfRange();
  const row = result.user_id ? (result as RawRecord) : undefined;
  return { outcome: result.changed ? "changed" : "unchanged", row };
}
