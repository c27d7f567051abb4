import { type ChildProcess, fork } from "node:child_process";
import os from "node:os";
import { cpuTicks, machineTicks } from "./proc";
import type { PhaseReply, WorkerRequest } from "./loadgen-protocol";

/**
 * The multi-process load generator: simulated clients spread over K worker
 * processes so that the clients, not the server, are never what saturates.
 *
 * Main process (the bench):
 *
 *   const gen = await startLoadgen({ worker: require.resolve("./fanout-worker"), setup: { endpoint } });
 *   const joined = await gen.run("connect", (i) => ({ ...share(500, gen.procs, i) }));
 *   const load = await gen.run("load", { startAt: sharedNow() + 200 }, { serverPid });
 *   load.replies   // what each worker's handler returned (Float64Arrays pass as they are)
 *   load.cpu       // generator (sum, busiest worker), server (pid tree), machine: see PhaseCpu
 *   await gen.close();
 *
 * Worker module (run with tsx's import hook by this very Node):
 *
 *   serveWorker({ connect: async (arg, ctx) => {...}, load: async (arg, ctx) => ({ latencies, problems }) });
 *
 * `run` sends the phase to every worker and resolves when all have answered:
 * each phase is a barrier. A phase that must start at one instant everywhere
 * takes a `startAt` on the shared clock (`sharedNow()`, the same in every
 * process on the machine), which is also how latency is taken when a message
 * is sent in one worker and received in another. A handler's error fails the
 * `run` (with every failing worker's message); a worker that exits fails it too.
 *
 * K = `procs`, else BENCH_CLIENT_PROCS, else min(4, max(2, cores)). Loopback only:
 * the workers connect where the bench tells them.
 */

export { sharedNow, share } from "./loadgen-protocol";

export interface WorkerCpu {
  /** CPU time of the worker during the phase (user + system), ms. */
  ms: number;
  /** Its event loop's p99 delay during the phase, ms: a busy client shows here first. */
  loopDelayP99Ms: number;
}

export interface PhaseCpu {
  wallMs: number;
  generator: {
    ms: number;
    /** Sum over the workers, % of one core. */
    pctOfCore: number;
    /** The busiest worker alone, % of one core: near 100 means the generator, not the server, is the limit. */
    busiestPctOfCore: number;
    busiestLoopDelayP99Ms: number;
    workers: WorkerCpu[];
  };
  /** The server's process tree (`serverPid`), when given. */
  server: { ms: number; pctOfCore: number } | null;
  /** The whole machine's busy share, all cores (%). */
  machineBusyPct: number | null;
}

export interface PhaseResult<T> {
  replies: T[];
  cpu: PhaseCpu;
}

export interface Loadgen {
  readonly procs: number;
  /** Runs `phase` in every worker (arg, or arg per worker index) and waits for all. */
  run<T = unknown>(
    phase: string,
    arg?: unknown | ((worker: number) => unknown),
    opts?: { serverPid?: number; timeoutMs?: number },
  ): Promise<PhaseResult<T>>;
  /** Ends the workers (their `close` handler first, if any). */
  close(): Promise<void>;
}

export function defaultProcs() {
  const env = Number(process.env.BENCH_CLIENT_PROCS);
  return env > 0 ? Math.floor(env) : Math.min(4, Math.max(2, os.cpus().length));
}

interface WorkerHandle {
  child: ChildProcess;
  pending?: { resolve: (r: PhaseReply) => void; reject: (e: Error) => void };
  stderr: string;
}

/** Forks the workers; resolves once each has loaded its module. */
export async function startLoadgen(opts: {
  /** Absolute path of the worker module (a .ts file calling serveWorker). */
  worker: string;
  procs?: number;
  /** Passed to every worker as ctx.setup. */
  setup?: unknown;
  env?: Record<string, string>;
}): Promise<Loadgen> {
  const procs = opts.procs ?? defaultProcs();
  const workers: WorkerHandle[] = [];
  let seq = 0;

  const call = (w: WorkerHandle, req: WorkerRequest, timeoutMs: number) =>
    new Promise<PhaseReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${req.worker}: ${req.phase} timed out`)), timeoutMs);
      w.pending = {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      w.child.send(req);
    });

  const runAll = async (phase: string, arg: unknown, timeoutMs: number) => {
    const id = ++seq;
    const settled = await Promise.allSettled(
      workers.map((w, i) =>
        call(w, { id, phase, worker: i, arg: typeof arg === "function" ? arg(i) : arg }, timeoutMs),
      ),
    );
    const failures = settled.flatMap((s, i) =>
      s.status === "rejected"
        ? [`worker ${i}: ${s.reason?.message ?? s.reason}`]
        : s.value.error
          ? [`worker ${i}: ${s.value.error}`]
          : [],
    );
    if (failures.length) throw new Error(`loadgen phase ${phase} failed:\n${failures.join("\n")}`);
    return settled.map((s) => (s as PromiseFulfilledResult<PhaseReply>).value);
  };

  for (let i = 0; i < procs; i++) {
    const child = fork(opts.worker, [], {
      execArgv: ["--import", "tsx"],
      serialization: "advanced", // typed arrays and Maps pass as they are
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      env: { ...process.env, ...opts.env },
    });
    const w: WorkerHandle = { child, stderr: "" };
    child.stderr!.on("data", (d) => {
      w.stderr = (w.stderr + d).slice(-4000);
      process.stderr.write(d);
    });
    child.on("message", (m: PhaseReply) => {
      const p = w.pending;
      w.pending = undefined;
      p?.resolve(m);
    });
    child.on("exit", (code, signal) => {
      const p = w.pending;
      w.pending = undefined;
      p?.reject(new Error(`exited (${code ?? signal}) ${w.stderr.slice(-1000)}`));
    });
    workers.push(w);
  }

  const close = async () => {
    await Promise.race([runAll("close", undefined, 10_000).catch(() => {}), sleep(10_000)]);
    await Promise.all(
      workers.map(async (w) => {
        if (w.child.exitCode !== null || w.child.signalCode !== null) return;
        const exited = new Promise((r) => w.child.once("exit", r));
        w.child.kill("SIGTERM");
        if (!(await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]))) w.child.kill("SIGKILL");
      }),
    );
  };

  try {
    await runAll("init", { procs, setup: opts.setup }, 60_000);
  } catch (err) {
    await close();
    throw err;
  }

  return {
    procs,
    close,
    async run<T>(
      phase: string,
      arg?: unknown,
      runOpts: { serverPid?: number; timeoutMs?: number } = {},
    ): Promise<PhaseResult<T>> {
      const server0 = cpuTicks(runOpts.serverPid);
      const machine0 = machineTicks();
      const t0 = performance.now();
      const replies = await runAll(phase, arg, runOpts.timeoutMs ?? 300_000);
      const wallMs = performance.now() - t0;
      const serverTicks = cpuTicks(runOpts.serverPid) - server0;
      const machine1 = machineTicks();
      const workersCpu = replies.map((r) => ({ ms: r.cpuMs, loopDelayP99Ms: r.loopDelayP99Ms }));
      const genMs = workersCpu.reduce((n, w) => n + w.ms, 0);
      const pct = (ms: number) => +((ms * 100) / wallMs).toFixed(1);
      const busiest = Math.max(...workersCpu.map((w) => w.ms));
      const machineBusy = (machine1.busy - machine0.busy) / (machine1.total - machine0.total);
      return {
        replies: replies.map((r) => r.value as T),
        cpu: {
          wallMs: Math.round(wallMs),
          generator: {
            ms: Math.round(genMs),
            pctOfCore: pct(genMs),
            busiestPctOfCore: pct(busiest),
            busiestLoopDelayP99Ms: Math.max(...workersCpu.map((w) => w.loopDelayP99Ms)),
            workers: workersCpu,
          },
          server: Number.isNaN(serverTicks) ? null : { ms: serverTicks * 10, pctOfCore: pct(serverTicks * 10) },
          machineBusyPct: Number.isFinite(machineBusy) ? Math.round(machineBusy * 100) : null,
        },
      };
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The samples of every reply, end to end (e.g. each worker's latencies). */
export function concatSamples(xs: ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(xs.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of xs) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

/** Counters (or Problems.counts) of every reply, added up by key. */
export function sumCounts(xs: Array<Record<string, number> | undefined>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) for (const [k, v] of Object.entries(x ?? {})) out[k] = (out[k] ?? 0) + v;
  return out;
}
