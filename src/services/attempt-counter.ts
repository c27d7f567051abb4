import type { Redis } from "ioredis";

/**
 * Fixed-window counters for attempts (logins, verification codes), in Redis
 * when configured so every process counts together, else in memory. `hit` is
 * one atomic increment (Redis INCR, or a synchronous step in memory), so a
 * caller can reserve an attempt before doing the work it guards.
 */
export interface AttemptCounter {
  /** Adds one; returns the count in the current window (including this one) and its seconds left. */
  hit(key: string, windowSec: number): Promise<{ count: number; resetSec: number }>;
  /** Gives back one earlier hit of the current window (never below zero, never opens a new window). */
  release(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

export function createAttemptCounter(redis: Redis | undefined, prefix: string): AttemptCounter {
  return redis ? new RedisAttemptCounter(redis, prefix) : new MemoryAttemptCounter();
}

/** DECR only a live window's key that is above zero: a plain DECR would recreate an expired key without TTL. */
const RELEASE_SCRIPT = `if (tonumber(redis.call('GET', KEYS[1]) or '0') > 0) then return redis.call('DECR', KEYS[1]) end return 0`;

class RedisAttemptCounter implements AttemptCounter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async hit(key: string, windowSec: number) {
    const k = this.prefix + key;
    const results = await this.redis.multi().incr(k).expire(k, windowSec, "NX").ttl(k).exec();
    return { count: Number(results?.[0]?.[1] ?? 0), resetSec: Math.max(1, Number(results?.[2]?.[1] ?? windowSec)) };
  }

  async release(key: string) {
    await this.redis.eval(RELEASE_SCRIPT, 1, this.prefix + key);
  }

  async reset(key: string) {
    await this.redis.del(this.prefix + key);
  }
}

class MemoryAttemptCounter implements AttemptCounter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  async hit(key: string, windowSec: number) {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      if (this.windows.size > 100_000) this.sweep(now);
      w = { count: 0, resetAt: now + windowSec * 1000 };
      this.windows.set(key, w);
    }
    w.count++;
    return { count: w.count, resetSec: Math.max(1, Math.ceil((w.resetAt - now) / 1000)) };
  }

  async release(key: string) {
    const w = this.windows.get(key);
    if (w && w.resetAt > Date.now() && w.count > 0) w.count--;
  }

  async reset(key: string) {
    this.windows.delete(key);
  }

  private sweep(now: number) {
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
  }
}
