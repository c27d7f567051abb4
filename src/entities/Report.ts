import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

export type ReportStatus = "open" | "dismissed" | "warned" | "banned";
export const REPORT_REASONS = ["harassment", "nudity", "violence", "hate", "spam", "underage", "other"] as const;
export type ReportReason = (typeof REPORT_REASONS)[number];

/** A user's abuse report, resolved by a moderator's action. */
@Entity({ name: "reports" })
@Index("reports_status_created_idx", ["status", "createdAt"])
@Index("reports_reported_idx", ["reportedUserId"])
export class Report {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ name: "reporter_id", type: "uuid" })
  reporterId!: string;

  @Column({ name: "reported_user_id", type: "uuid" })
  reportedUserId!: string;

  /** The call it happened in, if any. */
  @Column({ name: "session_id", type: "uuid", nullable: true })
  sessionId!: string | null;

  @Column({ type: "varchar", length: 16 })
  reason!: ReportReason;

  @Column({ type: "varchar", length: 2000, nullable: true })
  details!: string | null;

  @Column({ type: "varchar", length: 12, default: "open" })
  status!: ReportStatus;

  @Column({ name: "moderator_id", type: "uuid", nullable: true })
  moderatorId!: string | null;

  @Column({ name: "resolved_at", type: "timestamptz", nullable: true })
  resolvedAt!: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
