import { Column, Entity, Index, PrimaryColumn } from "typeorm";

/** A player of a round and, once it ended, their result. */
@Entity({ name: "whack_round_players" })
// A user's finished rounds, newest first (GET /api/users/:id/scores), read backwards.
@Index("whack_round_players_user_ended_idx", ["userId", "endedAt", "roundId"], { where: `ended_at IS NOT NULL` })
export class WhackRoundPlayer {
  @PrimaryColumn({ name: "round_id", type: "uuid" })
  roundId!: string;

  @PrimaryColumn({ name: "user_id", type: "uuid" })
  userId!: string;

  /** As it was when the round started. */
  @Column({ name: "display_name", type: "varchar", length: 64 })
  displayName!: string;

  @Column({ name: "play_session_id", type: "uuid" })
  playSessionId!: string;

  /** Sum of the player's hits' points. */
  @Column({ type: "integer", default: 0 })
  score!: number;

  @Column({ type: "integer", default: 0 })
  hits!: number;

  @Column({ type: "integer", default: 0 })
  misses!: number;

  /** 1..n within the round once it ended. */
  @Column({ type: "integer", nullable: true })
  rank!: number | null;

  /** Any flag keeps the result off the leaderboards. */
  @Column({ type: "boolean", default: false })
  flagged!: boolean;

  /** Why (`rate`, `reaction`, …). */
  @Column({ type: "jsonb" })
  flags!: string[];

  /** Set when the round ended early for this player. */
  @Column({ name: "end_reason", type: "varchar", length: 32, nullable: true })
  endReason!: string | null;

  /** The round's end, copied here for the per-user index. */
  @Column({ name: "ended_at", type: "timestamptz", nullable: true })
  endedAt!: Date | null;
}
