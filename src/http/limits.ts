import type { Request, RequestHandler } from "express";
import { verifyAccessToken } from "../services/access-tokens";
import { bearerToken } from "./auth-middleware";
import type { HttpDependencies } from "./app";
import { createRateLimiter } from "./rate-limit";

const UNLIMITED_PATHS = new Set(["/health", "/health/ready", "/metrics"]);

export interface Limits {
  /** RATE_LIMIT_MAX per client IP, every route but probes and scrapes. Fails open. */
  perIp: RequestHandler;
  /** RATE_LIMIT_MAX per signed-in user (a valid bearer access token), whatever their IP. Fails open. */
  perUser: RequestHandler;
  /** AUTH_RATE_LIMIT_MAX per client IP where passwords are guessed. Fails closed. */
  auth: RequestHandler;
}

/**
 * The HTTP rate limits, shared by Express and the matchmaking gate. With Redis
 * the counters hold across processes. If Redis fails or hangs, the general
 * limits let requests through (an API that goes down with its limiter is
 * worse), while the auth limit answers 503: without it, passwords could be
 * guessed at full speed during the outage.
 */
export function createLimits(deps: HttpDependencies): Limits {
  const { config, redis, logger } = deps;
  const common = {
    windowSec: config.RATE_LIMIT_WINDOW_SEC,
    redis,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    logger,
  };
  const skip = (req: Request) => UNLIMITED_PATHS.has(req.path);
  return {
    perIp: createRateLimiter({ ...common, name: "global", max: config.RATE_LIMIT_MAX, onStoreFailure: "open", skip }),
    perUser: createRateLimiter({
      ...common,
      name: "user",
      max: config.RATE_LIMIT_MAX,
      onStoreFailure: "open",
      skip,
      key: (req) => tokenUser(req, config.JWT_SECRET),
    }),
    auth: createRateLimiter({ ...common, name: "auth", max: config.AUTH_RATE_LIMIT_MAX, onStoreFailure: "closed" }),
  };
}

const users = new WeakMap<Request, string | null>();

/**
 * The user a request's bearer token was signed for, or undefined: a signature
 * check only (no database), so a forged token cannot spend a real user's
 * budget; revocation is checked later by the route itself. Memoised per request.
 */
function tokenUser(req: Request, secret: string): string | undefined {
  let user = users.get(req);
  if (user === undefined) {
    const token = bearerToken(req);
    try {
      user = token ? `u:${verifyAccessToken(secret, token).sub}` : null;
    } catch {
      user = null;
    }
    users.set(req, user);
  }
  return user ?? undefined;
}
