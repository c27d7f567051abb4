import { Column, CreateDateColumn, Entity, PrimaryColumn } from "typeorm";

/**
 * A paid Stripe event whose checkout session has no purchase row yet (the
 * webhook outran the purchase's INSERT): kept, and applied when the row appears.
 */
@Entity({ name: "stripe_deferred_events" })
export class StripeDeferredEvent {
  @PrimaryColumn({
    name: "checkout_session_id",
    type: "varchar",
    length: 255,
    primaryKeyConstraintName: "PK_stripe_deferred_events",
  })
  checkoutSessionId!: string;

  @Column({ name: "event_id", type: "varchar", length: 255 })
  eventId!: string;

  @Column({ type: "varchar", length: 64 })
  type!: string;

  @CreateDateColumn({ name: "received_at", type: "timestamptz" })
  receivedAt!: Date;
}
