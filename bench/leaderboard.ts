import "reflect-metadata";
import pg from "pg";
import type { DataSource } from "typeorm";
import { openDatabase } from "../src/db/data-source";
import { leaderboardWrites } from "../src/metrics";
import { createRedis } from "../src/redis";
import { LeaderboardService } from "../src/services/leaderboards";
import type { RankIndexes } from "../src/services/rank-index";
import { MemoryRankIndexes } from "../src/services/rank-memory";
import { RedisRankIndexes } from "../src/services/rank-redis";
import { printResult, ratio, summary } from "./lib/measure";
import { machineTicks } from "./lib/proc";
import { POSTGRES_URL } from "./lib/servers";

/**
 * Leaderboard ranks on PostgreSQL with one board of RECORDS (1,000,000) records, bulk-inserted
 * with generate_series, through the service with its rank index (in-process treap, and Redis
 * sorted sets when REDIS_URL is set) against the baseline in the same run: the plain SQL
 * window-function queries the service ran before the index (row_number() over the period).
 * Measured: index build from the table, rank of one user, around-me (±10), top-100 page (p50/p99,
 * 3 runs each for the spread), and submits/s with WORKERS concurrent writers through the service
 * against a bare upsert through `pg`. Targets: rank and around-me p99 ≤ 5 ms and ≥ 50× faster
 * than SQL; ≥ 2,000 submits/s. The load generator is this process (the in-process index too):
 * its CPU is reported, and the machine's, to see what else ran meanwhile.
 */
const RECORDS = Number(process.env.BENCH_LB_RECORDS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WORKERS = 16;
const SAMPLES = 200;
const SQL_SAMPLES = 3;
const RUNS = 3;
const BOARD = "bench-board";

async function scratchDatabase() {
  const name = `bench_lb_${process.pid}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

async function fill(ds: DataSource) {
  const started = performance.now();
  await ds.query(
    `INSERT INTO users (id, display_name, is_guest) SELECT gen_random_uuid(), 'P' || g, true FROM generate_series(1, $1) g`,
    [RECORDS],
  );
  // Few distinct subscores and millisecond timestamps (as the service writes them): plenty of ties.
  await ds.query(
    `INSERT INTO leaderboard_records (board_id, period_start, user_id, score, subscore, num_score, updated_at)
     SELECT $1, 'epoch', id, (random() * 100000)::bigint, (random() * 10)::bigint, 1,
            date_trunc('milliseconds', now() - random() * interval '30 days')
     FROM users`,
    [BOARD],
  );
  await ds.query(`ANALYZE users; ANALYZE leaderboard_records`);
  return Math.round(performance.now() - started);
}

/** The queries the service ran before the rank index: row_number() over the whole period. */
function sqlBaseline(ds: DataSource) {
  const ranked = (tail: string, params: unknown[]) =>
    ds.query(
      `SELECT * FROM (
         SELECT r.user_id, COALESCE(u.display_name, '') AS display_name, r.score, r.subscore, r.num_score,
                r.updated_at, row_number() OVER (ORDER BY -r.score, -r.subscore, r.updated_at, r.user_id) AS rank
         FROM leaderboard_records r LEFT JOIN users u ON u.id = r.user_id
         WHERE r.board_id = $1 AND r.period_start = 'epoch'
       ) ranked WHERE true ${tail}`,
      [BOARD, ...params],
    );
  return {
    rank: (userId: string) => ranked(`AND user_id = $2`, [userId]),
    around: async (userId: string) => {
      const [me] = await ranked(`AND user_id = $2`, [userId]);
      return ranked(`AND rank BETWEEN $2 AND $3 ORDER BY rank`, [Number(me.rank) - 10, Number(me.rank) + 10]);
    },
    top: () => ranked(`ORDER BY rank LIMIT 101`, []),
  };
}

async function timed(n: number, fn: (i: number) => Promise<unknown>) {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    xs.push(performance.now() - t0);
  }
  return summary(xs);
}

type Summary = ReturnType<typeof summary>;
/** Each run's p50/p99 and their range over the runs. */
function spread(runs: Summary[]) {
  const p = (k: "p50" | "p99") => runs.map((r) => (r as { p50?: number; p99?: number })[k] ?? NaN);
  return {
    runs,
    p50: { min: Math.min(...p("p50")), max: Math.max(...p("p50")) },
    p99: { min: Math.min(...p("p99")), max: Math.max(...p("p99")) },
  };
}

async function throughput(submit: (worker: number, i: number) => Promise<unknown>) {
  const cpu = process.cpuUsage();
  const machine = machineTicks();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await submit(w, i);
        done++;
      }
    }),
  );
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const after = machineTicks();
  return {
    perSec: Math.round(done / (wallMs / 1000)),
    loadGeneratorCpuPct: Math.round(((used.user + used.system) / 1000 / wallMs) * 100),
    machineBusyPct: Math.round(((after.busy - machine.busy) / Math.max(1, after.total - machine.total)) * 100),
  };
}

async function writesByOutcome() {
  const counts: Record<string, number> = {};
  for (const v of (await leaderboardWrites.get()).values) {
    if (v.labels.board === BOARD) counts[String(v.labels.outcome)] = v.value;
  }
  return counts;
}

async function measureMode(ds: DataSource, ranks: RankIndexes, users: string[]) {
  const service = new LeaderboardService(ds, undefined, undefined, undefined, ranks);
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  await service.records(BOARD, { limit: 1 });
  const buildMs = Math.round(performance.now() - t0);
  const heapMb = Math.round((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20);
  const pick = (i: number) => users[(i * 7919) % users.length];
  // Warm-up: JIT and connection pool.
  await timed(50, (i) => service.around(BOARD, pick(i), { limit: 10 }));
  const rank: Summary[] = [];
  const around: Summary[] = [];
  const top: Summary[] = [];
  for (let run = 0; run < RUNS; run++) {
    rank.push(await timed(SAMPLES, (i) => service.record(BOARD, pick(run * SAMPLES + i))));
    around.push(await timed(SAMPLES, (i) => service.around(BOARD, pick(run * SAMPLES + i), { limit: 10 })));
    top.push(await timed(SAMPLES, () => service.records(BOARD, { limit: 100 })));
  }
  const outcomesBefore = await writesByOutcome();
  const submits = [];
  for (let run = 0; run < RUNS; run++) {
    submits.push(
      await throughput((w, i) =>
        service.submit(BOARD, pick(w * 100_003 + i * 31 + run), Math.floor(Math.random() * 110_000), 0),
      ),
    );
  }
  const outcomesAfter = await writesByOutcome();
  const outcomes = Object.fromEntries(Object.entries(outcomesAfter).map(([k, v]) => [k, v - (outcomesBefore[k] ?? 0)]));
  // The index still equals SQL after the writes: a sample of ranks checked against row_number().
  const check = sqlBaseline(ds);
  let mismatches = 0;
  for (let i = 0; i < 3; i++) {
    const userId = pick(i * 13);
    const [sql] = await check.rank(userId);
    if (Number(sql.rank) !== (await service.record(BOARD, userId)).record.rank) mismatches++;
  }
  return {
    mode: ranks.mode,
    buildMs,
    ...(ranks.mode === "memory" ? { heapMb } : {}),
    rankMs: spread(rank),
    aroundMs: spread(around),
    top100Ms: spread(top),
    submits: { runs: submits, outcomes },
    rankMismatchesAfterWrites: mismatches,
  };
}

export async function benchLeaderboard() {
  const scratch = await scratchDatabase();
  const ds = await openDatabase({ url: scratch.url, embeddedDir: "" });
  const raw = new pg.Pool({ connectionString: scratch.url, max: WORKERS });
  const redis = process.env.REDIS_URL ? createRedis(process.env.REDIS_URL, { commandTimeoutMs: 10_000 }) : undefined;
  const prefix = `bench-lb-${process.pid}:`;
  try {
    const setup = new LeaderboardService(ds);
    await setup.create({
      id: BOARD,
      title: "Bench",
      sortOrder: "desc",
      operator: "best",
      resetSchedule: null,
      authoritative: false,
    });
    const fillMs = await fill(ds);
    const users: string[] = (
      await ds.query(`SELECT user_id FROM leaderboard_records TABLESAMPLE SYSTEM (1) LIMIT 5000`)
    ).map((r: { user_id: string }) => r.user_id);

    // Baseline first: the SQL window function, a few samples per run (each sorts the whole period).
    const sql = sqlBaseline(ds);
    const sqlRank: Summary[] = [];
    const sqlAround: Summary[] = [];
    const sqlTop: Summary[] = [];
    for (let run = 0; run < RUNS; run++) {
      sqlRank.push(await timed(SQL_SAMPLES, (i) => sql.rank(users[run * 10 + i])));
      sqlAround.push(await timed(SQL_SAMPLES, (i) => sql.around(users[run * 10 + i])));
      sqlTop.push(await timed(SQL_SAMPLES, () => sql.top()));
    }
    // Bare upsert through pg: the floor cost of "a submit" on this machine.
    const upsertBaseline: Array<Awaited<ReturnType<typeof throughput>>> = [];
    for (let run = 0; run < RUNS; run++) {
      upsertBaseline.push(
        await throughput((w, i) =>
          raw.query(
            `INSERT INTO leaderboard_records AS r (board_id, period_start, user_id, score, subscore, num_score, updated_at)
             VALUES ($1, 'epoch', $2, $3, 0, 1, now())
             ON CONFLICT (board_id, period_start, user_id) DO UPDATE
               SET score = EXCLUDED.score, num_score = r.num_score + 1, updated_at = EXCLUDED.updated_at
               WHERE EXCLUDED.score > r.score`,
            [BOARD, users[(w * 100_003 + i * 31 + run) % users.length], Math.floor(Math.random() * 110_000)],
          ),
        ),
      );
    }

    const modes = [await measureMode(ds, new MemoryRankIndexes(), users)];
    if (redis) {
      const ranks = new RedisRankIndexes(redis, prefix);
      modes.push(await measureMode(ds, ranks, users));
      await ranks.dropBoard(BOARD);
    }
    const p99 = (s: ReturnType<typeof spread>) => s.p99.max;
    const p50 = (s: ReturnType<typeof spread>) => s.p50.max;
    const sqlSpread = { rank: spread(sqlRank), around: spread(sqlAround), top: spread(sqlTop) };
    return {
      name: "leaderboard",
      database: "postgresql",
      records: RECORDS,
      fillMs,
      workers: WORKERS,
      seconds: SECONDS,
      sqlWindowFunctionMs: sqlSpread,
      upsertBaselinePerSec: upsertBaseline,
      modes: modes.map((m) => ({
        ...m,
        // Worst p50 / p99 of the 3 runs against the best of SQL's: the smallest speed-up seen.
        speedup: {
          rankP50: ratio(sqlSpread.rank.p50.min, p50(m.rankMs)),
          rankP99: ratio(sqlSpread.rank.p99.min, p99(m.rankMs)),
          aroundP50: ratio(sqlSpread.around.p50.min, p50(m.aroundMs)),
          aroundP99: ratio(sqlSpread.around.p99.min, p99(m.aroundMs)),
          top100P99: ratio(sqlSpread.top.p99.min, p99(m.top100Ms)),
        },
        submitsVsBareUpsert: ratio(
          Math.min(...m.submits.runs.map((r) => r.perSec)),
          Math.max(...upsertBaseline.map((r) => r.perSec)),
        ),
      })),
      targets: { rankAndAroundP99Ms: 5, speedupVsSql: 50, submitsPerSec: 2000 },
    };
  } finally {
    redis?.disconnect();
    await raw.end();
    await ds.destroy();
    await scratch.drop();
  }
}

if (require.main === module) printResult(benchLeaderboard);
