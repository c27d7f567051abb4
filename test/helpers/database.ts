import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * With DATABASE_URL set, each test server gets its own fresh PostgreSQL
 * database (created here, dropped at the end), so runs never see each other.
 */
export async function createScratchDatabase(baseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `arcadia_t_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * The scratch database of a multi-process suite, or a skip (with the reason
 * printed) when DATABASE_URL and REDIS_URL are not both set.
 */
export async function clusterDatabase(
  ctx: Mocha.Context,
): Promise<{ url: string; redisUrl: string; drop: () => Promise<void> } | undefined> {
  const { DATABASE_URL, REDIS_URL } = process.env;
  if (!DATABASE_URL || !REDIS_URL) {
    console.log("    (skipped: set DATABASE_URL and REDIS_URL to run the cluster tests)");
    ctx.skip();
    return undefined;
  }
  return { ...(await createScratchDatabase(DATABASE_URL)), redisUrl: REDIS_URL };
}
