import "reflect-metadata";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Client, type Room } from "@colyseus/sdk";
import { Redis } from "ioredis";
import pg from "pg";
import { openDatabase } from "../src/db/data-source";
import { WalletService } from "../src/services/wallet";
import { createScratchDatabase } from "../test/helpers/database";
import { freePort } from "../test/helpers/process";
import { pool, printResult, Problems, ratio, sleep, summary } from "./lib/measure";
import { cpuTicks, machineTicks } from "./lib/proc";
import { POSTGRES_URL, serverLogProblems, type Spawned, spawnServer, stop } from "./lib/servers";

/**
 * Video chat under load, against one server process on PostgreSQL + Redis.
 *
 * Matchmaking: BENCH_USERS (1,000) signed-in, funded users join `match_queue`
 * at BENCH_MATCH_RATE joins/s (open loop: a slow answer never delays the next
 * join), spread in random order over 8 buckets (4 regions × 2 languages, an
 * even count in each so that everyone can be paired). Two latencies:
 * - joinToMatched: t(matched) − t(join request), per user. Includes the wait
 *   for a partner to arrive at all (~40 ms on average at 25 joins/s per
 *   bucket), so it depends on the arrival rate as much as on the server.
 * - pairCompleteToMatched: t(matched) of each user − t(join request) of the
 *   later-arriving user of the pair: the moment the pair could exist → both
 *   told. This is the server's own pairing latency (auth, admission checks,
 *   queue join, call row, call room, two seats), and the one the
 *   "match p95 ≤ 100 ms" target is about.
 *
 * Relay: every pair takes its seats, so that 500 calls are live; then for
 * BENCH_SECONDS each call's seat 0 sends `candidate` with its send time
 * (performance.now(), same process as the receiver) at BENCH_RELAY_RATE msgs/s
 * (staggered starts), well under the 30/s limit. Latency = receive − send.
 *
 * Baseline, same run, same client code: bench/baseline/bare-relay.ts, a bare
 * Colyseus queue that pairs on join and a room that forwards every message to
 * the other client (no auth, database, Redis, validation or rate limit). Ours
 * runs first, so the client side is no warmer for ours than for the baseline.
 */
/**
 * Colyseus's own Redis keys (the process list createRoom picks from, the room
 * caches) ignore REDIS_KEY_PREFIX: every server on one Redis database is one
 * cluster, and a room may be created on any of them (a test run's server, an
 * orphan). So the bench takes a database of its own unless REDIS_URL names one.
 */
const REDIS_URL = (() => {
  const url = new URL(process.env.REDIS_URL || "redis://127.0.0.1:6379");
  if (url.pathname.length <= 1) url.pathname = `/${process.env.BENCH_REDIS_DB ?? 15}`;
  return url.toString();
})();
const USERS = Number(process.env.BENCH_USERS ?? 1000);
const MATCH_RATE = Number(process.env.BENCH_MATCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RELAY_RATE = Number(process.env.BENCH_RELAY_RATE ?? 5);
const BUCKETS = ["eu", "na", "sa", "as"].flatMap((region) => ["en", "es"].map((language) => ({ region, language })));
const TARGETS = { matchP95Ms: 100, relayP99Ms: 5 };

type Bucket = (typeof BUCKETS)[number];

interface Matched {
  callId: string;
  seat: any;
}

interface User {
  client: Client;
  bucket: Bucket;
  t0?: number;
  t1?: number;
  matched?: Matched;
  queue?: Room;
  call?: Room;
}

interface Target {
  endpoint: string;
  queueRoom: string;
  tokens?: string[];
  /** The server's process id, for its CPU time. */
  pid?: number;
  metricsUrl?: string;
  /** Counters read before and after matchmaking; reported per join. */
  counters?: () => Promise<Record<string, number>>;
  /** Looked at once all calls are live (what the server holds then). */
  whileLive?: () => Promise<Record<string, unknown>>;
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** `n` bucket assignments in random order, an even number per bucket so nobody is left without a partner. */
function bucketOrder(n: number): Bucket[] {
  const pairs = Math.floor(n / 2);
  return shuffle(Array.from({ length: pairs }, (_, i) => BUCKETS[i % BUCKETS.length]).flatMap((b) => [b, b]));
}

function nextMessage<T = any>(room: Room, type: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
    const off = room.onMessage(type, (m: T) => {
      clearTimeout(timer);
      off?.();
      resolve(m);
    });
  });
}

/** An SDK failure as one short line: ServerError code, message, and the network cause behind "fetch failed". */
function describe(err: any): string {
  const cause = err?.cause?.code ?? err?.cause?.message;
  return [err?.code, err?.message || err?.name, cause && `(${cause})`]
    .filter((x) => x !== undefined && x !== "")
    .join(" ");
}

/** CPU ticks of every PostgreSQL and Redis process on the machine, by pid (shared with whoever else uses them). */
function serviceTicks(): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        if (!comm.startsWith("postgres") && !comm.startsWith("redis-server")) continue;
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        out.set(Number(entry), Number(fields[11]) + Number(fields[12]));
      } catch {
        // exited meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return out;
}

/**
 * CPU use over a window, in % of one core: the server (with its tsx parent),
 * this client process, PostgreSQL + Redis (approximate: backends that exit in
 * the window are missed; other users of them count), and the whole machine
 * (of 100 × cores). What the machine used beyond these is someone else's load.
 */
function cpuWindow(serverPid: number | undefined) {
  const start = {
    at: performance.now(),
    server: cpuTicks(serverPid),
    client: process.cpuUsage(),
    services: serviceTicks(),
    machine: machineTicks(),
  };
  return () => {
    const ms = performance.now() - start.at;
    const client = process.cpuUsage(start.client);
    const server = cpuTicks(serverPid) - start.server;
    let services = 0;
    for (const [pid, ticks] of serviceTicks()) services += ticks - (start.services.get(pid) ?? 0);
    const m = machineTicks();
    const pct = (x: number) => (Number.isNaN(x) ? null : Math.round(x));
    return {
      serverCpuPct: pct((server * 1000) / ms),
      clientCpuPct: pct((client.user + client.system) / 10 / ms),
      postgresRedisCpuPct: pct((services * 1000) / ms),
      machineCpuPct: pct(((m.busy - start.machine.busy) / (m.total - start.machine.total)) * 100 * os.cpus().length),
    };
  };
}

async function scrapeMetrics(url: string | undefined, prefix: string): Promise<Record<string, number>> {
  if (!url) return {};
  const text = await (await fetch(url)).text();
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (line.startsWith(prefix))
      out[line.slice(0, line.lastIndexOf(" "))] = Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return out;
}

/** The server's own match_latency_seconds (join request → `matched` sent): count, mean, share ≤ 100 ms, p95 bucket. */
function serverMatchHistogram(m: Record<string, number>) {
  const count = m["match_latency_seconds_count"];
  if (!count) return null;
  const buckets = Object.entries(m)
    .filter(([k]) => k.startsWith("match_latency_seconds_bucket"))
    .map(([k, v]) => ({ le: Number(/le="([^"]+)"/.exec(k)?.[1]), cumulative: v }))
    .sort((a, b) => a.le - b.le);
  const p95 = buckets.find((b) => b.cumulative >= 0.95 * count)?.le;
  return {
    count,
    meanMs: +((m["match_latency_seconds_sum"] / count) * 1000).toFixed(1),
    shareWithin100ms: +((buckets.find((b) => b.le === 0.1)?.cumulative ?? 0) / count).toFixed(3),
    p95AtMostMs: p95 === undefined ? null : p95 * 1000,
  };
}

/** Matchmaking, then calls, then relay, against one server; leaves every room at the end. */
async function scenario(target: Target) {
  const problems = new Problems();
  const users: User[] = bucketOrder(USERS).map((bucket, i) => {
    const client = new Client(target.endpoint);
    if (target.tokens) client.auth.token = target.tokens[i];
    return { client, bucket };
  });

  // ---- matchmaking: open-loop arrivals at MATCH_RATE ----
  let pending = users.length;
  let allSettled!: () => void;
  const settled = new Promise<void>((r) => (allSettled = r));
  const settle = () => --pending === 0 && allSettled();
  const join = async (u: User) => {
    u.t0 = performance.now();
    try {
      const room = await u.client.joinOrCreate<any>(target.queueRoom, u.bucket);
      u.queue = room;
      problems.watch(room, ["moderation:action"], "queue");
      room.onMessage("matched", (m: Matched) => {
        u.t1 = performance.now();
        u.matched = m;
        room.leave().catch(() => {});
        settle();
      });
    } catch (err) {
      problems.add(`queue join failed: ${describe(err)}`);
      settle();
    }
  };
  const countersBefore = (await target.counters?.()) ?? {};
  const matchCpu = cpuWindow(target.pid);
  const matchStart = performance.now();
  for (let i = 0; i < users.length; i++) {
    const wait = matchStart + (i * 1000) / MATCH_RATE - performance.now();
    if (wait > 1) await sleep(wait);
    void join(users[i]);
  }
  const arrivalsMs = performance.now() - matchStart;
  await Promise.race([settled, sleep(30_000)]);
  const matchMs = performance.now() - matchStart;
  const matchCpuUse = matchCpu();
  // An idle PostgreSQL backend publishes its statistics up to 10 s late (PGSTAT_IDLE_INTERVAL).
  const countersAfter = target.counters ? await sleep(11_000).then(target.counters) : {};
  const perJoin = Object.fromEntries(
    Object.entries(countersAfter).map(([k, v]) => [
      `${k}PerJoin`,
      +((v - countersBefore[k]) / users.length).toFixed(1),
    ]),
  );

  const byCall = new Map<string, User[]>();
  for (const u of users) if (u.matched) byCall.set(u.matched.callId, [...(byCall.get(u.matched.callId) ?? []), u]);
  const pairs = [...byCall.values()]
    .filter((p) => p.length === 2)
    .map((p) => p.sort((a, b) => a.t0! - b.t0!) as [User, User]);
  const matched = users.filter((u) => u.matched);
  const joinToMatched = matched.map((u) => u.t1! - u.t0!);
  const pairLatency = pairs.flatMap(([a, b]) => [a.t1! - b.t0!, b.t1! - b.t0!]);
  const serverMatch = await scrapeMetrics(target.metricsUrl, "match_latency_seconds");
  // Stragglers (a queue room still open after `matched`) would be closed by the server after 2 s anyway.
  for (const u of users) if (u.queue && !u.matched) await u.queue.leave().catch(() => {});

  // ---- calls: both users of every pair take their seats ----
  const callStart = performance.now();
  const live: Array<[User, User]> = [];
  await pool(pairs, 16, async (pair) => {
    try {
      await Promise.all(
        pair.map(async (u) => {
          const room = await u.client.consumeSeatReservation<any>(u.matched!.seat);
          u.call = room;
          const started = nextMessage(room, "session:start", 20_000);
          problems.watch(room, ["candidate", "peer-disconnected", "session:end", "match:non_mutual"], "call");
          await started;
        }),
      );
      live.push(pair);
    } catch (err) {
      problems.add(`call join failed: ${describe(err)}`);
    }
  });
  const callsMs = performance.now() - callStart;
  const heldWhileLive = (await target.whileLive?.()) ?? {};
  // What live calls cost the server while nobody speaks (room clocks, patches, timers).
  const idleCpu = cpuWindow(target.pid);
  await sleep(2000);
  const idleServerCpuPct = idleCpu().serverCpuPct;

  // ---- relay: seat 0 → seat 1, RELAY_RATE msgs/s per call, for SECONDS ----
  const latencies: number[] = [];
  let sent = 0;
  for (const [, receiver] of live) {
    receiver.call!.onMessage("candidate", (m: { candidate: string }) => {
      latencies.push(performance.now() - Number(m.candidate));
    });
  }
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const period = 1000 / RELAY_RATE;
  const relayCpu = cpuWindow(target.pid);
  const relayStart = performance.now();
  const end = relayStart + SECONDS * 1000;
  loop.enable();
  await Promise.all(
    live.map(
      ([sender]) =>
        new Promise<void>((resolve) => {
          setTimeout(() => {
            const tick = () => {
              if (performance.now() >= end) {
                clearInterval(timer);
                return resolve();
              }
              sender.call!.send("candidate", { candidate: String(performance.now()) });
              sent++;
            };
            const timer = setInterval(tick, period);
            tick();
          }, Math.random() * period);
        }),
    ),
  );
  const relayMs = performance.now() - relayStart;
  const relayCpuUse = relayCpu();
  loop.disable();
  await sleep(1000); // the last messages in flight
  const received = latencies.length;
  const serverRelay = await scrapeMetrics(target.metricsUrl, "call_signals_relayed_total");

  // ---- leave everything ----
  await pool(users, 64, async (u) => {
    if (u.call?.connection.isOpen) await Promise.race([u.call.leave().catch(() => {}), sleep(5000)]);
  });

  return {
    matchmaking: {
      arrivalsPerSec: Math.round((users.length * 1000) / arrivalsMs),
      matched: matched.length,
      unmatched: users.length - matched.length,
      pairs: pairs.length,
      secondsToMatchAll: +(matchMs / 1000).toFixed(2),
      ...matchCpuUse,
      // Server CPU time per join, pairing included: less sensitive to other load on the machine than latency.
      serverCpuMsPerJoin:
        matchCpuUse.serverCpuPct === null
          ? null
          : +((matchCpuUse.serverCpuPct * matchMs) / 100 / users.length).toFixed(2),
      joinToMatchedMs: summary(joinToMatched),
      pairCompleteToMatchedMs: summary(pairLatency),
      ...perJoin,
      ...(target.metricsUrl ? { serverHistogram: serverMatchHistogram(serverMatch) } : {}),
    },
    calls: {
      live: live.length,
      secondsToJoinAll: +(callsMs / 1000).toFixed(2),
      idleServerCpuPct,
      ...heldWhileLive,
    },
    relay: {
      sent,
      received,
      lost: sent - received,
      msgsPerSec: Math.round((received * 1000) / relayMs),
      latencyMs: summary(latencies),
      clientLoopDelayP99Ms: +(loop.percentile(99) / 1e6).toFixed(2),
      ...relayCpuUse,
      ...(target.metricsUrl ? { serverRelayed: serverRelay } : {}),
    },
    clientProblems: problems.counts,
  };
}

/**
 * The RedisDriver's room list: one hash that every matchmaking lookup
 * (each queue join) reads whole with HGETALL, so its size per join grows
 * with the number of live calls.
 */
async function redisRoomCaches() {
  const redis = new Redis(REDIS_URL);
  try {
    const entries = await redis.hlen("roomcaches");
    const bytes = Number(await redis.call("MEMORY", "USAGE", "roomcaches"));
    return { redisRoomCaches: { entries, kB: Math.round(bytes / 1024) } };
  } finally {
    await redis.quit();
  }
}

/**
 * Round trips behind a join: PostgreSQL transactions on the scratch database
 * (each autocommitted statement is one; only our server uses it), and Redis
 * commands (server-wide: anyone else using this Redis counts too).
 */
async function dbAndRedisCounters(url: string) {
  const db = new pg.Client({ connectionString: url });
  const redis = new Redis(REDIS_URL);
  try {
    await db.connect();
    const { rows } = await db.query(
      `SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()`,
    );
    const info = await redis.info("stats");
    return {
      postgresTransactions: Number(rows[0].n),
      redisCommandsApprox: Number(/total_commands_processed:(\d+)/.exec(info)?.[1]),
    };
  } finally {
    await db.end();
    await redis.quit();
  }
}

async function createUsers(baseUrl: string, runId: string) {
  const users: Array<{ id: string; accessToken: string }> = new Array(USERS);
  await pool(users, 32, async (_, i) => {
    const res = await fetch(`${baseUrl}/api/auth/guest`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ deviceId: `bench-${runId}-${i}` }),
    });
    if (res.status !== 200) throw new Error(`guest sign-in failed: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { user: { id: string }; accessToken: string };
    users[i] = { id: body.user.id, accessToken: body.accessToken };
  });
  return users;
}

export async function benchVideoChat() {
  const runId = randomBytes(4).toString("hex");
  // The machine is shared: a high 1-minute load average says the figures are noisy.
  const loadBefore = +os.loadavg()[0].toFixed(2);
  const scratch = await createScratchDatabase(POSTGRES_URL);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-bench-video-"));
  let server: Spawned | undefined;
  try {
    // Colyseus processes already registered on this Redis database would share our rooms (see REDIS_URL).
    const redis = new Redis(REDIS_URL);
    const otherProcesses = await redis.hlen("roomcount").finally(() => redis.quit());
    const port = await freePort();
    server = await spawnServer(
      "src/main.ts",
      {
        DATABASE_URL: scratch.url,
        REDIS_URL,
        REDIS_KEY_PREFIX: `bench-video-${runId}:`,
        PORT: String(port),
        PUBLIC_ADDRESS: `127.0.0.1:${port}`,
        RATE_LIMIT_MAX: "1000000",
        AUTH_RATE_LIMIT_MAX: "1000000",
        LOG_LEVEL: "warn",
        CALL_DURATION_SEC: "600",
        // Seats are taken only once everyone is matched (~5 s later); the 15 s default is too close.
        CALL_JOIN_TIMEOUT_SEC: "120",
        MATCH_REPEAT_COOLDOWN_SEC: "1",
        DATA_DIR: dataDir,
      },
      "/health/ready",
    );

    const setupStart = performance.now();
    const accounts = await createUsers(server.baseUrl, runId);
    const ds = await openDatabase({ url: scratch.url, embeddedDir: "" });
    try {
      const wallet = new WalletService(ds);
      for (let i = 0; i < accounts.length; i += 100) {
        await wallet.apply(
          accounts.slice(i, i + 100).map((a) => ({
            userId: a.id,
            delta: 10,
            reason: "adjustment",
            idempotencyKey: `bench-video:${runId}:${a.id}`,
          })),
        );
      }
    } finally {
      await ds.destroy();
    }
    const setupSec = +((performance.now() - setupStart) / 1000).toFixed(2);

    const ours = await scenario({
      endpoint: server.baseUrl,
      queueRoom: "match_queue",
      tokens: accounts.map((a) => a.accessToken),
      pid: server.child.pid,
      metricsUrl: `${server.baseUrl}/metrics`,
      whileLive: () => redisRoomCaches(),
      counters: () => dbAndRedisCounters(scratch.url),
    });
    const serverLog = serverLogProblems(server.output());
    await stop(server.child);
    const exitCode = server.child.exitCode ?? server.child.signalCode;

    const bareServer = await spawnServer("bench/baseline/bare-relay.ts", {}, "/__healthcheck");
    let bare: Awaited<ReturnType<typeof scenario>>;
    try {
      bare = await scenario({
        endpoint: bareServer.baseUrl,
        queueRoom: "bare_queue",
        pid: bareServer.child.pid,
      });
    } finally {
      await stop(bareServer.child);
    }

    const matchP95 = (ours.matchmaking.pairCompleteToMatchedMs as { p95?: number }).p95;
    const relayP99 = (ours.relay.latencyMs as { p99?: number }).p99;
    const bareMatchP95 = (bare.matchmaking.pairCompleteToMatchedMs as { p95?: number }).p95;
    const bareRelayP99 = (bare.relay.latencyMs as { p99?: number }).p99;
    return {
      name: "videochat",
      database: "postgresql",
      presence: "redis",
      redisUrl: REDIS_URL,
      otherColyseusProcessesOnRedisDb: otherProcesses,
      users: USERS,
      buckets: BUCKETS.length,
      matchRatePerSec: MATCH_RATE,
      relayMsgsPerSecPerCall: RELAY_RATE,
      seconds: SECONDS,
      setupSec,
      loadAverage1m: { before: loadBefore, after: +os.loadavg()[0].toFixed(2) },
      ours,
      bare,
      vsBare: {
        matchP95: ratio(matchP95, bareMatchP95),
        joinToMatchedP95: ratio(
          (ours.matchmaking.joinToMatchedMs as { p95?: number }).p95,
          (bare.matchmaking.joinToMatchedMs as { p95?: number }).p95,
        ),
        relayP99: ratio(relayP99, bareRelayP99),
        relayThroughput: ratio(ours.relay.msgsPerSec, bare.relay.msgsPerSec),
        matchServerCpuPerJoin: ratio(ours.matchmaking.serverCpuMsPerJoin, bare.matchmaking.serverCpuMsPerJoin),
        relayServerCpu: ratio(ours.relay.serverCpuPct, bare.relay.serverCpuPct),
      },
      targets: {
        matchPairCompleteP95Ms: {
          target: TARGETS.matchP95Ms,
          actual: matchP95 ?? null,
          met: matchP95 !== undefined && matchP95 <= TARGETS.matchP95Ms && ours.matchmaking.unmatched === 0,
        },
        relayP99Ms: {
          target: TARGETS.relayP99Ms,
          actual: relayP99 ?? null,
          met: relayP99 !== undefined && relayP99 <= TARGETS.relayP99Ms && ours.relay.lost === 0,
        },
      },
      serverLog: { ...serverLog, exitCode },
      bareServerLog: serverLogProblems(bareServer.output()),
    };
  } finally {
    if (server) await stop(server.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
    await scratch.drop();
  }
}

if (require.main === module) printResult(benchVideoChat);
