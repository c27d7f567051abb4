import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

export type StreamStatus = "live" | "ended";

/** A livestream. One live stream per owner. */
@Entity({ name: "streams" })
@Index("streams_one_live_per_owner", ["ownerId"], { unique: true, where: `status = 'live'` })
@Index("streams_status_created_idx", ["status", "createdAt"])
export class Stream {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ name: "owner_id", type: "uuid" })
  ownerId!: string;

  @Column({ type: "varchar", length: 120 })
  title!: string;

  @Column({ type: "varchar", length: 2000, nullable: true })
  description!: string | null;

  @Column({ type: "varchar", length: 8, default: "live" })
  status!: StreamStatus;

  /** The process hosting the stream's room (the last one created) (see ProcessLeases): when its lease is gone, a sweep cleans up. */
  @Column({ name: "process_id", type: "varchar", length: 64, nullable: true })
  processId!: string | null;

  /** Since when the owner is not connected to the stream's room; null while they are. */
  @Column({ name: "owner_left_at", type: "timestamptz", nullable: true, default: () => "now()" })
  ownerLeftAt!: Date | null;

  @Column({ name: "ended_at", type: "timestamptz", nullable: true })
  endedAt!: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
