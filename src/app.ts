import "reflect-metadata";
import { LocalPresence, matchMaker, type Presence, type Server } from "@colyseus/core";
import type { RedisPresence } from "@colyseus/redis-presence";
import type { Redis } from "ioredis";
import type { DestinationStream, Logger } from "pino";
import type { DataSource } from "typeorm";
import { createServer } from "../arena.config";
import type { Config } from "./config";
import { type OpenedDatabase, openConfiguredDatabase } from "./db/open";
import type { Api } from "./http/api";
import { listenOrFail } from "./listen";
import { createLogger } from "./logger";
import { guardProcess, logRedisErrors } from "./process-guard";
import { createMatchMakerGateway } from "./rooms/gateway";
import { listenForCallModeration } from "./rooms/call-moderation";
import { listenForUserNotices } from "./rooms/user-notices";
import { createRedis, pipelineCommands } from "./redis";
import { watchRedisDataLoss } from "./redis-data-loss";
import { createServices, type Services, startServices } from "./services";
import { seed } from "./services/seed";
import { addressOf, waitForDependency } from "./startup-wait";
import pkg from "../package.json";

/** How often each process checks that Redis still holds its marker (besides every reconnect). */
const DATA_LOSS_CHECK_MS = 5_000;

export interface StartOptions {
  port: number;
  /** Install signal handlers and exit the process on shutdown (main), or not (tests). */
  exitOnShutdown: boolean;
  /** The database, when the caller started opening it already (main overlaps it with imports). */
  database?: Promise<OpenedDatabase>;
  logDestination?: DestinationStream;
}

export interface RunningApp {
  config: Config;
  logger: Logger;
  server: Server;
  dataSource: DataSource;
  redis?: Redis;
  presence: Presence;
  services: Services;
  api: Api;
  port: number;
  /** Same path as SIGTERM: rooms finish, then the database and Redis close. */
  stop(): Promise<void>;
}

/**
 * The composition root: opens the database (migrating and, on a fresh embedded
 * install, seeding it), connects Redis when configured, and starts Colyseus and
 * Express on one port.
 */
export async function startApp(config: Config, options: StartOptions): Promise<RunningApp> {
  const logger = createLogger(config.LOG_LEVEL, options.logDestination);
  guardProcess(logger);
  const started = performance.now();
  const releases: Array<() => Promise<void> | void> = [];

  const redis = config.REDIS_URL ? createRedis(config.REDIS_URL) : undefined;
  if (redis && !redis.listenerCount("error")) logRedisErrors(redis, "app", logger);
  // Waited for together: a dependency still starting does not delay the other's wait.
  const redisReady = redis
    ? waitForDependency(() => redis.ping(), {
        what: `Redis at ${addressOf(config.REDIS_URL!)}`,
        timeoutSec: config.REDIS_STARTUP_TIMEOUT_SEC,
        setting: "REDIS_STARTUP_TIMEOUT_SEC",
        logger,
      })
    : undefined;
  const [database] = await Promise.all([options.database ?? openConfiguredDatabase(config), redisReady]).catch(
    (err) => {
      redis?.disconnect();
      throw err;
    },
  );
  const { dataSource } = database;
  releases.push(() => database.close());
  if (redis) releases.unshift(() => redis.quit().then(() => undefined));

  // Colyseus and our services share one presence: Redis pub/sub across processes, or in-process.
  const presence: Presence = config.REDIS_URL ? redisPresenceFor(config.REDIS_URL) : new LocalPresence();
  // Each joinOrCreate waiting for a new room (a popular stream starting) listens on presence's
  // emitter: more than Node's default 10 is normal here, not a leak.
  presence.setMaxListeners(1000);
  // Room calls are bounded; a Redis that does not answer turns a timeout into 503, not "the room is gone".
  const rooms = createMatchMakerGateway({ probeRedis: redis && (() => redis.ping()) });
  const services = createServices({ config, dataSource, presence, redis, logger, rooms });
  await startServices(services, config);
  // Notices for one user's open rooms (badge:awarded), from any process, handed to this process's clients.
  const stopUserNotices = await listenForUserNotices(services.events);
  // Moderation verdicts for this process's call rooms, from any process.
  const stopCallModeration = await listenForCallModeration(services.events);
  // Released before the database closes: a dispatch pass under way finishes first.
  releases.unshift(() => services.domainLog.stop());
  releases.unshift(() => services.domainEventPruner.stop());
  releases.unshift(() => services.walletInvariantCheck.stop());
  if (database.created) {
    const { created } = await seed(dataSource, services.games);
    logger.info({ created }, "seeded the new embedded database");
  }

  // This process's lease, and the cleanup after dead processes (calls, sessions, streams, queue markers).
  await services.sweeper.start();
  releases.unshift(() => services.sweeper.stop());
  releases.unshift(() => services.analytics.stop());
  releases.unshift(() => services.starknet.stop());

  let shuttingDown = false;
  let api: Api | undefined;
  const server = createServer(
    { config, logger, dataSource, redis, services, version: pkg.version, isShuttingDown: () => shuttingDown },
    { gracefullyShutdown: options.exitOnShutdown, presence, onHttpReady: (a) => (api = a) },
  );
  server.onBeforeShutdown(() => {
    shuttingDown = true;
    // Colyseus closes the presence before onShutdown: unsubscribe while it is still open.
    services.authState.stop();
    services.i18n.stop();
    services.moderation.stop();
    services.play.live.stop();
    stopUserNotices();
    stopCallModeration();
    logger.info("shutting down: draining rooms");
  });
  server.onShutdown(async () => {
    for (const release of releases) await release();
    logger.info("shutdown complete");
  });

  try {
    await listenOrFail(server, options.port);
  } catch (err) {
    // Nothing is served yet: release the database and Redis so the process can exit.
    await server.gracefullyShutdown(false);
    throw err;
  }
  if (redis) {
    const watch = watchRedisDataLoss({
      redis,
      markerKey: `${config.REDIS_KEY_PREFIX}process:${matchMaker.processId}`,
      intervalMs: DATA_LOSS_CHECK_MS,
      logger,
    });
    releases.unshift(() => watch.stop());
    await watch.ready;
  }
  const port = (server.transport.server?.address() as { port: number } | null)?.port ?? options.port;
  logger.info(
    {
      port,
      database: config.DATABASE_URL ? "postgresql" : `embedded (${config.DATA_DIR})`,
      presence: redis ? "redis" : "local",
      startupMs: Math.round(performance.now() - started),
    },
    "server ready",
  );

  return {
    config,
    logger,
    server,
    dataSource,
    redis,
    presence,
    services,
    api: api!,
    port,
    stop: () => server.gracefullyShutdown(false),
  };
}

/** Redis presence whose command connection (`pub`, protected) pipelines; the subscriber connection is left as it is. */
function redisPresenceFor(url: string): RedisPresence {
  const presence = new (redisPresence())(url);
  pipelineCommands((presence as unknown as { pub: { options: object } }).pub);
  return presence;
}

/** Required only with REDIS_URL: an embedded start never loads it (nor its Redis client). */
function redisPresence(): typeof RedisPresence {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require("@colyseus/redis-presence") as typeof import("@colyseus/redis-presence")).RedisPresence;
}
