import type { Request, RequestHandler } from "express";
import { rateLimit } from "express-rate-limit";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { RedisStore } from "rate-limit-redis";
import { REDIS_COMMAND_TIMEOUT_MS } from "../redis";
import { unavailable, withTimeout } from "../services/unavailable";
import { sendError } from "./errors";

export interface RateLimitOptions {
  /** Distinguishes limiters that share Redis ("global", "auth", "user"). */
  name: string;
  windowSec: number;
  max: number;
  /** When given, counters live in Redis and hold across every process. */
  redis?: Redis;
  redisKeyPrefix?: string;
  /**
   * When the store fails or does not answer in time: "open" lets the request
   * through (the API stays up without its limiter), "closed" answers 503
   * UNAVAILABLE with Retry-After (where a missing limit invites brute force).
   */
  onStoreFailure: "open" | "closed";
  /** What is counted: the client IP by default; undefined = this request is not counted. */
  key?: (req: Request) => string | undefined;
  skip?: (req: Request) => boolean;
  /** Where store failures are reported (warn, without stack); silent when omitted. */
  logger?: Logger;
}

/**
 * Fixed-window limit answering 429 in the error envelope with Retry-After and
 * the IETF RateLimit headers. Store calls are bounded by the Redis command
 * timeout, so a hung Redis costs a request at most that long.
 */
export function createRateLimiter(options: RateLimitOptions): RequestHandler {
  const { redis, key } = options;
  const failOpen = options.onStoreFailure === "open";
  const logger = options.logger;
  // Until the client's first connection, commands wait for it (bounded by the timeout below);
  // after that, a lost connection fails them at once.
  let connectedOnce = redis?.status === "ready";
  redis?.once("ready", () => (connectedOnce = true));
  return rateLimit({
    windowMs: options.windowSec * 1000,
    limit: options.max,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    passOnStoreError: failOpen,
    skip: (req) => options.skip?.(req) === true || (key !== undefined && key(req) === undefined),
    keyGenerator: key ? (req) => key(req)! : undefined,
    // Called on every request while Redis is down: a warning, not an error with a stack each time.
    logger: {
      warn: (message: unknown) => logger?.warn({ limiter: options.name }, String(message)),
      error: (err: unknown, message?: string) =>
        logger?.warn({ limiter: options.name, cause: (err as Error)?.message }, message ?? String(err)),
    },
    store: redis
      ? new RecoveringRedisStore({
          prefix: `${options.redisKeyPrefix ?? "arcadia:"}rl:${options.name}:`,
          sendCommand: (command: string, ...args: string[]) =>
            // While disconnected, fail at once rather than queue: an outage then costs requests nothing.
            connectedOnce && redis.status !== "ready"
              ? Promise.reject(new Error(`Redis is ${redis.status}`))
              : (withTimeout(
                  redis.call(command, ...args),
                  REDIS_COMMAND_TIMEOUT_MS,
                  "Redis (rate limit)",
                ) as Promise<any>),
        })
      : undefined,
    handler: (req, res) => {
      const seconds = Number(res.getHeader("Retry-After"));
      sendError(req, res, 429, "RATE_LIMITED", `Too many requests; retry in ${seconds} s`, undefined, { seconds });
    },
  });
}

/**
 * rate-limit-redis loads its script once, at start: if Redis was down then (or
 * restarted empty), the failed load would be reused forever and the limiter
 * never count again. A failed load is retried before the next increment.
 */
class RecoveringRedisStore extends RedisStore {
  override async increment(key: string) {
    await this.incrementScriptSha.catch(() => {
      this.incrementScriptSha = this.loadIncrementScript();
    });
    try {
      return await super.increment(key);
    } catch (err) {
      // Refused, timed out or reset: the limiter is unavailable (503 where it fails closed).
      throw unavailable(`Rate limiting is unavailable (${(err as Error)?.message}); try again shortly`);
    }
  }
}
