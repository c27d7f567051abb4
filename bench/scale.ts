import "reflect-metadata";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { openDatabase } from "../src/db/data-source";
import { WalletService } from "../src/services/wallet";
import { createScratchDatabase } from "../test/helpers/database";
import { nginxMissing, startNginx } from "../test/helpers/nginx";
import { freePort } from "../test/helpers/process";
import { concatSamples, type Loadgen, sharedNow, startLoadgen, sumCounts } from "./lib/loadgen";
import { printResult, ratio, sleep, summary } from "./lib/measure";
import { cpuTicks } from "./lib/proc";
import { benchRedisUrl } from "./lib/ours";
import { POSTGRES_URL, serverLogProblems, type Spawned, spawnServer, stop } from "./lib/servers";
import type { SummaryRow } from "./lib/rows";

/**
 * Scale-out as deployed: 1, 2 and 3 server processes (BENCH_SCALE_PROCESSES) on one
 * PostgreSQL (a scratch database) and one Redis (database 14 unless REDIS_URL names one),
 * behind nginx running deploy/nginx/arcadia.conf, every process at its PUBLIC_ADDRESS
 * `<nginx>/p/<port>`. Clients (the multi-process load generator) make `match_queue` joins
 * through nginx's shared entry at a fixed open-loop rate, ramped over BENCH_SCALE_RATES joins/s,
 * BENCH_SCALE_STEP_SECONDS per step; each join is by a funded guest into its own bucket (never
 * paired: every join creates a queue room on the least-busy process and disposes it on leave).
 * The figure per process count: the highest rate whose join latency (request → joined) has
 * p95 ≤ 100 ms with no failed join. The ramp stops at the first step past that.
 */
const PROCESS_COUNTS = (process.env.BENCH_SCALE_PROCESSES ?? "1,2,3").split(",").map(Number);
const RATES = (process.env.BENCH_SCALE_RATES ?? "25,50,100,150,200,300,400,600").split(",").map(Number);
const STEP_SEC = Number(process.env.BENCH_SCALE_STEP_SECONDS ?? 5);
const USERS = Number(process.env.BENCH_SCALE_USERS ?? 1000);
const P95_LIMIT_MS = 100;
const REDIS_URL = benchRedisUrl(14);
const REGIONS = ["eu", "na", "sa", "as", "af", "oc"];

interface JoinsReply {
  latencies: Float64Array;
  sent: number;
  problems: Record<string, number>;
}

interface Step {
  ratePerSec: number;
  sent: number;
  joined: number;
  latencyMs: ReturnType<typeof summary>;
  problems: Record<string, number>;
  /** CPU of all server processes over the step, % of one core (2 cores = 200). */
  serverPctOfCore: number;
  generatorPctOfCore: number;
  machineBusyPct: number | null;
  ok: boolean;
}

/** N processes and nginx in front, on a fresh scratch database; `run` ramps; everything stops after. */
async function cluster(processes: number, runId: string) {
  const scratch = await createScratchDatabase(POSTGRES_URL);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-bench-scale-"));
  const ports = await Promise.all(Array.from({ length: processes }, () => freePort()));
  const servers: Spawned[] = [];
  const nginx = await startNginx({
    processes: ports.map((port) => ({ name: String(port), address: `127.0.0.1:${port}` })),
    assetRoot: path.join(dataDir, "assets"),
    workers: 1,
  });
  const cleanup = async () => {
    await Promise.all(servers.map((s) => stop(s.child)));
    await nginx.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await scratch.drop();
  };
  try {
    const prefix = `bench-scale-${runId}-${processes}:`;
    // At once, as systemd starts them: migrations take an advisory lock.
    servers.push(
      ...(await Promise.all(
        ports.map((port) =>
          spawnServer(
            "src/main.ts",
            {
              DATABASE_URL: scratch.url,
              REDIS_URL,
              REDIS_KEY_PREFIX: prefix,
              PORT: String(port),
              PUBLIC_ADDRESS: `127.0.0.1:${nginx.port}/p/${port}`,
              TRUST_PROXY: "1",
              RATE_LIMIT_MAX: "1000000000",
              AUTH_RATE_LIMIT_MAX: "1000000000",
              LOG_LEVEL: "warn",
              DATA_DIR: dataDir,
            },
            "/health/ready",
          ),
        ),
      )),
    );
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { servers, entry: nginx.url, scratch, nginx, cleanup };
}

async function fund(databaseUrl: string, ids: string[], runId: string) {
  const ds = await openDatabase({ url: databaseUrl, embeddedDir: "" });
  try {
    const wallet = new WalletService(ds);
    for (let i = 0; i < ids.length; i += 100) {
      await wallet.apply(
        ids.slice(i, i + 100).map((userId) => ({
          userId,
          delta: 10,
          reason: "adjustment" as const,
          idempotencyKey: `bench-scale:${runId}:${userId}`,
        })),
      );
    }
  } finally {
    await ds.destroy();
  }
}

async function ramp(gen: Loadgen, entry: string, servers: Spawned[]): Promise<Step[]> {
  const steps: Step[] = [];
  for (const rate of RATES) {
    const before = servers.reduce((n, s) => n + cpuTicks(s.child.pid), 0);
    const { replies, cpu } = await gen.run<JoinsReply>(
      "joins",
      { endpoint: entry, ratePerSec: rate / gen.procs, seconds: STEP_SEC, startAt: sharedNow() + 300 },
      { timeoutMs: (STEP_SEC + 120) * 1000 },
    );
    const serverTicks = servers.reduce((n, s) => n + cpuTicks(s.child.pid), 0) - before;
    const latencies = concatSamples(replies.map((r) => r.latencies));
    const latencyMs = summary(latencies);
    const problems = sumCounts(replies.map((r) => r.problems));
    const failed = Object.values(problems).reduce((n, x) => n + x, 0);
    const step: Step = {
      ratePerSec: rate,
      sent: replies.reduce((n, r) => n + r.sent, 0),
      joined: latencies.length,
      latencyMs,
      problems,
      serverPctOfCore: Math.round((serverTicks * 10 * 100) / cpu.wallMs),
      generatorPctOfCore: cpu.generator.pctOfCore,
      machineBusyPct: cpu.machineBusyPct,
      ok: failed === 0 && (latencyMs.p95 ?? Infinity) <= P95_LIMIT_MS,
    };
    steps.push(step);
    console.error(
      `scale: ${servers.length} process(es), ${rate} joins/s: ${JSON.stringify(latencyMs)} ${failed} failed`,
    );
    if (!step.ok) break;
    await sleep(1000); // queue rooms disposed, markers cleared
  }
  return steps;
}

export async function benchScale(): Promise<Record<string, unknown>> {
  const missing = nginxMissing();
  if (missing) return { name: "scale", skipped: missing };
  const runId = randomBytes(4).toString("hex");
  const loadBefore = +os.loadavg()[0].toFixed(2);
  // Colyseus's room and process lists ignore REDIS_KEY_PREFIX: anyone else on this database joins the cluster.
  const redis = new Redis(REDIS_URL);
  const otherProcesses = await redis.hlen("roomcount").finally(() => redis.quit());
  const results: Array<{ processes: number; maxJoinsPerSec: number; steps: Step[]; serverLogProblems: unknown }> = [];
  for (const processes of PROCESS_COUNTS) {
    const c = await cluster(processes, runId);
    const gen = await startLoadgen({ worker: path.join(__dirname, "workers/scale.ts") });
    try {
      const ids = (
        await gen.run<string[]>("users", {
          endpoint: c.entry,
          prefix: `scale-${runId}-${processes}`,
          total: USERS,
          regions: REGIONS,
        })
      ).replies.flat();
      await fund(c.scratch.url, ids, runId);
      const steps = await ramp(gen, c.entry, c.servers);
      const passed = steps.filter((s) => s.ok);
      results.push({
        processes,
        maxJoinsPerSec: passed.length ? passed[passed.length - 1].ratePerSec : 0,
        steps,
        serverLogProblems: serverLogProblems(c.servers.map((s) => s.output()).join("\n")),
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nnginx: ${c.nginx.errorLog().slice(0, 3000)}`, {
        cause: err,
      });
    } finally {
      await gen.close();
      await c.cleanup();
    }
  }
  const one = results.find((r) => r.processes === 1)?.maxJoinsPerSec;
  const rows: SummaryRow[] = results.map((r) => ({
    id: "scale",
    measure: `match_queue joins/s at p95 ≤ ${P95_LIMIT_MS} ms, ${r.processes} process(es) behind deploy/nginx, PostgreSQL + Redis`,
    unit: "joins/s",
    ours: r.maxJoinsPerSec,
    baseline: one ?? null,
    ratio: ratio(r.maxJoinsPerSec, one),
    target: "scales with processes (baseline: 1 process)",
  }));
  return {
    name: "scale",
    rates: RATES,
    stepSeconds: STEP_SEC,
    users: USERS,
    redis: REDIS_URL,
    otherColyseusProcessesOnRedis: otherProcesses,
    loadBefore,
    results,
    rows,
  };
}

if (require.main === module) printResult(benchScale);
