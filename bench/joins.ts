import path from "node:path";
import { concatSamples, type Loadgen, type PhaseCpu, sharedNow, startLoadgen, sumCounts } from "./lib/loadgen";
import { printResult, ratio, sleep, summary } from "./lib/measure";
import { benchRedisUrl, type Ours, startOurs } from "./lib/ours";
import { post, serverLogProblems, type Spawned, spawnServer, stop } from "./lib/servers";
import type { SummaryRow } from "./lib/rows";

/**
 * P8, joins: BENCH_JOIN_CLIENTS (2,000) guests join ONE `stream` room,
 * BENCH_JOIN_CONCURRENCY (16) joins in flight in all (spread over the load
 * generator's workers), all workers starting at one instant. The figure is the
 * time from the first join request to the last join answered (shared clock
 * over all workers). Every join is told to everyone already in the room
 * (`userJoined`): one message per join costs the square of the audience, so
 * ours announces joins in batches.
 * Baselines, same run, same clients (bench/baseline/bare-broadcast.ts): the
 * target's, `bare_stream_quiet`, a bare Colyseus room that tells nobody (the
 * floor cost of a join), and `bare_stream`, one that tells everyone of each
 * join one message at a time (the naive way, quadratic). Ours runs in each of
 * BENCH_JOIN_MODES (embedded; "postgres" adds PostgreSQL + Redis on Redis
 * database 12 unless REDIS_URL names one); BENCH_JOIN_ROUNDS (2) rounds per
 * server, in rotating order, everyone leaving between rounds.
 * Target: ≤ 1.5× the bare room's time.
 */
const CLIENTS = Number(process.env.BENCH_JOIN_CLIENTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_JOIN_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_JOIN_ROUNDS ?? 2);
const MODES = (process.env.BENCH_JOIN_MODES ?? "embedded").split(",").filter(Boolean);
const REDIS_URL = benchRedisUrl(12);
const TARGET_RATIO = 1.5;

interface Target {
  name: string;
  server: Spawned;
  roomName: string;
  streamId: string;
  tokens?: string;
}

interface JoinReply {
  latencies: Float64Array;
  joined: number;
  firstStart: number;
  lastEnd: number;
  problems: Record<string, number>;
}

async function round(gen: Loadgen, target: Target) {
  const perWorker = Math.max(1, Math.ceil(CONCURRENCY / gen.procs));
  const { replies, cpu } = await gen.run<JoinReply>(
    "join",
    {
      tokens: target.tokens,
      endpoint: target.server.baseUrl,
      targets: [{ roomName: target.roomName, options: { streamId: target.streamId } }],
      total: CLIENTS,
      concurrency: perWorker,
      startAt: sharedNow() + 300,
    },
    { serverPid: target.server.child.pid },
  );
  const joined = replies.reduce((n, r) => n + r.joined, 0);
  const seconds = (Math.max(...replies.map((r) => r.lastEnd)) - Math.min(...replies.map((r) => r.firstStart))) / 1000;
  await sleep(1000); // the last userJoined broadcasts arrive
  const { replies: after } = await gen.run<{ received: Record<string, number>; problems: Record<string, number> }>(
    "received",
  );
  const received = sumCounts(after.map((r) => r.received));
  await gen.run("leave");
  await sleep(1000);
  return {
    joined,
    failed: CLIENTS - joined,
    seconds: +seconds.toFixed(2),
    joinMs: summary(concatSamples(replies.map((r) => r.latencies))),
    userJoinedReceived: received.userJoined ?? 0,
    userJoinedExpected: (joined * (joined - 1)) / 2,
    cpu,
    serverCpuMsPerJoin: cpu.server && joined ? +(cpu.server.ms / joined).toFixed(3) : null,
    problems: sumCounts(after.map((r) => r.problems)),
  };
}

type Round = Awaited<ReturnType<typeof round>>;

function pooled(rounds: Round[]) {
  const secs = rounds.map((r) => r.seconds).sort((a, b) => a - b);
  const med = secs[Math.floor((secs.length - 1) / 2)];
  const cpus = rounds.map((r) => r.cpu);
  const avg = (f: (c: PhaseCpu) => number) => +(cpus.reduce((n, c) => n + f(c), 0) / cpus.length).toFixed(1);
  return {
    seconds: med,
    rounds: rounds.map(({ cpu, ...r }) => ({
      ...r,
      serverCpuPct: cpu.server?.pctOfCore ?? null,
      generatorCpuPct: cpu.generator.pctOfCore,
      generatorBusiestPct: cpu.generator.busiestPctOfCore,
      generatorLoopDelayP99Ms: cpu.generator.busiestLoopDelayP99Ms,
      machineBusyPct: cpu.machineBusyPct,
    })),
    serverCpuMsPerJoin: rounds.map((r) => r.serverCpuMsPerJoin ?? NaN).sort((a, b) => a - b)[
      Math.floor((rounds.length - 1) / 2)
    ],
    generatorCpuPct: avg((c) => c.generator.pctOfCore),
    generatorBusiestPct: avg((c) => c.generator.busiestPctOfCore),
  };
}

export async function benchJoins(): Promise<Record<string, unknown>> {
  const ours: Ours[] = [];
  let bare: Spawned | undefined;
  let gen: Loadgen | undefined;
  try {
    for (const mode of MODES) ours.push(await startOurs(mode, "joins", REDIS_URL));
    bare = await spawnServer("bench/baseline/bare-broadcast.ts", {}, "/__healthcheck");
    gen = await startLoadgen({ worker: path.join(__dirname, "workers/rooms.ts") });
    const targets: Target[] = [];
    for (const o of ours) {
      const owner = await post(o.baseUrl, "/api/auth/guest", { deviceId: `bench-joins-${o.runId}-owner` });
      const stream = await post(o.baseUrl, "/api/streams", { title: "Joins bench" }, owner.accessToken);
      await gen.run("guests", {
        key: o.mode,
        endpoint: o.baseUrl,
        prefix: `bench-joins-${o.runId}`,
        total: CLIENTS,
        concurrency: 8,
      });
      targets.push({
        name: `ours-${o.mode}`,
        server: o.server,
        roomName: "stream",
        streamId: stream.id,
        tokens: o.mode,
      });
    }
    targets.push({ name: "bare-broadcasting", server: bare, roomName: "bare_stream", streamId: "bare" });
    targets.push({ name: "bare", server: bare, roomName: "bare_stream_quiet", streamId: "bare-quiet" });
    const rounds = targets.map(() => [] as Round[]);
    for (let r = 0; r < ROUNDS; r++)
      for (let j = 0; j < targets.length; j++) {
        const i = (j + r) % targets.length;
        rounds[i].push(await round(gen, targets[i]));
      }
    const results = targets.map((t, i) => ({ name: t.name, ...pooled(rounds[i]) }));
    const bareResult = results[results.length - 1];
    const broadcastingResult = results[results.length - 2];
    const rows: SummaryRow[] = MODES.map((mode, i) => ({
      id: "P8",
      measure: `${CLIENTS.toLocaleString("en")} clients join one stream room (${mode}): first join → all joined`,
      unit: "s",
      ours: results[i].seconds,
      baseline: bareResult.seconds,
      ratio: ratio(results[i].seconds, bareResult.seconds),
      target: `≤ ${TARGET_RATIO}× bare`,
      check: { on: "ratio", max: TARGET_RATIO },
      serverCpu: { ours: results[i].serverCpuMsPerJoin, baseline: bareResult.serverCpuMsPerJoin, unit: "ms/join" },
      generatorCpu: { pctOfCore: results[i].generatorCpuPct, busiestPctOfCore: results[i].generatorBusiestPct },
    }));
    const serverLogs = Object.fromEntries(ours.map((o) => [o.mode, serverLogProblems(o.server.output())]));
    return {
      name: "joins",
      clients: CLIENTS,
      concurrency: CONCURRENCY,
      rounds: ROUNDS,
      generatorProcs: gen.procs,
      rows,
      vsBare: Object.fromEntries(MODES.map((mode, i) => [mode, rows[i].ratio])),
      vsBareBroadcasting: Object.fromEntries(
        MODES.map((mode, i) => [mode, ratio(results[i].seconds, broadcastingResult.seconds)]),
      ),
      ours: Object.fromEntries(MODES.map((mode, i) => [mode, { ...ours[i].info, ...results[i] }])),
      bare: bareResult,
      bareBroadcasting: broadcastingResult,
      serverLogs,
    };
  } finally {
    await gen?.close();
    if (bare) await stop(bare.child);
    for (const o of ours) await o.cleanup().catch((err) => console.error(`cleanup of ${o.mode}:`, err));
  }
}

if (require.main === module) printResult(benchJoins);
