import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";

export const ROLES = ["user", "moderator", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** An account: email/password, or a guest bound to one device id. */
@Entity({ name: "users" })
export class User {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  /** Normalised (trimmed, lower-case); null for guests and anonymised accounts. */
  @Index("users_email_key", { unique: true, where: "email IS NOT NULL" })
  @Column({ type: "varchar", length: 254, nullable: true })
  email!: string | null;

  @Column({ name: "password_hash", type: "varchar", length: 255, nullable: true })
  passwordHash!: string | null;

  @Column({ name: "display_name", type: "varchar", length: 64 })
  displayName!: string;

  @Column({ type: "varchar", length: 16, default: "user" })
  role!: Role;

  @Column({ name: "is_guest", type: "boolean", default: false })
  isGuest!: boolean;

  @Index("users_device_id_key", { unique: true, where: "device_id IS NOT NULL" })
  @Column({ name: "device_id", type: "varchar", length: 128, nullable: true })
  deviceId!: string | null;

  /** Bumped by logout-all, password change and bans: older access tokens stop working. */
  @Column({ name: "token_version", type: "integer", default: 0 })
  tokenVersion!: number;

  @Column({ name: "email_verified_at", type: "timestamptz", nullable: true })
  emailVerifiedAt!: Date | null;

  @Column({ type: "varchar", length: 32, nullable: true })
  phone!: string | null;

  @Column({ name: "phone_verified_at", type: "timestamptz", nullable: true })
  phoneVerifiedAt!: Date | null;

  /** Preferred language (a BCP 47 tag) for server texts; null: negotiated per request. */
  @Column({ type: "varchar", length: 35, nullable: true })
  locale!: string | null;

  @Column({ name: "deleted_at", type: "timestamptz", nullable: true })
  deletedAt!: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt!: Date;
}
