import fs from "node:fs";
import { StartupError } from "../config";

/**
 * PGlite has no postmaster to refuse a second opener, and two processes writing
 * one data directory corrupt it. A pid file does that job: a live owner stops
 * start-up with a clear message; a stale one (crash) is taken over.
 */
export function lockEmbeddedDatabase(lockFile: string): () => void {
  try {
    fs.writeFileSync(lockFile, String(process.pid), { flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const owner = Number(fs.readFileSync(lockFile, "utf8"));
    if (owner && owner !== process.pid && isAlive(owner)) {
      throw new StartupError(
        `The embedded database is in use by process ${owner} (${lockFile}). Stop it, or set DATABASE_URL.`,
        {
          cause: err,
        },
      );
    }
    fs.writeFileSync(lockFile, String(process.pid));
  }
  return () => fs.rmSync(lockFile, { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
