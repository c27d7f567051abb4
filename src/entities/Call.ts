import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

export type CallPhase = "connecting" | "live" | "choosing" | "ended";
/**
 * Why a call ended: completed (the timer), hung_up (`end`), or one of the early
 * endings; `shutdown` is a graceful stop of its process, `crashed` its death.
 */
export type CallEndReason =
  | "completed"
  | "hung_up"
  | "cancelled"
  | "peer_disconnected"
  | "insufficient_funds"
  | "moderation"
  | "shutdown"
  | "crashed";
export type CallChoice = "MATCH" | "PASS";

/** One 1:1 video call made by the queue; its live part is a `video_call` room. */
@Entity({ name: "calls" })
@Index("calls_user_a_idx", ["userA", "createdAt"])
@Index("calls_user_b_idx", ["userB", "createdAt"])
@Index("calls_open_idx", ["phase"], { where: `phase <> 'ended'` })
export class Call {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  /** Seat 0: the user who waited longer. */
  @Column({ name: "user_a", type: "uuid" })
  userA!: string;

  @Column({ name: "user_b", type: "uuid" })
  userB!: string;

  @Column({ type: "varchar", length: 8 })
  region!: string;

  @Column({ type: "varchar", length: 2 })
  language!: string;

  @Column({ name: "room_id", type: "varchar", length: 64, nullable: true })
  roomId!: string | null;

  /** The process hosting the call's room (see ProcessLeases): when its lease is gone, a sweep cleans up. */
  @Column({ name: "process_id", type: "varchar", length: 64, nullable: true })
  processId!: string | null;

  @Column({ type: "varchar", length: 12, default: "connecting" })
  phase!: CallPhase;

  @Column({ name: "end_reason", type: "varchar", length: 24, nullable: true })
  endReason!: CallEndReason | null;

  @Column({ name: "choice_a", type: "varchar", length: 5, nullable: true })
  choiceA!: CallChoice | null;

  @Column({ name: "choice_b", type: "varchar", length: 5, nullable: true })
  choiceB!: CallChoice | null;

  @Column({ name: "started_at", type: "timestamptz", nullable: true })
  startedAt!: Date | null;

  @Column({ name: "talk_ended_at", type: "timestamptz", nullable: true })
  talkEndedAt!: Date | null;

  @Column({ name: "ended_at", type: "timestamptz", nullable: true })
  endedAt!: Date | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt!: Date;
}
