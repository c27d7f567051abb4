import { Column, Entity, PrimaryColumn } from "typeorm";

/** A token pack sold through Stripe Checkout (seeded: starter, plus, pro). */
@Entity({ name: "token_packs" })
export class TokenPack {
  @PrimaryColumn({ type: "varchar", length: 32 })
  id!: string;

  @Column({ type: "varchar", length: 64 })
  name!: string;

  @Column({ type: "integer" })
  tokens!: number;

  /** Price in the currency's minor unit (cents). */
  @Column({ name: "price_cents", type: "integer" })
  priceCents!: number;

  @Column({ type: "char", length: 3, default: "usd" })
  currency!: string;

  @Column({ type: "boolean", default: true })
  active!: boolean;
}
