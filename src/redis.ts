import { Redis } from "ioredis";

/**
 * Redis client for our own keys (rate limits, counters). Colyseus presence and
 * driver open their own connections from the same URL.
 */
export function createRedis(url: string): Redis {
  return new Redis(url, {
    // Fail commands fast while disconnected instead of queueing them forever.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
}
