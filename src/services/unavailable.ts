import { AppError } from "./errors";

/** A dependency (PostgreSQL, Redis, another process) did not answer in time. */
export class DependencyTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = "DependencyTimeoutError";
  }
}

/** Socket-level failures: the peer is down, restarting or unreachable. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTCONN"]);
/** PostgreSQL SQLSTATEs of class 08 (connection exception) and 57P0x (shutting down, cannot connect now). */
const PG_UNAVAILABLE = /^(08|57P0)/;
/** Messages of pg and ioredis when their connection is gone (they carry no code). */
const GONE_MESSAGES = [
  "Connection terminated",
  "connection error and is not queryable",
  "timeout exceeded when trying to connect",
  "Connection is closed",
  "Reached the max retries per request limit",
  "Stream isn't writeable",
  // ioredis' commandTimeout (src/redis.ts): Redis accepted the connection but did not answer.
  "Command timed out",
];

/**
 * True when `err` means a dependency is unreachable rather than that the
 * request was wrong: callers answer 503 / `error {code:"UNAVAILABLE"}` and
 * the client may retry, instead of a 500 or a crash.
 */
export function isUnavailable(err: unknown): boolean {
  for (let e = err as Record<string, unknown> | undefined, depth = 0; e && depth < 4; depth++) {
    if (e instanceof DependencyTimeoutError) return true;
    if (e.name === "MaxRetriesPerRequestError") return true;
    const code = typeof e.code === "string" ? e.code : "";
    if (NETWORK_CODES.has(code) || PG_UNAVAILABLE.test(code)) return true;
    const message = typeof e.message === "string" ? e.message : "";
    if (GONE_MESSAGES.some((m) => message.includes(m))) return true;
    // TypeORM wraps the driver's error; AggregateError lists one per address tried.
    e = (e.driverError ?? e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined)) as typeof e;
  }
  return false;
}

export const unavailable = (message = "A backing service is unavailable; try again shortly") =>
  new AppError(503, "UNAVAILABLE", message, undefined, { "Retry-After": "2" });

/** Rejects with DependencyTimeoutError if `task` has not settled after `ms`. */
export function withTimeout<T>(task: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DependencyTimeoutError(what, ms)), ms);
  });
  return Promise.race([task, timeout]).finally(() => clearTimeout(timer));
}
