import type { Logger } from "pino";
import type { DataSource, EntityManager } from "typeorm";
import { Leaderboard, LeaderboardRecord, type ScoreOperator, type SortOrder } from "../entities";
import { CronError, parseCron } from "./cron";
import type { DomainEvents } from "./events";
import { AppError, badRequest, conflict, forbidden, notFound } from "./errors";
import { decodeCursor, encodeCursor, type RecordKey } from "./leaderboard-cursor";

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
const validationFailed = (path: string, message: string) =>
  new AppError(400, "VALIDATION_FAILED", "Request validation failed", [{ in: "query", path, message }]);

/**
 * Leaderboards: definitions, per-period records written by each board's operator, exact ranks
 * (score by sortOrder, then higher subscore, earlier updatedAt, user id) and keyset pages.
 * Ranks are computed by PostgreSQL over the period's rows on each read: exact, and cheap enough
 * for boards of up to a few hundred thousand rows per period.
 */
export class LeaderboardService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events?: DomainEvents,
    private readonly logger?: Pick<Logger, "error">,
    /** Replaced in tests to move between periods without waiting. */
    readonly clock: { now(): Date } = { now: () => new Date() },
  ) {}

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
    if (inserted.raw.length === 0) throw conflict("LEADERBOARD_EXISTS", `Leaderboard ${def.id} already exists`);
    return this.view(await this.board(this.dataSource.manager, def.id));
  }

  /** Removes the board and every record of every period, atomically. */
  async delete(id: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const deleted = await m.delete(Leaderboard, { id });
      if (!deleted.affected) throw boardNotFound(id);
      await m.delete(LeaderboardRecord, { boardId: id });
      await m.query(`DELETE FROM leaderboard_writes WHERE board_id = $1`, [id]);
    });
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
    const { board, period, changed } = await this.dataSource.transaction(async (m) => {
      // FOR SHARE: a concurrent delete waits, so no record outlives its board.
      const board = await m.findOne(Leaderboard, { where: { id: boardId }, lock: { mode: "pessimistic_read" } });
      if (!board) throw boardNotFound(boardId);
      if (board.authoritative && !trusted) {
        throw forbidden("This leaderboard is written by the game only", "LEADERBOARD_AUTHORITATIVE");
      }
      const period = this.period(board, at);
      if (opts.idempotencyKey !== undefined) {
        const claimed: unknown[] = await m.query(
          `INSERT INTO leaderboard_writes (idempotency_key, board_id) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING idempotency_key`,
          [opts.idempotencyKey, boardId],
        );
        if (claimed.length === 0) return { board, period, changed: false };
      }
      const changed = await upsert(m, board, period.start, userId, score, subscore, at).catch(rejectOverflow);
      return { board, period, changed };
    });
    if (changed) this.announce(boardId, period, userId);
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
    const board = await this.board(this.dataSource.manager, boardId);
    const period = this.selectPeriod(board, opts.period);
    const key = opts.cursor ? decodeCursor(opts.cursor, boardId, period.start) : undefined;
    const backward = key?.direction === "prev";
    const condition = key ? `AND ${SORT_KEY} ${backward ? "<" : ">"} ($4, $5, $6, $7)` : "";
    const rows = await this.ranked(
      board,
      period,
      `${condition} ORDER BY rank ${backward ? "DESC" : "ASC"} LIMIT $3`,
      key ? [opts.limit + 1, ...keyParams(board, key)] : [opts.limit + 1],
    );
    const more = rows.length > opts.limit;
    const page = rows.slice(0, opts.limit);
    if (backward) page.reverse();
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
    const board = await this.board(this.dataSource.manager, boardId);
    const period = this.selectPeriod(board, opts.period);
    const mine = await this.recordAt(board, period, userId);
    if (!mine) throw notFound("No record for this user in this period", "RECORD_NOT_FOUND");
    const records = await this.ranked(board, period, `AND rank BETWEEN $4 AND $5 ORDER BY rank LIMIT $3`, [
      2 * opts.limit + 1,
      mine.rank - opts.limit,
      mine.rank + opts.limit,
    ]);
    return { records, ...shownPeriod(period) };
  }

  async record(boardId: string, userId: string, periodSelector?: PeriodSelector) {
    const board = await this.board(this.dataSource.manager, boardId);
    const period = this.selectPeriod(board, periodSelector);
    const record = await this.recordAt(board, period, userId);
    if (!record) throw notFound("No record for this user in this period", "RECORD_NOT_FOUND");
    return { record, ...shownPeriod(period) };
  }

  private async recordAt(board: Leaderboard, period: Period, userId: string): Promise<RankedRecord | undefined> {
    const [row] = await this.ranked(board, period, `AND user_id = $3`, [userId]);
    return row;
  }

  /** Rows of one period with their exact rank; `tail` filters/orders the ranked rows ($1, $2 taken). */
  private async ranked(board: Leaderboard, period: Period, tail: string, params: unknown[]): Promise<RankedRecord[]> {
    const order = board.sortOrder === "desc" ? "-r.score" : "r.score";
    const rows: RawRecord[] = await this.dataSource.query(
      `SELECT * FROM (
         SELECT r.user_id, COALESCE(u.display_name, '') AS display_name, r.score, r.subscore, r.num_score,
                r.updated_at, ${order} AS k1,
                row_number() OVER (ORDER BY ${order}, -r.subscore, r.updated_at, r.user_id) AS rank
         FROM leaderboard_records r LEFT JOIN users u ON u.id = r.user_id
         WHERE r.board_id = $1 AND r.period_start = $2
       ) ranked WHERE true ${tail}`,
      [board.id, period.start, ...params],
    );
    return rows.map(toRecord);
  }

  private async board(m: EntityManager, id: string): Promise<Leaderboard> {
    const board = await m.findOneBy(Leaderboard, { id });
    if (!board) throw boardNotFound(id);
    return board;
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
  rank: string;
}

/** The order as one ascending row: (score or -score, -subscore, updatedAt, userId). */
const SORT_KEY = `(k1, -subscore, updated_at, user_id)`;

function keyParams(board: Leaderboard, key: RecordKey): unknown[] {
  return [board.sortOrder === "desc" ? -key.score : key.score, -key.subscore, new Date(key.updatedAt), key.userId];
}

function toRecord(row: RawRecord): RankedRecord {
  return {
    rank: Number(row.rank),
    userId: row.user_id,
    displayName: row.display_name,
    score: Number(row.score),
    subscore: Number(row.subscore),
    numScore: row.num_score,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

function shownPeriod(period: Period) {
  return { periodStart: period.shownStart?.toISOString() ?? null, periodEnd: period.end?.toISOString() ?? null };
}

function boardNotFound(id: string) {
  return notFound(`No leaderboard ${id}`, "LEADERBOARD_NOT_FOUND");
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

/** Scores are JSON numbers: past 2^53 they would lose precision; past bigint PostgreSQL refuses (22003). */
function rejectOverflow(err: unknown): never {
  const e = err as { code?: string; driverError?: { code?: string } };
  if (err instanceof ScoreOverflow || e?.code === "22003" || e?.driverError?.code === "22003") {
    throw conflict("SCORE_OUT_OF_RANGE", "The score would leave the range of safe integers");
  }
  throw err;
}

class ScoreOverflow extends Error {}

/**
 * `updatedAt` comes from the service clock (millisecond precision, as in cursors), never from
 * the database's now(), so a cursor's key compares equal to the row it came from.
 * One statement applies the operator under the row lock PostgreSQL takes for ON CONFLICT; the
 * WHERE clause skips writes that change nothing (a worse best, the same set), so they touch nothing.
 */
async function upsert(
  m: EntityManager,
  board: Leaderboard,
  periodStart: Date,
  userId: string,
  score: number,
  subscore: number,
  at: Date,
) {
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
  const rows: Array<{ score: string; subscore: string }> = await m.query(
    `INSERT INTO leaderboard_records AS r (board_id, period_start, user_id, score, subscore, num_score, updated_at)
     VALUES ($1, $2, $3, $4, $5, 1, $6)
     ON CONFLICT (board_id, period_start, user_id) DO UPDATE
       SET ${rule.set}, num_score = r.num_score + 1, updated_at = EXCLUDED.updated_at
       WHERE ${rule.when}
     RETURNING score, subscore`,
    [board.id, periodStart, userId, sign * score, sign * subscore, at],
  );
  // Thrown inside the transaction, so the write rolls back.
  for (const row of rows) {
    if (!Number.isSafeInteger(Number(row.score)) || !Number.isSafeInteger(Number(row.subscore)))
      throw new ScoreOverflow();
  }
  return rows.length > 0;
}
