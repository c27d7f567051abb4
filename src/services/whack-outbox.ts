import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { AppError } from "./errors";
import type { LeaderboardService } from "./leaderboards";
import { whackLeaderboardApplied, whackLeaderboardFailures, whackLeaderboardPending } from "./whack-metrics";

/** The `best` boards a round's score goes to (subscore: hits). */
export const WHACK_SCORE_BOARDS = ["whack-daily", "whack-weekly", "whack-alltime"] as const;
/** The `incr` board of moles hit (bombs not counted). */
export const WHACK_MOLES_BOARD = "whack-moles";

/** A round's writes are first tried right after its end; the outbox takes over after this. */
export const OUTBOX_GRACE_MS = 5_000;
/** A claimed round is not picked again for this long (its claimer may still be applying it). */
const CLAIM_MS = 30_000;
const BATCH = 50;

/** The idempotency key of one leaderboard write of one round: retries of it are no-ops. */
export const whackWriteKey = (roundId: string, boardId: string, userId: string) =>
  `whack:${roundId}:${boardId}:${userId}`;

interface Eligible {
  user_id: string;
  score: number;
  hits: number;
  moles: number;
}

/**
 * The leaderboard outbox of whack rounds. Ending a round sets `leaderboard_pending` in the
 * same transaction; `apply` then submits every write with its own idempotency key (applied at
 * most once by LeaderboardService, in the transaction of the record upsert) at the round's end
 * time (which picks the period), and clears the flag. A crash or failure anywhere in between
 * leaves the flag set: `applyDue` (every sweep, on any process) picks such rounds with
 * `FOR UPDATE SKIP LOCKED` and applies them again; the keys make the repeat count once.
 */
export class WhackOutbox {
  constructor(
    private readonly dataSource: DataSource,
    private readonly leaderboards: LeaderboardService,
    private readonly logger?: Pick<Logger, "warn" | "error">,
  ) {}

  /** Applies one round's writes if still pending. True when this call cleared the flag. */
  async apply(roundId: string, now: Date): Promise<boolean> {
    const [round]: Array<{ ended_at: Date }> = await this.dataSource.query(
      `SELECT ended_at FROM whack_rounds WHERE id = $1 AND leaderboard_pending`,
      [roundId],
    );
    if (!round) return false;
    const at = new Date(round.ended_at);
    // Flagged players never reach a board.
    const players: Eligible[] = await this.dataSource.query(
      `SELECT p.user_id, p.score, p.hits,
              (SELECT count(*)::int FROM whack_hits h
                 JOIN whack_moles m ON m.round_id = h.round_id AND m.mole_id = h.mole_id
                WHERE h.round_id = p.round_id AND h.user_id = p.user_id AND m.kind <> 'bomb') AS moles
         FROM whack_round_players p
        WHERE p.round_id = $1 AND NOT p.flagged
        ORDER BY p.user_id`,
      [roundId],
    );
    for (const p of players) {
      for (const board of WHACK_SCORE_BOARDS) await this.submit(roundId, board, p.user_id, p.score, p.hits, at);
      await this.submit(roundId, WHACK_MOLES_BOARD, p.user_id, p.moles, 0, at);
    }
    const cleared = await this.updateReturning(
      `UPDATE whack_rounds SET leaderboard_pending = false, leaderboard_retry_at = NULL, leaderboard_applied_at = $2
        WHERE id = $1 AND leaderboard_pending RETURNING id`,
      [roundId, now],
    );
    if (cleared.length > 0) whackLeaderboardApplied.inc();
    return cleared.length > 0;
  }

  /** `apply`, logging a failure (the outbox retries it) instead of throwing; "failed" then. */
  async tryApply(roundId: string, now: Date): Promise<"applied" | "not_pending" | "failed"> {
    try {
      return (await this.apply(roundId, now)) ? "applied" : "not_pending";
    } catch (err) {
      whackLeaderboardFailures.inc();
      this.logger?.error({ err, roundId }, "whack leaderboard writes failed; the outbox retries them");
      return "failed";
    }
  }

  /**
   * Claims the pending rounds that are due (a short claim in its own transaction: the writes
   * themselves run outside it, as the embedded database has one connection), then applies them.
   */
  async applyDue(now: Date): Promise<{ applied: number; failed: number }> {
    const claimed = await this.updateReturning<{ id: string }>(
      `UPDATE whack_rounds SET leaderboard_retry_at = $2
        WHERE id IN (SELECT id FROM whack_rounds
                      WHERE leaderboard_pending AND leaderboard_retry_at <= $1
                      ORDER BY leaderboard_retry_at LIMIT $3
                      FOR UPDATE SKIP LOCKED)
        RETURNING id`,
      [now, new Date(now.getTime() + CLAIM_MS), BATCH],
    );
    let applied = 0;
    let failed = 0;
    for (const { id } of claimed) {
      const outcome = await this.tryApply(id, now);
      if (outcome === "applied") applied++;
      if (outcome === "failed") failed++;
    }
    const [{ pending }]: Array<{ pending: number }> = await this.dataSource.query(
      `SELECT count(*)::int AS pending FROM whack_rounds WHERE leaderboard_pending`,
    );
    whackLeaderboardPending.set(pending);
    return { applied, failed };
  }

  /** The rows of an UPDATE … RETURNING (TypeORM answers an UPDATE as [rows, affected]). */
  private async updateReturning<T = unknown>(sql: string, params: unknown[]): Promise<T[]> {
    const [rows] = (await this.dataSource.query(sql, params)) as [T[], number];
    return rows;
  }

  private async submit(roundId: string, boardId: string, userId: string, score: number, subscore: number, at: Date) {
    try {
      await this.leaderboards.submit(boardId, userId, score, subscore, {
        idempotencyKey: whackWriteKey(roundId, boardId, userId),
        at,
      });
    } catch (err) {
      // A board an operator deleted: nothing to write to; retrying would never succeed.
      if (err instanceof AppError && err.code === "LEADERBOARD_NOT_FOUND") {
        this.logger?.warn({ roundId, boardId }, "whack leaderboard missing; write skipped");
        return;
      }
      throw err;
    }
  }
}
