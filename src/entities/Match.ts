import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/** A mutual MATCH after a call: the two users may now chat. */
@Entity({ name: "matches" })
@Index("matches_call_key", ["callId"], { unique: true })
@Index("matches_user_a_idx", ["userA", "createdAt"])
@Index("matches_user_b_idx", ["userB", "createdAt"])
export class Match {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ name: "call_id", type: "uuid" })
  callId!: string;

  @Column({ name: "user_a", type: "uuid" })
  userA!: string;

  @Column({ name: "user_b", type: "uuid" })
  userB!: string;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
