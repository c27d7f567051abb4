import { createHash } from "node:crypto";
import type { MoleKind } from "./whack";

// The rules of a whack round, pure (no I/O, no clock: every time is passed in),
// so the room, the tests and an auditor replaying a revealed seed agree exactly.

export const HOLES = 9;
export const POINTS: Record<MoleKind, number> = { normal: 1, golden: 3, bomb: -2 };

/** The latency allowance never exceeds this, however slow the client claims to be. */
export const MAX_LATENCY_MS = 250;
/**
 * A hit this soon after its mole spawned (measured at `at`, after the latency
 * allowance) counts but flags the round for that player. Simple visual reaction
 * takes a human ~150–250 ms, and the mole reaches the client only with the next
 * state patch (up to 50 ms later) plus the one-way latency; 100 ms is under
 * every human's reaction with margin, so only anticipation-free automation gets below it.
 */
export const REACTION_FLOOR_MS = 100;
/** More whacks than this in any 1 s window are refused (RATE_LIMITED) and flag the round. */
export const MAX_WHACKS_PER_SECOND = 20;

/** sfc32 seeded from sha256(seed): deterministic per seed, uniform floats in [0, 1). */
export function seededRandom(seed: string): () => number {
  const bytes = createHash("sha256").update(seed).digest();
  let a = bytes.readUInt32LE(0);
  let b = bytes.readUInt32LE(4);
  let c = bytes.readUInt32LE(8);
  let d = bytes.readUInt32LE(12);
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // sfc32 mixes its state for a few rounds before it is uniform
  return next;
}

export const seedHashOf = (seed: string) => createHash("sha256").update(seed).digest("hex");

/** A scheduled mole, in milliseconds from the start of play. */
export interface PlannedMole {
  moleId: number;
  hole: number;
  kind: MoleKind;
  spawnOffsetMs: number;
  despawnOffsetMs: number;
}

/** Gap between spawns and how long each kind stays up (ms, uniform in [min, max)). */
const GAP_MS = [250, 700] as const;
const UP_MS: Record<MoleKind, readonly [number, number]> = {
  normal: [900, 1500],
  golden: [500, 800], // rarer and shorter: worth 3
  bomb: [1000, 1600], // up longer: a trap to avoid
};
const GOLDEN_CHANCE = 0.1;
const BOMB_CHANCE = 0.15;

const between = (random: () => number, [min, max]: readonly [number, number]) =>
  Math.floor(min + random() * (max - min));

/**
 * The round's moles, from its seed alone: spawn times, holes (never two moles
 * in one hole at once), kinds and durations. Every mole is down by the end.
 */
export function moleSchedule(seed: string, roundMs: number): PlannedMole[] {
  const random = seededRandom(seed);
  const freeAt = new Array<number>(HOLES).fill(0);
  const moles: PlannedMole[] = [];
  let at = between(random, GAP_MS);
  while (at < roundMs) {
    const roll = random();
    const kind: MoleKind = roll < GOLDEN_CHANCE ? "golden" : roll < GOLDEN_CHANCE + BOMB_CHANCE ? "bomb" : "normal";
    const up = between(random, UP_MS[kind]);
    const free = freeAt.flatMap((until, hole) => (until <= at ? [hole] : []));
    const pick = random();
    if (free.length && at + up <= roundMs) {
      const hole = free[Math.floor(pick * free.length)];
      freeAt[hole] = at + up;
      moles.push({ moleId: moles.length + 1, hole, kind, spawnOffsetMs: at, despawnOffsetMs: at + up });
    }
    at += between(random, GAP_MS);
  }
  return moles;
}

/** A spawned mole as the judge sees it (times in epoch ms). */
export interface JudgedMole {
  moleId: number;
  hole: number;
  kind: MoleKind;
  spawnAt: number;
  despawnAt: number;
  /** Who hit it first, once hit. */
  hitBy?: string;
}

export type Verdict =
  | { outcome: "hit"; points: number; tooFast: boolean }
  | { outcome: "MISS" | "ALREADY_HIT" | "UNKNOWN_MOLE" | "WRONG_HOLE" };

/**
 * Judges one whack. `mole` is the spawned mole the whack names (undefined when
 * no such mole has spawned); `at` is the receive time minus the latency
 * allowance. A hit needs the mole up (or just up) in that hole at `at`:
 * spawnAt ≤ at ≤ despawnAt. Before spawnAt or after despawnAt the hole was empty: a miss.
 */
export function judge(mole: JudgedMole | undefined, hole: number, at: number): Verdict {
  if (!mole) return { outcome: "UNKNOWN_MOLE" };
  if (mole.hole !== hole) return { outcome: "WRONG_HOLE" };
  if (mole.hitBy) return { outcome: "ALREADY_HIT" };
  if (at < mole.spawnAt || at > mole.despawnAt) return { outcome: "MISS" };
  return { outcome: "hit", points: POINTS[mole.kind], tooFast: at - mole.spawnAt < REACTION_FLOOR_MS };
}

/** The time a whack is judged at: when it arrived, less the one-way latency (capped). */
export const judgedAt = (receivedAt: number, latencyMs: number) =>
  receivedAt - Math.min(Math.max(0, latencyMs), MAX_LATENCY_MS);

/** A sliding 1 s window of a player's whacks: false once more than the limit arrived within it. */
export class WhackRateWindow {
  private readonly times: number[] = [];

  constructor(
    private readonly limit = MAX_WHACKS_PER_SECOND,
    private readonly windowMs = 1000,
  ) {}

  /** Counts a whack arriving at `now` (refused ones too: a flood stays refused). */
  take(now: number): boolean {
    while (this.times.length && this.times[0] <= now - this.windowMs) this.times.shift();
    this.times.push(now);
    return this.times.length <= this.limit;
  }
}

/**
 * The server's own estimate of a client's latency. The client answers each
 * `pong {serverTime}` at once with `ping {t: serverTime}`; the time since that
 * pong was sent is one round trip. Only the latest pong's time counts, once,
 * and only if it came back within a second (anything slower is not an echo),
 * so a client cannot make up samples; it can only delay its echo, which the
 * 250 ms cap bounds. One-way latency is half the median of the recent round trips.
 */
export class LatencyEstimator {
  private lastPong?: number;
  private readonly samples: number[] = [];

  constructor(
    private readonly keep = 5,
    private readonly maxRttMs = 1000,
  ) {}

  /** The server sent a pong stamped `serverTime`. */
  sent(serverTime: number): void {
    this.lastPong = serverTime;
  }

  /** A ping carrying `t` arrived at `now`; true if it was a round-trip sample. */
  received(t: number, now: number): boolean {
    const expected = this.lastPong;
    this.lastPong = undefined; // any ping spends the pong: one sample per pong at most
    if (expected === undefined || t !== expected) return false;
    const rtt = now - t;
    if (rtt < 0 || rtt > this.maxRttMs) return false;
    this.samples.push(rtt);
    if (this.samples.length > this.keep) this.samples.shift();
    return true;
  }

  /** Half the median round trip, capped at MAX_LATENCY_MS; 0 before any sample. */
  oneWayMs(): number {
    if (!this.samples.length) return 0;
    const sorted = [...this.samples].sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return Math.min(median / 2, MAX_LATENCY_MS);
  }
}
