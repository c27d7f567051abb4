import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/** One chat message between matched users; the bigint id is the paging cursor. */
@Entity({ name: "match_messages" })
@Index("match_messages_match_idx", ["matchId", "id"])
export class MatchMessage {
  @PrimaryGeneratedColumn("identity", { type: "bigint", generatedIdentity: "ALWAYS" })
  id!: string;

  @Column({ name: "match_id", type: "uuid" })
  matchId!: string;

  @Column({ name: "from_user_id", type: "uuid" })
  fromUserId!: string;

  @Column({ type: "varchar", length: 1000 })
  text!: string;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
