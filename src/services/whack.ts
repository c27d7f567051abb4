import type { DataSource } from "typeorm";
import type { LeaderboardService } from "./leaderboards";

// SKELETON (session plan): the types are the contract between the whack room and this service;
// the method bodies are filled in by the storage work. Nothing calls them yet.

export type WhackMode = "solo" | "versus";
export type MoleKind = "normal" | "golden" | "bomb";

/** A mole as spawned: it is up in `hole` from `spawnAt` until `despawnAt` (or until hit). */
export interface WhackMole {
  moleId: number;
  hole: number;
  kind: MoleKind;
  spawnAt: Date;
  despawnAt: Date;
}

/** A valid hit: `at` is the server's receive time minus the player's latency allowance. */
export interface WhackHit {
  moleId: number;
  userId: string;
  at: Date;
  points: number;
}

export interface WhackPlayer {
  userId: string;
  displayName: string;
  playSessionId: string;
}

/** A player's standing when the round ends for them. */
export interface WhackPlayerResult {
  userId: string;
  /** Whacks on an empty hole (or a mole no longer up). */
  misses: number;
  /** Why the round was flagged for this player (`rate`, `reaction`); flagged results never reach a leaderboard. */
  flags: string[];
  /** Set when the round ended early for this player (`session_ended`, `left`, …); null when they played to the end. */
  endReason: string | null;
}

export interface WhackRoundEnd {
  endedAt: Date;
  /** `time_up`, `all_left`, `session_ended`, … */
  reason: string;
  /** Moles and hits not yet passed to recordProgress (all of them is fine too: writes are idempotent). */
  moles: WhackMole[];
  hits: WhackHit[];
  players: WhackPlayerResult[];
}

export interface WhackScore {
  userId: string;
  displayName: string;
  score: number;
  hits: number;
  misses: number;
  rank: number;
  flagged: boolean;
}

export interface WhackAudit {
  roundId: string;
  mode: WhackMode;
  startedAt: string;
  endedAt: string;
  seedHash: string;
  seed: string;
  moles: Array<{ moleId: number; hole: number; kind: MoleKind; spawnAt: string; despawnAt: string }>;
  hits: Array<{ moleId: number; userId: string; at: string; points: number }>;
  scores: WhackScore[];
}

/**
 * Whack rounds: storage, scores, the audit, and the exactly-once leaderboard writes.
 * The room owns the clock and the rules (src/services/whack-rules.ts); this service owns the rows.
 */
export class WhackService {
  constructor(
    readonly dataSource: DataSource,
    readonly leaderboards: LeaderboardService,
  ) {}

  /** A new round id, a secret seed (hex) and its public sha256 (hex). Nothing stored yet. */
  newRound(mode: WhackMode): { roundId: string; seed: string; seedHash: string; mode: WhackMode } {
    void mode;
    throw new Error("not implemented");
  }

  /** Stores the round as playing (the seed stays private until the end) with its players. */
  async startRound(round: {
    roundId: string;
    mode: WhackMode;
    seed: string;
    seedHash: string;
    startedAt: Date;
    players: WhackPlayer[];
  }): Promise<void> {
    void round;
    throw new Error("not implemented");
  }

  /** Write-behind of spawned moles and valid hits while the round runs (idempotent). */
  async recordProgress(roundId: string, moles: WhackMole[], hits: WhackHit[]): Promise<void> {
    void [roundId, moles, hits];
    throw new Error("not implemented");
  }

  /** Stores the end (one transaction, with its leaderboard outbox), then applies the leaderboard writes. */
  async finishRound(roundId: string, end: WhackRoundEnd): Promise<WhackScore[]> {
    void [roundId, end];
    throw new Error("not implemented");
  }

  async audit(roundId: string): Promise<WhackAudit> {
    void roundId;
    throw new Error("not implemented");
  }
}
