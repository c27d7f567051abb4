import { Column, CreateDateColumn, Entity, PrimaryColumn } from "typeorm";

export const SORT_ORDERS = ["desc", "asc"] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];
export const OPERATORS = ["best", "set", "incr", "decr"] as const;
export type ScoreOperator = (typeof OPERATORS)[number];

/** A leaderboard definition; only the title changes after creation (records depend on the rest). */
@Entity({ name: "leaderboards" })
export class Leaderboard {
  /** A slug, e.g. `whack-daily`. */
  @PrimaryColumn({ type: "varchar", length: 64 })
  id!: string;

  @Column({ type: "varchar", length: 120 })
  title!: string;

  @Column({ name: "sort_order", type: "varchar", length: 4 })
  sortOrder!: SortOrder;

  @Column({ type: "varchar", length: 4 })
  operator!: ScoreOperator;

  /** 5-field cron in UTC starting each period; null = one period forever. */
  @Column({ name: "reset_schedule", type: "varchar", length: 120, nullable: true })
  resetSchedule!: string | null;

  /** Written by the game alone; players cannot submit. */
  @Column({ type: "boolean" })
  authoritative!: boolean;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
