import type { Redis } from "ioredis";

/** A command Redis has not answered by then fails ("Command timed out") instead of waiting. */
export const REDIS_COMMAND_TIMEOUT_MS = 1000;

/**
 * Redis client for our own keys (rate limits, counters). Colyseus presence and
 * driver open their own connections from the same URL.
 */
export function createRedis(url: string, options: { commandTimeoutMs?: number } = {}): Redis {
  // Required here: an embedded start (no REDIS_URL) never loads the client.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Redis } = require("ioredis") as typeof import("ioredis");
  return new Redis(url, {
    // Fail commands fast while disconnected instead of queueing them forever.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5000,
    // A hung server (stopped, overloaded) accepts the connection but never answers:
    // without this, every command (and every rate-limited request) waits for it.
    commandTimeout: options.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
}

/**
 * Turns on ioredis auto-pipelining for a connection Colyseus made (its
 * presence's command connection, its room driver's): commands issued in one
 * event-loop turn then go out in one socket write. A queue join issues about
 * twenty commands from several places (listing writes, queue markers, seat
 * bookkeeping); one write each made socket writes the largest single cost in the
 * matchmaking profile. Set on the built client because Colyseus builds it from
 * the URL with its own copy of ioredis, which reads the option on every command.
 */
export function pipelineCommands(client: { options: object }): void {
  (client.options as { enableAutoPipelining?: boolean }).enableAutoPipelining = true;
}
