import { ipKeyGenerator } from "express-rate-limit";
import type { Request } from "express";

/**
 * Where a request comes from, as the login throttle counts it: the client IP
 * (behind TRUST_PROXY hops), IPv6 grouped by /56 like the rate limiter, since
 * one host usually holds a whole prefix.
 */
export function clientSource(req: Request): string {
  return ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? "unknown");
}
