/**
 * A token bucket per client and message kind: `burst` messages at once, then
 * `perSecond`. Hand-written because it is ten lines and runs on every room
 * message, where a library's async store would add a promise per message.
 */
export class MessageRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
  ) {}

  /** True if `key` may send one more message now (and counts it). */
  take(key: string, now = performance.now()): boolean {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Whole seconds until `key` may send again after a refusal (at least 1): for `RATE_LIMITED {seconds}`. */
  retryAfterSec(key: string): number {
    const tokens = this.buckets.get(key)?.tokens ?? 1;
    return Math.max(1, Math.ceil((1 - tokens) / this.perSecond));
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }
}
