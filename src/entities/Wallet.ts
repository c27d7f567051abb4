import { Check, Column, Entity, PrimaryColumn, UpdateDateColumn } from "typeorm";

/** A user's token balance. Changed only by WalletService, one ledger entry per change. */
@Entity({ name: "wallets" })
@Check("wallets_balance_nonnegative", `"balance" >= 0`)
export class Wallet {
  @PrimaryColumn({ name: "user_id", type: "uuid" })
  userId!: string;

  @Column({ type: "bigint", default: 0 })
  balance!: number;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt!: Date;
}
