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

/** Opens the database and brings its schema up to date. */
export async function openDatabase(options: DatabaseOptions): Promise<DataSource> {
  const dataSource = createDataSource(options);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: "each" });
  return dataSource;
}
