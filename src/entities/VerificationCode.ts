import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

export type VerificationChannel = "email" | "phone";

/** A one-time code sent to an email address or phone number, stored hashed. */
@Entity({ name: "verification_codes" })
@Index("verification_codes_user_channel_idx", ["userId", "channel"])
export class VerificationCode {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ name: "user_id", type: "uuid" })
  userId!: string;

  @Column({ type: "varchar", length: 8 })
  channel!: VerificationChannel;

  /** The address or number the code was sent to; verifying marks exactly this one. */
  @Column({ type: "varchar", length: 254 })
  target!: string;

  @Column({ name: "code_hash", type: "char", length: 64 })
  codeHash!: string;

  @Column({ name: "expires_at", type: "timestamptz" })
  expiresAt!: Date;

  @Column({ type: "integer", default: 0 })
  attempts!: number;

  @Column({ name: "consumed_at", type: "timestamptz", nullable: true })
  consumedAt!: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
