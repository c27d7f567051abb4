import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/** A playable game. Paid games bill their price per started billing period (a minute). */
@Entity({ name: "games" })
export class Game {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Index("games_slug_key", { unique: true })
  @Column({ type: "varchar", length: 64 })
  slug!: string;

  @Column({ type: "varchar", length: 120 })
  title!: string;

  @Column({ type: "varchar", length: 32, default: "1.0.0" })
  version!: string;

  /** Tokens per minute of play; 0 = free. */
  @Column({ name: "price_per_minute", type: "integer", default: 0 })
  pricePerMinute!: number;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
