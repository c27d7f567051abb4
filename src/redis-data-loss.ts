import { matchMaker } from "@colyseus/core";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Counter } from "prom-client";
import { registry } from "./metrics";
import { reannounceRoomKeys } from "./rooms/reannounce";
import { withTimeout } from "./services/unavailable";

const recoveries = new Counter({
  name: "redis_data_loss_recoveries_total",
  help: "Times this process found Redis emptied and re-registered its rooms",
  registers: [registry],
});

export interface DataLossWatchOptions {
  redis: Redis;
  /** This process's marker key (prefixed, with the process id). */
  markerKey: string;
  /** How often the marker is checked besides every reconnect. */
  intervalMs: number;
  logger: Logger;
}

const MARKER_TTL_SEC = 600;
const STEP_TIMEOUT_MS = 5_000;

/**
 * Colyseus re-creates a process's room listings only when a peer swept them
 * and left a receipt; a Redis restarted without its data leaves no receipt,
 * so rooms that still run become invisible: a new viewer of a stream lands in
 * a second `stream` room, a newcomer to a queue bucket in a second queue.
 *
 * Each process keeps a marker key in Redis. When the marker is gone (checked
 * on every reconnect and every `intervalMs`), Redis lost its data (or was
 * flushed): the process re-saves the listing of every room it hosts, its
 * entry in the process list used to place new rooms, and the keys its rooms
 * registered (queue markers). All of it is idempotent, so a marker that
 * merely expired during a long outage costs one harmless re-save.
 */
export function watchRedisDataLoss(options: DataLossWatchOptions): { ready: Promise<void>; stop(): void } {
  const { redis, markerKey, intervalMs, logger } = options;
  let checking: Promise<void> | undefined;
  let restorePending = false;
  let stopped = false;

  const check = () => (checking ??= runCheck().finally(() => (checking = undefined)));
  async function runCheck() {
    if (stopped) return;
    try {
      const replies = await withTimeout(
        redis.multi().exists(markerKey).set(markerKey, "1", "EX", MARKER_TTL_SEC).exec(),
        STEP_TIMEOUT_MS,
        "Redis marker check",
      );
      const existed = Number(replies?.[0]?.[1] ?? 0) === 1;
      if (!existed && armed) restorePending = true;
      armed = true;
      if (restorePending) await restore();
    } catch (err) {
      // Redis is down or slow: the next reconnect or tick checks again.
      logger.debug({ err }, "redis data-loss check failed");
    }
  }

  async function restore() {
    logger.warn("redis lost its data (this process's marker is gone): re-registering this process's rooms");
    await withTimeout(matchMaker.restoreMissingRoomCaches(), STEP_TIMEOUT_MS, "room listings restore");
    await withTimeout(Promise.resolve(matchMaker.stats.persist(true)), STEP_TIMEOUT_MS, "process stats");
    const keys = await reannounceRoomKeys();
    if (keys.failed) throw new Error(`${keys.failed} of ${keys.tasks} room key re-announcements failed`);
    restorePending = false;
    recoveries.inc();
    logger.info({ rooms: matchMaker.stats.local.roomCount, roomKeyTasks: keys.tasks }, "rooms re-registered in redis");
  }

  // The first check only sets the marker: an empty Redis at start-up is no loss.
  let armed = false;
  const ready = check();
  const onReady = () => void check();
  redis.on("ready", onReady);
  const timer = setInterval(onReady, intervalMs);
  timer.unref();
  return {
    ready,
    stop() {
      stopped = true;
      clearInterval(timer);
      redis.off("ready", onReady);
    },
  };
}
