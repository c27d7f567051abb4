import fs from "node:fs";
import path from "node:path";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import { openDatabase } from "./data-source";
import { lockEmbeddedDatabase } from "./embedded-lock";

export interface OpenedDatabase {
  dataSource: DataSource;
  /** True when this open created the embedded database (first start): seed it. */
  created: boolean;
  close(): Promise<void>;
}

/**
 * The configured database, migrated: PostgreSQL at DATABASE_URL, or the
 * embedded one under DATA_DIR, locked to this process.
 */
export async function openConfiguredDatabase(config: Config, embeddedDir?: string): Promise<OpenedDatabase> {
  if (config.DATABASE_URL) {
    const dataSource = await openDatabase({ url: config.DATABASE_URL, embeddedDir: "" });
    return { dataSource, created: false, close: () => dataSource.destroy() };
  }
  const dir = embeddedDir ?? path.join(config.DATA_DIR, "pglite");
  let unlock = () => {};
  if (dir !== "memory://") {
    fs.mkdirSync(config.DATA_DIR, { recursive: true });
    unlock = lockEmbeddedDatabase(path.join(config.DATA_DIR, "pglite.lock"));
  }
  const created = dir === "memory://" || !fs.existsSync(dir);
  try {
    const dataSource = await openDatabase({ embeddedDir: dir });
    return {
      dataSource,
      created,
      close: async () => {
        if (dataSource.isInitialized) await dataSource.destroy();
        unlock();
      },
    };
  } catch (err) {
    unlock();
    throw err;
  }
}
