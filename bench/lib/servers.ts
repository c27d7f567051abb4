import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { freePort } from "../../test/helpers/process";
import { sleep } from "./measure";
import { processTree } from "./proc";

/** The server processes under test: starting and stopping them, their log. */

export const ROOT = path.resolve(__dirname, "../..");
/** tsx's CLI run by this very Node (22): the `.bin/tsx` shim would take whichever `node` PATH finds first. */
export const TSX_CLI = path.join(ROOT, "node_modules/tsx/dist/cli.mjs");
/** The PostgreSQL server the benches create their scratch databases on. */
export const POSTGRES_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";

/** pino levels: 40 warn, 50 error, 60 fatal; anything not JSON (a stack trace on stderr) counts too. */
export function serverLogProblems(output: string) {
  const samples = new Set<string>();
  let warnings = 0;
  let errors = 0;
  for (const line of output.split("\n")) {
    if (!line.trim()) continue;
    let level = 50;
    let msg = line.slice(0, 300);
    try {
      const entry = JSON.parse(line);
      level = entry.level ?? 30;
      msg = `${entry.msg ?? ""} ${entry.err?.message ?? entry.err?.type ?? ""}`.trim();
    } catch {
      // not JSON: stderr
    }
    if (level >= 50) errors++;
    else if (level >= 40) warnings++;
    else continue;
    if (samples.size < 8) samples.add(`${level}: ${msg}`);
  }
  return { errors, warnings, samples: [...samples] };
}

export interface Spawned {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
}

/**
 * `entry` under tsx with this Node, ready once `readyPath` answers 200. Not
 * test/helpers/process.ts's startServerProcess: that waits for the "server
 * ready" log line, which LOG_LEVEL=warn (wanted here: no per-request logging
 * under load) never prints.
 */
export async function spawnServer(entry: string, env: Record<string, string>, readyPath: string): Promise<Spawned> {
  const port = Number(env.PORT ?? (await freePort()));
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each server, written when it exits (tsx passes the flags to node).
  const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_CPU_PROF] : [];
  const child = spawn(process.execPath, [TSX_CLI, ...prof, entry], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const baseUrl = `http://127.0.0.1:${port}`;
  // Not a speed check: a first start on a busy machine took 40 s.
  const deadline = Date.now() + Number(process.env.BENCH_START_TIMEOUT_SEC ?? 180) * 1000;
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop(child);
      throw new Error(`${entry} did not start:\n${output}`);
    }
    try {
      if ((await fetch(baseUrl + readyPath)).status === 200) return { child, baseUrl, output: () => output };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
}

/** SIGTERM (tsx passes it on; the server drains), then SIGKILL for the whole tree so no server outlives the bench. */
export async function stop(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  const tree = processTree(child.pid!);
  child.kill("SIGTERM");
  if (!(await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]))) {
    for (const pid of tree) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await exited;
  }
}

/** A JSON POST to a bench server; a non-2xx answer fails the bench. */
export async function post(baseUrl: string, route: string, body: unknown, token?: string) {
  const res = await fetch(baseUrl + route, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token && { Authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`POST ${route}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<any>;
}
