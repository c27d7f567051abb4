import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

export type BanSource = "moderator" | "ai";

/** Keeps a user out of the match queue until `expiresAt`. */
@Entity({ name: "bans" })
@Index("bans_user_expires_idx", ["userId", "expiresAt"])
export class Ban {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ name: "user_id", type: "uuid" })
  userId!: string;

  @Column({ type: "varchar", length: 12 })
  source!: BanSource;

  @Column({ type: "varchar", length: 200 })
  reason!: string;

  /** The moderator who banned, or null for the AI rule. */
  @Column({ name: "created_by", type: "uuid", nullable: true })
  createdBy!: string | null;

  @Column({ name: "report_id", type: "uuid", nullable: true })
  reportId!: string | null;

  @Column({ name: "expires_at", type: "timestamptz" })
  expiresAt!: Date;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
