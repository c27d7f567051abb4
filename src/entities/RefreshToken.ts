import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/**
 * One refresh token, stored as a SHA-256 of its random value. Tokens issued
 * from one login form a family; spending a token adds its successor to the
 * family, and presenting a spent one revokes the family (RFC 9700 §4.14.2).
 */
@Entity({ name: "refresh_tokens" })
export class RefreshToken {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Index("refresh_tokens_user_idx")
  @Column({ name: "user_id", type: "uuid" })
  userId!: string;

  @Index("refresh_tokens_family_idx")
  @Column({ name: "family_id", type: "uuid" })
  familyId!: string;

  @Index("refresh_tokens_hash_key", { unique: true })
  @Column({ name: "token_hash", type: "char", length: 64 })
  tokenHash!: string;

  @Column({ name: "expires_at", type: "timestamptz" })
  expiresAt!: Date;

  /** Set when the token was exchanged for its successor. */
  @Column({ name: "spent_at", type: "timestamptz", nullable: true })
  spentAt!: Date | null;

  /** Set when the family was revoked (logout, reuse, logout-all). */
  @Column({ name: "revoked_at", type: "timestamptz", nullable: true })
  revokedAt!: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
