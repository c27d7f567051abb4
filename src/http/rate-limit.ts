import type { Request, RequestHandler } from "express";
import { rateLimit } from "express-rate-limit";
import type { Redis } from "ioredis";
import { RedisStore } from "rate-limit-redis";
import { sendError } from "./errors";

export interface RateLimitOptions {
  /** Distinguishes limiters that share Redis ("global", "auth"). */
  name: string;
  windowSec: number;
  max: number;
  /** When given, counters live in Redis and hold across every process. */
  redis?: Redis;
  redisKeyPrefix?: string;
  skip?: (req: Request) => boolean;
}

/**
 * Per-IP fixed-window limit answering 429 in the error envelope with
 * Retry-After and the IETF RateLimit headers. If Redis fails, requests pass
 * (readiness reports the outage) rather than the whole API going down.
 */
export function createRateLimiter(options: RateLimitOptions): RequestHandler {
  const redis = options.redis;
  return rateLimit({
    windowMs: options.windowSec * 1000,
    limit: options.max,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    passOnStoreError: true,
    skip: options.skip,
    store: redis
      ? new RedisStore({
          prefix: `${options.redisKeyPrefix ?? "arcadia:"}rl:${options.name}:`,
          sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<any>,
        })
      : undefined,
    handler: (req, res) =>
      sendError(req, res, 429, "RATE_LIMITED", `Too many requests; retry in ${res.getHeader("Retry-After")} s`),
  });
}
