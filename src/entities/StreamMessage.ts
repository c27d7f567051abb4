import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/** One chat message in a stream; the bigint id orders and pages them. Deleted ones are kept, marked. */
@Entity({ name: "stream_messages" })
@Index("stream_messages_stream_idx", ["streamId", "id"])
export class StreamMessage {
  @PrimaryGeneratedColumn("identity", { type: "bigint", generatedIdentity: "ALWAYS" })
  id!: string;

  @Column({ name: "stream_id", type: "uuid" })
  streamId!: string;

  @Column({ name: "user_id", type: "uuid" })
  userId!: string;

  /** As it was when sent: history does not change when a user renames. */
  @Column({ name: "display_name", type: "varchar", length: 64 })
  displayName!: string;

  @Column({ type: "varchar", length: 500 })
  text!: string;

  @Column({ name: "deleted_at", type: "timestamptz", nullable: true })
  deletedAt!: Date | null;

  @Column({ name: "deleted_by", type: "uuid", nullable: true })
  deletedBy!: string | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
