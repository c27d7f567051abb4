import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import { createLogger } from "../logger";
import { addressOf, waitForDependency } from "../startup-wait";
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
 * embedded one under DATA_DIR, locked to this process. PostgreSQL that is
 * not reachable yet is waited for (DATABASE_STARTUP_TIMEOUT_SEC), with a log
 * line per attempt.
 */
export async function openConfiguredDatabase(
  config: Config,
  embeddedDir?: string,
  logger: Logger = createLogger(config.LOG_LEVEL).child({ module: "database" }),
): Promise<OpenedDatabase> {
  const url = config.DATABASE_URL;
  if (url) {
    const dataSource = await waitForDependency(() => openDatabase({ url, embeddedDir: "" }), {
      what: `PostgreSQL at ${addressOf(url)}`,
      timeoutSec: config.DATABASE_STARTUP_TIMEOUT_SEC,
      setting: "DATABASE_STARTUP_TIMEOUT_SEC",
      logger,
    });
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
