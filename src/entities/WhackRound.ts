import { Column, Entity, Index, PrimaryColumn } from "typeorm";

export type WhackRoundStatus = "playing" | "ended" | "abandoned";

/**
 * One whack-a-mole round. The seed is stored from the start (a crash must not lose it) but only
 * `seedHash` is shown until the round is over. `leaderboardPending` is the outbox of the round's
 * leaderboard writes: set in the transaction that ends the round, cleared once they are applied.
 */
@Entity({ name: "whack_rounds" })
@Index("whack_rounds_playing_idx", ["processId"], { where: `status = 'playing'` })
@Index("whack_rounds_leaderboard_pending_idx", ["leaderboardRetryAt"], { where: `leaderboard_pending` })
export class WhackRound {
  @PrimaryColumn({ type: "uuid" })
  id!: string;

  @Column({ type: "varchar", length: 8 })
  mode!: "solo" | "versus";

  /** sha256 (hex) of the seed string's UTF-8 bytes. */
  @Column({ name: "seed_hash", type: "varchar", length: 64 })
  seedHash!: string;

  /** 64 hex characters; secret while the round is playing. */
  @Column({ type: "varchar", length: 64 })
  seed!: string;

  @Column({ type: "varchar", length: 12, default: "playing" })
  status!: WhackRoundStatus;

  @Column({ name: "started_at", type: "timestamptz" })
  startedAt!: Date;

  @Column({ name: "ended_at", type: "timestamptz", nullable: true })
  endedAt!: Date | null;

  /** `time_up`, `all_left`, `server_lost`, … */
  @Column({ name: "end_reason", type: "varchar", length: 32, nullable: true })
  endReason!: string | null;

  /** The process hosting the round's room (see ProcessLeases): when its lease is gone, a sweep ends the round. */
  @Column({ name: "process_id", type: "varchar", length: 64, nullable: true })
  processId!: string | null;

  @Column({ name: "leaderboard_pending", type: "boolean", default: false })
  leaderboardPending!: boolean;

  /** When the outbox may (re)try the writes: a grace after the end, then after each claim. */
  @Column({ name: "leaderboard_retry_at", type: "timestamptz", nullable: true })
  leaderboardRetryAt!: Date | null;

  @Column({ name: "leaderboard_applied_at", type: "timestamptz", nullable: true })
  leaderboardAppliedAt!: Date | null;
}
