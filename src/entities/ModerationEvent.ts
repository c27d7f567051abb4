import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/** One verdict from the AI moderation provider, kept once per provider event id. */
@Entity({ name: "moderation_events" })
@Index("moderation_events_event_key", ["eventId"], { unique: true })
@Index("moderation_events_user_violation_idx", ["userId", "createdAt"], { where: "violation" })
export class ModerationEvent {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ name: "event_id", type: "varchar", length: 128 })
  eventId!: string;

  @Column({ name: "user_id", type: "uuid" })
  userId!: string;

  @Column({ name: "call_id", type: "uuid", nullable: true })
  callId!: string | null;

  @Column({ type: "boolean" })
  violation!: boolean;

  /** The provider's classes above threshold, e.g. ["nudity"]. */
  @Column({ type: "jsonb", default: () => "'[]'" })
  classes!: string[];

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
