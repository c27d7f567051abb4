import type { Logger } from "pino";
import { StartupError } from "./config";
import { isUnavailable } from "./services/unavailable";

export interface WaitOptions {
  /** What is awaited, for the log and the final error ("PostgreSQL at db:5432"). */
  what: string;
  /** Give up after this long (the env var's value). */
  timeoutSec: number;
  /** The env var that sets timeoutSec, named in the final error. */
  setting: string;
  logger: Logger;
}

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 5_000;

/**
 * Runs `attempt` until it succeeds, retrying with exponential backoff while
 * the failure means "not reachable yet" (a dependency starting with the
 * server, as under docker compose or after a host reboot). Any other error
 * (bad password, missing database) is raised at once; after `timeoutSec` the
 * last error becomes a StartupError that says what to check.
 */
export async function waitForDependency<T>(attempt: () => Promise<T>, options: WaitOptions): Promise<T> {
  const { what, timeoutSec, setting, logger } = options;
  const deadline = Date.now() + timeoutSec * 1000;
  let delay = FIRST_DELAY_MS;
  for (let n = 1; ; n++) {
    try {
      const result = await attempt();
      if (n > 1) logger.info({ attempt: n }, `${what} is reachable`);
      return result;
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      const reason = describe(err);
      const left = deadline - Date.now();
      if (left <= 0) {
        logger.error({ attempt: n, error: reason }, `${what} is not reachable; giving up`);
        throw new StartupError(
          `${what} was not reachable within ${timeoutSec} s (${n} attempts; last error: ${reason}). ` +
            `Check that it is running and reachable, or raise ${setting}.`,
        );
      }
      const wait = Math.min(delay, left);
      logger.warn({ attempt: n, retryInMs: wait, error: reason }, `${what} is not reachable yet; retrying`);
      await new Promise((resolve) => setTimeout(resolve, wait));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}

/** The innermost useful message (AggregateError lists one error per address tried). */
function describe(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: unknown[]; driverError?: unknown };
  if (Array.isArray(e?.errors) && e.errors.length) return describe(e.errors[0]);
  if (e?.driverError) return describe(e.driverError);
  const text = e?.message || e?.code || String(err);
  return e?.code && !text.includes(e.code) ? `${e.code}: ${text}` : text;
}

/** host:port of a URL, never its credentials (for logs and errors). */
export function addressOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || "default port"}`;
}
