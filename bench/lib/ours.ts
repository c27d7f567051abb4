import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRedis } from "../../src/redis";
import { createScratchDatabase } from "../../test/helpers/database";
import { freePort } from "../../test/helpers/process";
import { POSTGRES_URL, type Spawned, spawnServer, stop } from "./servers";

/** Our server (`src/main.ts`) started for a bench in one mode, and everything it made removed afterwards. */

/** REDIS_URL with `db` unless it names a database (Colyseus's own Redis keys ignore REDIS_KEY_PREFIX). */
export function benchRedisUrl(db: number) {
  const url = new URL(process.env.REDIS_URL || "redis://127.0.0.1:6379");
  if (url.pathname.length <= 1) url.pathname = `/${db}`;
  return url.toString();
}

export interface Ours {
  server: Spawned;
  baseUrl: string;
  pid: number;
  mode: string;
  runId: string;
  scratch?: Awaited<ReturnType<typeof createScratchDatabase>>;
  info: { mode: string; database: string; presence: string };
  cleanup: () => Promise<void>;
}

/**
 * `mode` "postgres" (scratch database on DATABASE_URL's server + Redis at
 * `redisUrl`) or "embedded" (PGlite, local presence), HTTP and auth rate
 * limits out of the way, warnings and errors logged only.
 */
export async function startOurs(
  mode: string,
  name: string,
  redisUrl: string,
  env: Record<string, string> = {},
): Promise<Ours> {
  const runId = randomBytes(4).toString("hex");
  const postgres = mode === "postgres";
  const scratch = postgres ? await createScratchDatabase(POSTGRES_URL) : undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `arcadia-bench-${name}-`));
  const prefix = `bench-${name}-${runId}:`;
  let server: Spawned | undefined;
  const cleanup = async () => {
    if (server) await stop(server.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (scratch) await scratch.drop();
    if (postgres) await dropRedisKeys(redisUrl, prefix).catch(() => {});
  };
  try {
    const port = await freePort();
    server = await spawnServer(
      "src/main.ts",
      {
        DATABASE_URL: scratch?.url ?? "",
        REDIS_URL: postgres ? redisUrl : "",
        REDIS_KEY_PREFIX: prefix,
        PORT: String(port),
        PUBLIC_ADDRESS: `127.0.0.1:${port}`,
        RATE_LIMIT_MAX: "1000000000",
        AUTH_RATE_LIMIT_MAX: "1000000000",
        LOG_LEVEL: "warn",
        DATA_DIR: dataDir,
        ...env,
      },
      "/health/ready",
    );
    return {
      server,
      baseUrl: server.baseUrl,
      pid: server.child.pid!,
      mode,
      runId,
      scratch,
      info: {
        mode,
        database: postgres ? "postgresql" : "embedded (PGlite)",
        presence: postgres ? "redis" : "local",
      },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

export async function dropRedisKeys(redisUrl: string, prefix: string) {
  const redis = createRedis(redisUrl);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await redis.quit();
  }
}

export { stop };
