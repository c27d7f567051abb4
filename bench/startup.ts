import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../test/helpers/process";
import { printResult, sleep } from "./lib/measure";
import { ROOT } from "./lib/servers";

/**
 * Embedded start-up time: from spawning what `npm start` runs (`node --import tsx
 * src/main.ts`) to the first 200 on /health/ready, on a new DATA_DIR (database
 * created, migrated, seeded) and on a later start (database reopened). Baseline
 * in the same run: bare Colyseus, started the same way.
 * Targets: first ≤ 8 s, later ≤ 2 s on 2 cores.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** Milliseconds from spawn until `readyPath` answers 200; then SIGTERM and wait for exit. */
async function timeStart(entry: string, env: Record<string, string>, readyPath: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), LOG_LEVEL: "warn", DATABASE_URL: "", REDIS_URL: "" },
    stdio: "ignore",
  });
  const exited = new Promise((r) => child.once("exit", r));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}${readyPath}`);
        if (res.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await sleep(20);
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchStartup() {
  const first: number[] = [];
  const later: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-bench-start-"));
    try {
      first.push(await timeStart("src/main.ts", { DATA_DIR: dataDir }, "/health/ready"));
      later.push(await timeStart("src/main.ts", { DATA_DIR: dataDir }, "/health/ready"));
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    bare.push(await timeStart("bench/baseline/bare-colyseus.ts", {}, "/__healthcheck"));
  }
  const result = {
    name: "startup",
    runs: RUNS,
    firstStartMs: Math.round(median(first)),
    laterStartMs: Math.round(median(later)),
    bareColyseusMs: Math.round(median(bare)),
    firstVsBare: +(median(first) / median(bare)).toFixed(2),
    laterVsBare: +(median(later) / median(bare)).toFixed(2),
    targets: { firstStartMs: 8000, laterStartMs: 2000 },
  };
  return result;
}

if (require.main === module) printResult(benchStartup);
