import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Private PostgreSQL and Redis servers for the fault suite, on ports of its
 * own: the tests stop, kill, hang and empty them, which they must never do to
 * the shared ones.
 */

const PG_BIN = (() => {
  const root = "/usr/lib/postgresql";
  const version = fs.existsSync(root) ? fs.readdirSync(root).sort().at(-1) : undefined;
  return version ? path.join(root, version, "bin") : "";
})();

/** Runs a PostgreSQL binary as the postgres user (initdb refuses root). */
function asPostgres(binary: string, args: string[]) {
  const run =
    process.getuid?.() === 0
      ? ["runuser", ["-u", "postgres", "--", path.join(PG_BIN, binary), ...args]]
      : [path.join(PG_BIN, binary), args];
  return execFileSync(run[0] as string, run[1] as string[], { stdio: "pipe", timeout: 60_000 }).toString();
}

export interface PrivatePostgres {
  url: string;
  port: number;
  start(): void;
  /** Fast shutdown: open connections are cut, as when the server goes away. */
  stop(): void;
  isRunning(): boolean;
  /** Stops it (if running) and deletes its files. */
  destroy(): void;
}

/** initdb into a temporary directory; started unless `started: false`. */
export function createPostgres(port: number, { started = true } = {}): PrivatePostgres {
  if (!PG_BIN) throw new Error("no PostgreSQL binaries under /usr/lib/postgresql");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-fault-pg-"));
  fs.chmodSync(dir, 0o755);
  const data = path.join(dir, "data");
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres", dir]);
  asPostgres("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
  const log = path.join(dir, "server.log");
  const options = `-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off`;
  const pg: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () => void asPostgres("pg_ctl", ["-D", data, "-o", options, "-l", log, "-w", "start"]),
    stop: () => void asPostgres("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]),
    isRunning: () => fs.existsSync(path.join(data, "postmaster.pid")),
    destroy: () => {
      try {
        if (pg.isRunning()) asPostgres("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  if (started) pg.start();
  return pg;
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops it; with `keepData` it saves first and the next start loads the data back. */
  stop(options?: { keepData?: boolean }): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing answers. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Runs a redis-cli command against it. */
  cli(...args: string[]): string;
  destroy(): Promise<void>;
}

/** redis-server as a child process, without persistence except an explicit save before a stop. */
export async function createRedis(port: number): Promise<PrivateRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-fault-redis-"));
  let child: ChildProcess | undefined;
  const cli = (...args: string[]) =>
    execFileSync("redis-cli", ["-p", String(port), ...args], { stdio: "pipe", timeout: 10_000 })
      .toString()
      .trim();
  const waitUntil = async (ok: () => boolean, what: string) => {
    const deadline = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`redis on ${port}: ${what} not reached`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const answers = () => {
    try {
      return cli("ping") === "PONG";
    } catch {
      return false;
    }
  };
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      child = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
        {
          stdio: "ignore",
        },
      );
      await waitUntil(answers, "PONG");
    },
    async stop({ keepData = false } = {}) {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once("exit", resolve));
      if (keepData) cli("shutdown", "save");
      else {
        fs.rmSync(path.join(dir, "dump.rdb"), { force: true });
        running.kill("SIGKILL");
      }
      await exited;
      child = undefined;
    },
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
    cli,
    async destroy() {
      if (child && child.exitCode === null) {
        child.kill("SIGCONT");
        const exited = new Promise((resolve) => child!.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}
