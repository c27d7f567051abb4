import path from "node:path";
import { type Loadgen, sharedNow, startLoadgen, sumCounts } from "./lib/loadgen";
import { printResult, ratio, sleep } from "./lib/measure";
import { type Memory, openFilesLimit, probeEnv, readMemory } from "./lib/memory";
import { benchRedisUrl, startOurs } from "./lib/ours";
import { processTree } from "./lib/proc";
import { post, serverLogProblems, type Spawned, spawnServer, stop } from "./lib/servers";
import type { SummaryRow } from "./lib/rows";

/**
 * P5, idle clients: BENCH_IDLE_CLIENTS (10,000) guests, each signed in (an
 * access token), held by ONE server process, spread round-robin over the
 * lobby and BENCH_IDLE_STREAMS (20) `stream` rooms (one live stream each).
 * Memory is read inside the server after a full GC (bench/lib/heap-probe.cjs):
 * the process's own baseline once the guests and streams exist and before any
 * client joins, then with every client joined and settled; per client = the
 * difference / clients joined, for RSS and for the V8 heap. Server CPU while
 * they idle (BENCH_IDLE_HOLD_SECONDS, 5) is reported too.
 * Baseline, same run, same clients: bench/baseline/bare-broadcast.ts
 * (Colyseus's LobbyRoom as `bare_lobby`, and `bare_stream` rooms that tell
 * everyone of each join like ours) holding the same number of clients over
 * the same number of rooms. The servers run one after the other. Ours runs in
 * BENCH_IDLE_MODES (embedded; "postgres" for PostgreSQL + Redis on Redis DB 11).
 * Targets: ≥ 10,000 clients, ≤ 8 KB each over the process's baseline.
 */
const CLIENTS = Number(process.env.BENCH_IDLE_CLIENTS ?? 10_000);
const STREAMS = Number(process.env.BENCH_IDLE_STREAMS ?? 20);
const HOLD_SECONDS = Number(process.env.BENCH_IDLE_HOLD_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_IDLE_JOIN_CONCURRENCY ?? 32);
const MODES = (process.env.BENCH_IDLE_MODES ?? "embedded").split(",").filter(Boolean);
const REDIS_URL = benchRedisUrl(11);
const TARGETS = { clients: 10_000, kbPerClient: 8 };

interface RoomTarget {
  roomName: string;
  options?: Record<string, unknown>;
  method?: "join" | "joinOrCreate";
}

const kb = (bytes: number, clients: number) => (clients ? +(bytes / clients / 1024).toFixed(2) : null);

/** Joins every client to `targets` round-robin, holds them, and reads the server's memory before and after. */
async function hold(gen: Loadgen, server: Spawned, targets: RoomTarget[], tokens?: string) {
  const pid = server.child.pid!;
  await sleep(1000);
  const before: Memory = await readMemory(pid);
  const join = await gen.run<{ joined: number; firstStart: number; lastEnd: number; problems: Record<string, number> }>(
    "join",
    {
      tokens,
      endpoint: server.baseUrl,
      targets,
      total: CLIENTS,
      concurrency: Math.max(1, Math.ceil(CONCURRENCY / gen.procs)),
      startAt: sharedNow() + 200,
    },
    { serverPid: pid, timeoutMs: 1_800_000 },
  );
  const joined = join.replies.reduce((n, r) => n + r.joined, 0);
  await sleep(3000); // the last joins' broadcasts and lobby updates settle
  const idle = await gen.run<number>("hold", { ms: HOLD_SECONDS * 1000 }, { serverPid: pid });
  const after: Memory = await readMemory(pid);
  const { replies } = await gen.run<{ received: Record<string, number>; problems: Record<string, number> }>("received");
  await gen.run("leave", undefined, { timeoutMs: 600_000 });
  await sleep(1000);
  return {
    joined,
    failed: CLIENTS - joined,
    stillOpenAfterHold: idle.replies.reduce((n, x) => n + x, 0),
    joinSeconds: +(
      (Math.max(...join.replies.map((r) => r.lastEnd)) - Math.min(...join.replies.map((r) => r.firstStart))) /
      1000
    ).toFixed(2),
    memoryBefore: before,
    memoryHeld: after,
    rssKbPerClient: kb(after.rss - before.rss, joined),
    heapKbPerClient: kb(after.heapUsed - before.heapUsed, joined),
    externalKbPerClient: kb(after.external - before.external, joined),
    idleServerCpuPct: idle.cpu.server?.pctOfCore ?? null,
    joinCpu: join.cpu,
    serverCpuMsPerJoin: join.cpu.server && joined ? +(join.cpu.server.ms / joined).toFixed(3) : null,
    received: sumCounts(replies.map((r) => r.received)),
    problems: sumCounts([...join.replies.map((r) => r.problems), ...replies.map((r) => r.problems)]),
  };
}

export async function benchIdle(): Promise<Record<string, unknown>> {
  const limit = openFilesLimit();
  if (limit < CLIENTS + 1000)
    throw new Error(`open-files limit ${limit} is too low for ${CLIENTS} clients: raise it (ulimit -n) and rerun`);
  let gen: Loadgen | undefined;
  try {
    gen = await startLoadgen({ worker: path.join(__dirname, "workers/rooms.ts") });
    const ours: Record<string, unknown> = {};
    const held: Record<string, Awaited<ReturnType<typeof hold>>> = {};
    for (const mode of MODES) {
      const o = await startOurs(mode, "idle", REDIS_URL, probeEnv());
      try {
        const streamIds: string[] = [];
        for (let k = 0; k < STREAMS; k++) {
          const owner = await post(o.baseUrl, "/api/auth/guest", { deviceId: `bench-idle-${o.runId}-owner-${k}` });
          streamIds.push((await post(o.baseUrl, "/api/streams", { title: `Idle ${k}` }, owner.accessToken)).id);
        }
        await gen.run(
          "guests",
          { key: mode, endpoint: o.baseUrl, prefix: `bench-idle-${o.runId}`, total: CLIENTS, concurrency: 8 },
          { timeoutMs: 1_800_000 },
        );
        const targets: RoomTarget[] = [
          { roomName: "lobby" },
          ...streamIds.map((streamId) => ({ roomName: "stream", options: { streamId } })),
        ];
        held[mode] = await hold(gen, o.server, targets, mode);
        ours[mode] = {
          ...o.info,
          ...held[mode],
          serverOpenFilesLimit: openFilesLimit(processTree(o.pid)[0]),
          serverLog: serverLogProblems(o.server.output()),
        };
      } finally {
        await o.cleanup();
      }
    }
    const bareServer = await spawnServer("bench/baseline/bare-broadcast.ts", probeEnv(), "/__healthcheck");
    let bare: Awaited<ReturnType<typeof hold>>;
    try {
      bare = await hold(gen, bareServer, [
        { roomName: "bare_lobby" },
        ...Array.from({ length: STREAMS }, (_, k) => ({ roomName: "bare_stream", options: { streamId: `s${k}` } })),
      ]);
    } finally {
      await stop(bareServer.child);
    }
    const rows: SummaryRow[] = MODES.flatMap((mode): SummaryRow[] => [
      {
        id: "P5",
        measure: `idle signed-in clients held by one process, lobby + ${STREAMS} stream rooms (${mode})`,
        unit: "clients",
        ours: held[mode].joined,
        baseline: bare.joined,
        ratio: ratio(held[mode].joined, bare.joined),
        target: `≥ ${TARGETS.clients.toLocaleString("en")}`,
        check: { on: "ours", min: TARGETS.clients },
      },
      {
        id: "P5",
        measure: `memory per idle client over the process baseline, RSS after GC (${mode})`,
        unit: "KB",
        ours: held[mode].rssKbPerClient,
        baseline: bare.rssKbPerClient,
        ratio: ratio(held[mode].rssKbPerClient, bare.rssKbPerClient),
        target: `≤ ${TARGETS.kbPerClient} KB`,
        check: { on: "ours", max: TARGETS.kbPerClient },
        serverCpu: { ours: held[mode].serverCpuMsPerJoin, baseline: bare.serverCpuMsPerJoin, unit: "ms/join" },
        generatorCpu: {
          pctOfCore: held[mode].joinCpu.generator.pctOfCore,
          busiestPctOfCore: held[mode].joinCpu.generator.busiestPctOfCore,
        },
      },
      {
        id: "P5",
        measure: `V8 heap per idle client over the process baseline (${mode})`,
        unit: "KB",
        ours: held[mode].heapKbPerClient,
        baseline: bare.heapKbPerClient,
        ratio: ratio(held[mode].heapKbPerClient, bare.heapKbPerClient),
        target: "",
      },
    ]);
    return {
      name: "idle",
      clients: CLIENTS,
      streams: STREAMS,
      generatorProcs: gen.procs,
      benchOpenFilesLimit: limit,
      rows,
      ours,
      bare,
    };
  } finally {
    await gen?.close();
  }
}

if (require.main === module) printResult(benchIdle);
