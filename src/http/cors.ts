import { matchMaker } from "@colyseus/core";
import type { IncomingMessage } from "node:http";

/**
 * CORS for every HTTP response, matchmaking and Express alike.
 *
 * Colyseus answers every OPTIONS preflight itself and stamps its CORS headers
 * on every response before Express sees the request; by default it reflects
 * any Origin with credentials allowed. So the allow-list has to live in its
 * controller hooks, not in an Express middleware (the `cors` package would
 * never see a preflight). Origins outside CORS_ORIGINS get no Allow-Origin.
 */
export function installCorsPolicy(allowedOrigins: readonly string[]): void {
  const allowed = new Set(allowedOrigins.map((o) => new URL(o).origin));
  // Colyseus types this as its own five defaults; we replace the set (no wildcard origin).
  (matchMaker.controller as { DEFAULT_CORS_HEADERS: Record<string, string> }).DEFAULT_CORS_HEADERS = {
    "Access-Control-Allow-Headers":
      "Origin, X-Requested-With, Content-Type, Accept, Authorization, X-Request-Id, X-CSRF-Token, Range, If-Range, If-None-Match",
    "Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE",
    "Access-Control-Expose-Headers":
      "X-Request-Id, Retry-After, RateLimit, RateLimit-Policy, Content-Range, Accept-Ranges, ETag, Last-Modified",
    "Access-Control-Max-Age": "600",
    Vary: "Origin",
  };
  matchMaker.controller.getCorsHeaders = (headers: Headers): Record<string, string> => {
    const origin = headers.get("origin");
    if (!origin || !allowed.has(origin)) return {};
    return { "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true" };
  };
}

/** The CORS headers Colyseus stamps on a response, for answers we send before it sees the request. */
export function corsHeadersFor(req: IncomingMessage): Record<string, string> {
  const headers = new Headers();
  if (typeof req.headers.origin === "string") headers.set("origin", req.headers.origin);
  return { ...matchMaker.controller.DEFAULT_CORS_HEADERS, ...matchMaker.controller.getCorsHeaders(headers) };
}
