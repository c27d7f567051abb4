import { Column, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

export type PlaySessionStatus = "live" | "stopped" | "expired" | "insufficient_funds";

/** One play of one game by one user; its live phase is a `play_session` room. */
@Entity({ name: "play_sessions" })
@Index("play_sessions_one_live_per_user", ["userId"], { unique: true, where: `status = 'live'` })
@Index("play_sessions_live_heartbeat_idx", ["status", "lastHeartbeatAt"])
export class PlaySession {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ name: "user_id", type: "uuid" })
  userId!: string;

  @Column({ name: "game_id", type: "uuid" })
  gameId!: string;

  @Column({ type: "varchar", length: 24, default: "live" })
  status!: PlaySessionStatus;

  /** The room hosting the live session (any process). */
  @Column({ name: "room_id", type: "varchar", length: 64, nullable: true })
  roomId!: string | null;

  /** The process hosting the session's room (see ProcessLeases): when its lease is gone, a sweep cleans up. */
  @Column({ name: "process_id", type: "varchar", length: 64, nullable: true })
  processId!: string | null;

  /** Tokens per billing period, fixed at start. */
  @Column({ name: "price_per_period", type: "integer" })
  pricePerPeriod!: number;

  @Column({ name: "periods_billed", type: "integer", default: 0 })
  periodsBilled!: number;

  /** Tokens charged so far. */
  @Column({ type: "integer", default: 0 })
  charged!: number;

  @Column({ name: "started_at", type: "timestamptz" })
  startedAt!: Date;

  @Column({ name: "last_heartbeat_at", type: "timestamptz" })
  lastHeartbeatAt!: Date;

  @Column({ name: "ended_at", type: "timestamptz", nullable: true })
  endedAt!: Date | null;
}
