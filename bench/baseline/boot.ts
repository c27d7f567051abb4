import { defineServer, type RegisteredHandler } from "@colyseus/core";

/**
 * A baseline server: Colyseus alone with `rooms` on PORT; logs the same "server ready" line as
 * ours. With REDIS_URL, Colyseus's own Redis presence and driver, as a cluster deployment of bare
 * Colyseus would run: what Colyseus itself costs in that mode is then in the baseline too.
 */
export function serveBare(rooms: Record<string, RegisteredHandler>) {
  defineServer({ rooms, greet: false, express: () => {}, ...redisScaleOut(process.env.REDIS_URL) })
    .listen(Number(process.env.PORT))
    .then(() => console.log('{"msg":"server ready"}'))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}

function redisScaleOut(url: string | undefined) {
  if (!url) return {};
  // Required only here: a local baseline (the start-up bench's) never loads a Redis client.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { RedisPresence } = require("@colyseus/redis-presence") as typeof import("@colyseus/redis-presence");
  const { RedisDriver } = require("@colyseus/redis-driver") as typeof import("@colyseus/redis-driver");
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { presence: new RedisPresence(url), driver: new RedisDriver(url) };
}
