import type { Redis } from "ioredis";

/** A seat claim lives this long unless its room refreshes it: a crashed process's seats free themselves. */
export const WHACK_SEAT_TTL_SEC = 30;

/**
 * Which whack room a play session is seated in: one at a time, across processes.
 * A claim is one atomic step (Redis `SET NX EX`, or a synchronous step in memory)
 * with a TTL the holding room keeps refreshing; only the holder refreshes or
 * releases it. After a crash nothing refreshes the claim and it lapses within
 * the TTL (embedded mode: the restart starts with none).
 */
export interface WhackSeats {
  /** Seats the session in `holder` (a room id); false when another room holds it. */
  claim(playSessionId: string, holder: string): Promise<boolean>;
  /** Extends the holder's claims; false for one it no longer holds. */
  refresh(playSessionId: string, holder: string): Promise<boolean>;
  /** Frees the session, if `holder` still holds it. */
  release(playSessionId: string, holder: string): Promise<void>;
}

export function createWhackSeats(redis: Redis | undefined, prefix: string, ttlSec = WHACK_SEAT_TTL_SEC): WhackSeats {
  return redis ? new RedisWhackSeats(redis, `${prefix}whack-seat:`, ttlSec) : new MemoryWhackSeats(ttlSec);
}

/** Only the holder's claim is touched: one that lapsed and was taken by another room is left alone. */
const REFRESH_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

class RedisWhackSeats implements WhackSeats {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSec: number,
  ) {}

  async claim(playSessionId: string, holder: string) {
    return (await this.redis.set(this.prefix + playSessionId, holder, "EX", this.ttlSec, "NX")) === "OK";
  }

  async refresh(playSessionId: string, holder: string) {
    return Number(await this.redis.eval(REFRESH_SCRIPT, 1, this.prefix + playSessionId, holder, this.ttlSec)) === 1;
  }

  async release(playSessionId: string, holder: string) {
    await this.redis.eval(RELEASE_SCRIPT, 1, this.prefix + playSessionId, holder);
  }
}

class MemoryWhackSeats implements WhackSeats {
  private readonly seats = new Map<string, { holder: string; expiresAt: number }>();

  constructor(private readonly ttlSec: number) {}

  async claim(playSessionId: string, holder: string) {
    const now = Date.now();
    const seat = this.seats.get(playSessionId);
    if (seat && seat.expiresAt > now) return false;
    this.seats.set(playSessionId, { holder, expiresAt: now + this.ttlSec * 1000 });
    return true;
  }

  async refresh(playSessionId: string, holder: string) {
    const seat = this.seats.get(playSessionId);
    if (!seat || seat.holder !== holder || seat.expiresAt <= Date.now()) return false;
    seat.expiresAt = Date.now() + this.ttlSec * 1000;
    return true;
  }

  async release(playSessionId: string, holder: string) {
    if (this.seats.get(playSessionId)?.holder === holder) this.seats.delete(playSessionId);
  }
}
