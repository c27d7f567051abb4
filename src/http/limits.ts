import type { Request, RequestHandler } from "express";
import { verifyAccessToken } from "../services/access-tokens";
import { bearerToken } from "./auth-middleware";
import type { HttpDependencies } from "./app";
import { createRateLimiter } from "./rate-limit";

const UNLIMITED_PATHS = new Set(["/health", "/health/ready", "/metrics"]);
/** Where passwords are guessed: the auth limit fails closed there. */
const PASSWORD_CHECKS = /^\/(api\/auth\/(login|register|change-password)|monitor\/login)\/?(\?|$)/;

export interface Limits {
  /** RATE_LIMIT_MAX per client IP, every route but probes and scrapes. Fails open. */
  perIp: RequestHandler;
  /** RATE_LIMIT_MAX per signed-in user (a valid bearer access token), whatever their IP. Fails open. */
  perUser: RequestHandler;
  /**
   * AUTH_RATE_LIMIT_MAX per client IP on /api/auth/* and the monitor login.
   * Fails closed where a password is checked (login, register, change-password,
   * monitor login), open elsewhere: refresh and logout keep working during an outage.
   */
  auth: RequestHandler;
}

/**
 * The HTTP rate limits, shared by Express and the matchmaking gate. With Redis
 * the counters hold across processes. If Redis fails or hangs, the limits let
 * requests through (an API that goes down with its limiter is worse), except
 * where passwords are checked: there the auth limit answers 503, or passwords
 * could be guessed at full speed during the outage.
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
  // One budget (same name, same counters), two answers to a store failure.
  const auth = { ...common, name: "auth", max: config.AUTH_RATE_LIMIT_MAX };
  const authClosed = createRateLimiter({ ...auth, onStoreFailure: "closed" });
  const authOpen = createRateLimiter({ ...auth, onStoreFailure: "open" });
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
    auth: (req, res, next) => (PASSWORD_CHECKS.test(req.originalUrl) ? authClosed : authOpen)(req, res, next),
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
