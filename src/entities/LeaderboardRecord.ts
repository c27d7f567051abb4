import { Column, Entity, PrimaryColumn } from "typeorm";

/** One user's standing on a board in one period. Scores are bigint (strings from the driver). */
@Entity({ name: "leaderboard_records" })
export class LeaderboardRecord {
  @PrimaryColumn({ name: "board_id", type: "varchar", length: 64 })
  boardId!: string;

  /** The period's start (the cron boundary); boards without resets use the epoch. */
  @PrimaryColumn({ name: "period_start", type: "timestamptz" })
  periodStart!: Date;

  @PrimaryColumn({ name: "user_id", type: "uuid" })
  userId!: string;

  @Column({ type: "bigint" })
  score!: string;

  @Column({ type: "bigint", default: 0 })
  subscore!: string;

  /** Submissions that changed the record. */
  @Column({ name: "num_score", type: "integer", default: 1 })
  numScore!: number;

  @Column({ name: "updated_at", type: "timestamptz" })
  updatedAt!: Date;
}
