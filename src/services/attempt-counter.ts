import type { Redis } from "ioredis";

/**
 * Fixed-window counters for failed attempts (logins, verification codes),
 * in Redis when configured so every process counts together, else in memory.
 */
export interface AttemptCounter {
  /** Adds one failure; returns the count in the current window and its seconds left. */
  hit(key: string, windowSec: number): Promise<{ count: number; resetSec: number }>;
  peek(key: string): Promise<{ count: number; resetSec: number }>;
  reset(key: string): Promise<void>;
}

export function createAttemptCounter(redis: Redis | undefined, prefix: string): AttemptCounter {
  return redis ? new RedisAttemptCounter(redis, prefix) : new MemoryAttemptCounter();
}

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

  async peek(key: string) {
    const k = this.prefix + key;
    const [count, ttl] = await Promise.all([this.redis.get(k), this.redis.ttl(k)]);
    return { count: Number(count ?? 0), resetSec: Math.max(0, ttl) };
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
    return { count: w.count, resetSec: Math.ceil((w.resetAt - now) / 1000) };
  }

  async peek(key: string) {
    const now = Date.now();
    const w = this.windows.get(key);
    if (!w || w.resetAt <= now) return { count: 0, resetSec: 0 };
    return { count: w.count, resetSec: Math.ceil((w.resetAt - now) / 1000) };
  }

  async reset(key: string) {
    this.windows.delete(key);
  }

  private sweep(now: number) {
    for (const [key, w] of this.windows) if (w.resetAt <= now) this.windows.delete(key);
  }
}
