import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/**
 * One change to one wallet, append-only. A balance always equals the sum of
 * its entries; `idempotencyKey` makes every operation safe to retry.
 */
@Entity({ name: "ledger_entries" })
@Index("ledger_entries_user_idx", ["userId", "id"])
export class LedgerEntry {
  /** Increasing: newest first is `ORDER BY id DESC`, and it is the history cursor. */
  @PrimaryGeneratedColumn({ type: "bigint" })
  id!: number;

  @Column({ name: "user_id", type: "uuid" })
  userId!: string;

  @Column({ type: "bigint" })
  delta!: number;

  @Column({ name: "balance_after", type: "bigint" })
  balanceAfter!: number;

  /** Why: purchase, tip_sent, tip_received, play, queue_fee, refund, adjustment. */
  @Column({ type: "varchar", length: 32 })
  reason!: string;

  @Column({ name: "ref_type", type: "varchar", length: 32, nullable: true })
  refType!: string | null;

  @Column({ name: "ref_id", type: "varchar", length: 128, nullable: true })
  refId!: string | null;

  @Index("ledger_entries_idempotency_key", { unique: true })
  @Column({ name: "idempotency_key", type: "varchar", length: 200 })
  idempotencyKey!: string;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
