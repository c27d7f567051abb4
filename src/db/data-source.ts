import fs from "node:fs";
import path from "node:path";
import { DataSource } from "typeorm";
import { entities } from "../entities";
import { migrations } from "./migrations";
import { createPgliteDriver } from "./pglite-driver";

export interface DatabaseOptions {
  /** PostgreSQL URL; without it the embedded PGlite database is used. */
  url?: string;
  /** Where the embedded database lives: a directory, or "memory://". */
  embeddedDir: string;
}

export function createDataSource(options: DatabaseOptions): DataSource {
  const common = {
    type: "postgres" as const,
    entities,
    migrations,
    migrationsTableName: "migrations",
    synchronize: false,
    // gen_random_uuid() is built in (PG ≥ 13, PGlite); PGlite has no extensions to install.
    uuidExtension: "pgcrypto" as const,
    installExtensions: false,
    // Counts and bigint sums as numbers on both drivers (PGlite already does this).
    parseInt8: true,
  };
  if (options.url) {
    return new DataSource({ ...common, url: options.url, extra: { max: 20, connectionTimeoutMillis: 5000 } });
  }
  if (options.embeddedDir !== "memory://") fs.mkdirSync(path.dirname(options.embeddedDir), { recursive: true });
  return new DataSource({ ...common, driver: createPgliteDriver({ dataDir: options.embeddedDir }) });
}

/** Any constant: the advisory lock id every process takes around migrations. */
const MIGRATION_LOCK_ID = 7_240_517_001;

/**
 * Opens the database and brings its schema up to date. On PostgreSQL an
 * advisory lock makes processes that start together migrate one at a time
 * (the others then find nothing to do); the embedded database has one owner.
 */
export async function openDatabase(options: DatabaseOptions): Promise<DataSource> {
  const dataSource = createDataSource(options);
  await dataSource.initialize();
  try {
    await migrate(dataSource, options);
  } catch (err) {
    // The server went away mid-migration: free the pool so a retry starts clean.
    await dataSource.destroy().catch(() => undefined);
    throw err;
  }
  return dataSource;
}

async function migrate(dataSource: DataSource, options: DatabaseOptions): Promise<void> {
  if (!options.url) {
    await dataSource.runMigrations({ transaction: "each" });
    return;
  }
  const lock = dataSource.createQueryRunner();
  try {
    await lock.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_ID]);
    await dataSource.runMigrations({ transaction: "each" });
  } finally {
    await lock.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_ID]).catch(() => undefined);
    await lock.release();
  }
}
