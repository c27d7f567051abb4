import { Counter } from "prom-client";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { registry } from "./metrics";

const unhandledRejections = new Counter({
  name: "process_unhandled_rejections_total",
  help: "Promise rejections nobody handled (logged at error level; the process keeps serving)",
  registers: [registry],
});

let installed: ((reason: unknown) => void) | undefined;

/**
 * Logs unhandled promise rejections at error level and counts them, instead
 * of letting Node turn them into an uncaughtException (which Colyseus's
 * graceful shutdown treats as fatal).
 *
 * Why this is right here: every call of ours that can fail on a dependency is
 * awaited and guarded (timeouts, 503 UNAVAILABLE), so what is left unhandled
 * are rejections we cannot catch at all, chiefly Colyseus's `requestFromIPC`,
 * whose async Promise executor leaks a failed `presence.subscribe` during a
 * Redis outage. Such a rejection leaves no half-done state behind in our code;
 * ending the process for it would turn a 10-second Redis blip into a cluster
 * restart. Synchronous uncaught exceptions stay fatal: they can interrupt a
 * handler halfway, and then the process's state is unknown.
 */
export function guardProcess(logger: Logger): void {
  if (installed) return;
  installed = (reason) => {
    unhandledRejections.inc();
    logger.error({ err: reason }, "unhandled promise rejection (process keeps running)");
  };
  process.on("unhandledRejection", installed);
}

/** Logs a Redis client's connection errors (without a listener ioredis prints them to stderr unformatted). */
export function logRedisErrors(client: Redis, name: string, logger: { warn(obj: object, msg: string): void }): void {
  let last = "";
  // A down Redis fails every reconnect attempt the same way: log changes, not repetitions.
  client.on("ready", () => (last = ""));
  client.on("error", (err: Error) => {
    if (err.message !== last) logger.warn({ err, client: name }, "redis connection error");
    last = err.message;
  });
}
