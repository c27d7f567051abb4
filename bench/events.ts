import "reflect-metadata";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DataSource } from "typeorm";
import { openDatabase } from "../src/db/data-source";
import { AnalyticsService } from "../src/services/analytics";
import { registerAnalyticsConsumer } from "../src/services/analytics-consumer";
import { Ga4Provider } from "../src/services/analytics-providers/ga4";
import { MixpanelProvider } from "../src/services/analytics-providers/mixpanel";
import { PlausibleProvider } from "../src/services/analytics-providers/plausible";
import { PostHogProvider } from "../src/services/analytics-providers/posthog";
import { DomainLog } from "../src/services/domain-log";
import { fakeAnalyticsEnv } from "../test/helpers/fake-analytics";
import { createScratchDatabase } from "../test/helpers/database";
import { pool, printResult, ratio, sleep } from "./lib/measure";
import { cpuTicks, machineTicks } from "./lib/proc";
import { POSTGRES_URL, ROOT, serverLogProblems, spawnServer, stop, TSX_CLI } from "./lib/servers";

/**
 * Domain events through the outbox, end to end: BENCH_EVENTS (3,000) `login` events of
 * BENCH_EVENTS_USERS (100) users are recorded, each in a transaction of its own, by 16
 * concurrent workers; the clock stops when every analytics provider has received every event
 * (PostHog `/batch/`, Mixpanel `/import`, GA4 `/mp/collect`, all four configured; Plausible
 * takes only events that carry a client address and agent, which server-side domain events do
 * not, so it is expected to receive none). The providers are local fakes in a process of their
 * own (bench/lib/fake-analytics-server.ts). Also timed: recording alone (while dispatch runs)
 * and dispatch (every delivery done: the analytics outbox rows written).
 *
 * Baseline, same run, same recorder: writing the same rows (event + one delivery each) with
 * nothing dispatching.
 *
 * Modes (BENCH_EVENTS_MODES): "postgres": a scratch database on the shared PostgreSQL, the
 * recorder is this process, the dispatcher and the senders one spawned `src/main.ts` (its CPU
 * and this process's reported apart; PostgreSQL's own is in the machine's busy share).
 * "embedded": PGlite in this process, recording, dispatching and sending on one thread as the
 * embedded server does (one CPU figure).
 */
const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
const USERS = Number(process.env.BENCH_EVENTS_USERS ?? 100);
const WORKERS = 16;
const MODES = (process.env.BENCH_EVENTS_MODES ?? "postgres,embedded").split(",").filter(Boolean);
/** Ports of the spawned server and of the fake providers (and their control port). */
const PORTS = { server: 47330, providers: 47331, control: 47332 };
const RECEIVING = ["posthog", "mixpanel", "ga4"] as const;
const TIMEOUT_MS = 300_000;

type Received = Record<string, { events: number; distinct: number }>;

/** Writes EVENTS events with WORKERS concurrent transactions through `log`; resolves with the seconds taken. */
async function recordAll(ds: DataSource, log: DomainLog, users: string[]) {
  const started = performance.now();
  await pool(
    Array.from({ length: EVENTS }, (_, i) => users[i % users.length]),
    WORKERS,
    async (userId) => void (await ds.transaction((m) => log.record(m, "login", { userId }, { userId }))),
  );
  return (performance.now() - started) / 1000;
}

/** This process's CPU seconds since `from` (process.cpuUsage). */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
};
const perEventUs = (cpuSec: number) => Math.round((cpuSec * 1e6) / EVENTS);
const busyShare = (from: { busy: number; total: number }) => {
  const to = machineTicks();
  return +((to.busy - from.busy) / (to.total - from.total)).toFixed(2);
};

async function startProviders() {
  const child = spawn(
    process.execPath,
    [TSX_CLI, "bench/lib/fake-analytics-server.ts", String(PORTS.providers), String(PORTS.control)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.once("data", (d) => resolve(JSON.parse(String(d)).url));
    child.once("exit", (code) => reject(new Error(`fake providers exited ${code}`)));
  });
  const received = async (reset = false): Promise<Received> =>
    // A fresh connection each time: a pooled one the server closed while idle fails the request.
    (
      await fetch(`http://127.0.0.1:${PORTS.control}/${reset ? "reset" : "received"}`, {
        headers: { connection: "close" },
      })
    ).json();
  return { child, url, received };
}

/** The baseline: the same rows written with no dispatcher; removed afterwards. */
async function baseline(ds: DataSource, users: string[]) {
  const recorder = new DomainLog(ds);
  recorder.register("analytics", async () => {
    throw new Error("the baseline dispatches nothing");
  });
  const cpu = process.cpuUsage();
  const machine = machineTicks();
  const seconds = await recordAll(ds, recorder, users);
  const out = {
    seconds: +seconds.toFixed(2),
    eventsPerSec: Math.round(EVENTS / seconds),
    recorderCpuPerEventUs: perEventUs(cpuSince(cpu)),
    machineBusy: busyShare(machine),
  };
  await ds.query(`DELETE FROM domain_events`);
  return out;
}

/**
 * Records with `record`, then waits until no delivery is left and every provider has all the
 * events; resolves with the timings (seconds from the first record).
 */
async function endToEnd(
  ds: DataSource,
  received: () => Promise<Received>,
  record: () => Promise<number>,
  cpu: () => Record<string, number>,
) {
  const machine = machineTicks();
  const started = performance.now();
  const at = () => +((performance.now() - started) / 1000).toFixed(2);
  const recordSeconds = await record();
  const done: Record<string, number> = {};
  const deadline = Date.now() + TIMEOUT_MS;
  while (!("dispatch" in done && RECEIVING.every((p) => p in done))) {
    if (Date.now() > deadline) throw new Error(`not done within ${TIMEOUT_MS} ms: ${JSON.stringify(done)}`);
    if (!("dispatch" in done)) {
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM domain_event_deliveries`);
      if (n === 0) done.dispatch = at();
    }
    const got = await received();
    for (const p of RECEIVING) if (!(p in done) && got[p].distinct >= EVENTS) done[p] = at();
    await sleep(50);
  }
  const seconds = Math.max(...RECEIVING.map((p) => done[p]));
  const cpuSec = cpu();
  const got = await received();
  return {
    recordSeconds: +recordSeconds.toFixed(2),
    recordEventsPerSec: Math.round(EVENTS / recordSeconds),
    dispatchedSeconds: done.dispatch,
    dispatchedEventsPerSec: Math.round(EVENTS / done.dispatch),
    providerSeconds: Object.fromEntries(RECEIVING.map((p) => [p, done[p]])),
    seconds,
    eventsPerSec: Math.round(EVENTS / seconds),
    received: got,
    cpuPerEventUs: Object.fromEntries(Object.entries(cpuSec).map(([k, v]) => [k, perEventUs(v)])),
    cpuCores: Object.fromEntries(Object.entries(cpuSec).map(([k, v]) => [k, +(v / seconds).toFixed(2)])),
    machineBusy: busyShare(machine),
  };
}

async function postgresMode(providers: Awaited<ReturnType<typeof startProviders>>, users: string[]) {
  const scratch = await createScratchDatabase(POSTGRES_URL);
  const ds = await openDatabase({ url: scratch.url, embeddedDir: "" });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-bench-events-"));
  let server: { child: ChildProcess; output: () => string } | undefined;
  try {
    const base = await baseline(ds, users);
    server = await spawnServer(
      "src/main.ts",
      {
        ...fakeAnalyticsEnv(providers.url),
        DATABASE_URL: scratch.url,
        REDIS_URL: "",
        DATA_DIR: dataDir,
        LOG_LEVEL: "warn",
        PORT: String(PORTS.server),
      },
      "/health/ready",
    );
    await providers.received(true);
    const recorder = new DomainLog(ds);
    recorder.register("analytics", async () => {
      throw new Error("the recorder dispatches nothing");
    });
    const pid = server.child.pid;
    const serverTicks = cpuTicks(pid);
    const providerTicks = cpuTicks(providers.child.pid);
    const cpu = process.cpuUsage();
    const ours = await endToEnd(
      ds,
      () => providers.received(),
      () => recordAll(ds, recorder, users),
      () => ({
        recorder: cpuSince(cpu),
        server: (cpuTicks(pid) - serverTicks) / 100,
        fakeProviders: (cpuTicks(providers.child.pid) - providerTicks) / 100,
      }),
    );
    return {
      baseline: base,
      ours: { ...ours, vsBaseline: ratio(ours.eventsPerSec, base.eventsPerSec) },
      serverLog: serverLogProblems(server.output()),
    };
  } finally {
    if (server) await stop(server.child);
    await ds.destroy();
    await scratch.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function embeddedMode(providers: Awaited<ReturnType<typeof startProviders>>, users: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-bench-events-"));
  const ds = await openDatabase({ embeddedDir: path.join(dir, "db") });
  const env = fakeAnalyticsEnv(providers.url);
  const analytics = new AnalyticsService(
    ds,
    [
      new PostHogProvider(env.POSTHOG_API_KEY, env.POSTHOG_HOST),
      new MixpanelProvider(env.MIXPANEL_TOKEN, env.MIXPANEL_API_URL),
      new PlausibleProvider(env.PLAUSIBLE_DOMAIN, env.PLAUSIBLE_API_URL),
      new Ga4Provider(env.GA4_MEASUREMENT_ID, env.GA4_API_SECRET, env.GA4_API_URL),
    ],
    { idSecret: env.ANALYTICS_ID_SECRET, maxRows: 100_000, retryBaseMs: 1_000 },
  );
  // As in the embedded server: one log records (its commits nudge the dispatcher) and dispatches.
  const log = new DomainLog(ds);
  registerAnalyticsConsumer(log, analytics);
  try {
    const base = await baseline(ds, users);
    await providers.received(true);
    analytics.start();
    log.start();
    const providerTicks = cpuTicks(providers.child.pid);
    const cpu = process.cpuUsage();
    const ours = await endToEnd(
      ds,
      () => providers.received(),
      () => recordAll(ds, log, users),
      () => ({
        process: cpuSince(cpu),
        fakeProviders: (cpuTicks(providers.child.pid) - providerTicks) / 100,
      }),
    );
    return { baseline: base, ours: { ...ours, vsBaseline: ratio(ours.eventsPerSec, base.eventsPerSec) } };
  } finally {
    await log.stop();
    await analytics.stop();
    await ds.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchEvents() {
  const providers = await startProviders();
  const users = Array.from({ length: USERS }, () => randomUUID());
  const loadBefore = os.loadavg()[0];
  try {
    const modes: Record<string, unknown> = {};
    for (const mode of MODES) {
      modes[mode] = mode === "postgres" ? await postgresMode(providers, users) : await embeddedMode(providers, users);
    }
    return {
      name: "events",
      events: EVENTS,
      users: USERS,
      recorderWorkers: WORKERS,
      providers: "posthog, mixpanel, ga4 receive every event; plausible none (server-side events carry no client)",
      loadAverage1mBefore: +loadBefore.toFixed(2),
      ...modes,
    };
  } finally {
    await stop(providers.child);
  }
}

if (require.main === module) printResult(benchEvents);
