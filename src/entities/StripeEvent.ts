import { Column, CreateDateColumn, Entity, PrimaryColumn } from "typeorm";

/** A Stripe webhook event already handled: recorded in the same transaction as its effect. */
@Entity({ name: "stripe_events" })
export class StripeEvent {
  @PrimaryColumn({ name: "event_id", type: "varchar", length: 255 })
  eventId!: string;

  @Column({ type: "varchar", length: 64 })
  type!: string;

  @CreateDateColumn({ name: "processed_at", type: "timestamptz" })
  processedAt!: Date;
}
