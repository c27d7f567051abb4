import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

export type PurchaseStatus = "pending" | "paid" | "expired" | "failed";

/**
 * A Stripe Checkout purchase: what was sold is recorded here at purchase time,
 * and the webhook credits exactly this, never amounts taken from the event.
 */
@Entity({ name: "purchases" })
@Index("purchases_user_idempotency_key", ["userId", "idempotencyKey"], {
  unique: true,
  where: `idempotency_key IS NOT NULL`,
})
export class Purchase {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Index("purchases_user_idx")
  @Column({ name: "user_id", type: "uuid" })
  userId!: string;

  @Column({ name: "pack_id", type: "varchar", length: 32 })
  packId!: string;

  @Column({ type: "integer" })
  tokens!: number;

  @Column({ name: "price_cents", type: "integer" })
  priceCents!: number;

  @Column({ type: "char", length: 3 })
  currency!: string;

  @Index("purchases_checkout_session_key", { unique: true })
  @Column({ name: "checkout_session_id", type: "varchar", length: 255 })
  checkoutSessionId!: string;

  /** The client's Idempotency-Key: the same key returns this purchase's checkout. */
  @Column({ name: "idempotency_key", type: "varchar", length: 100, nullable: true })
  idempotencyKey!: string | null;

  /** Where the player pays; returned again to a retry with the same key. */
  @Column({ name: "checkout_url", type: "varchar", length: 2048, nullable: true })
  checkoutUrl!: string | null;

  @Column({ type: "varchar", length: 16, default: "pending" })
  status!: PurchaseStatus;

  @Column({ name: "completed_at", type: "timestamptz", nullable: true })
  completedAt!: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
