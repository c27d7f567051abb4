import { Client, type Room } from "@colyseus/sdk";
import { serveWorker, share, sharedNow } from "../lib/loadgen-worker";
import { pool, Problems, sleep } from "../lib/measure";

/**
 * Load-generator worker (bench/lib/loadgen.ts) for clients that join rooms and
 * stay: the `joins` and `idle` benches. Each worker holds its share of the
 * clients (global index i → room target i mod targets.length).
 *
 * Phases:
 * - guests {key, endpoint, prefix, total, concurrency}: a guest account per client (its access token, kept under key)
 * - join {tokens?, endpoint, targets, total, concurrency, startAt}: the clients join (with the tokens kept
 *   under `tokens`, if given), from startAt on the shared clock
 * - received: the messages received by type since the join, problems, rooms still open
 * - leave: every client leaves
 */

interface RoomTarget {
  roomName: string;
  options?: Record<string, unknown>;
  /** `join` for rooms that exist already (the lobby refuses `create`). */
  method?: "join" | "joinOrCreate";
}

const tokens: Record<string, string[]> = {};
let rooms: Room[] = [];
let leaving = false;
let problems = new Problems();
/** Messages received by type since the last join phase. */
let received: Record<string, number> = {};

async function post(url: string, body: unknown) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<{ accessToken: string }>;
}

serveWorker({
  guests: async (arg: { key: string; endpoint: string; prefix: string; total: number; concurrency: number }, ctx) => {
    const { start, count } = share(arg.total, ctx.procs, ctx.index);
    const mine: string[] = (tokens[arg.key] = new Array(count));
    await pool(mine, arg.concurrency, async (_, i) => {
      mine[i] = (await post(`${arg.endpoint}/api/auth/guest`, { deviceId: `${arg.prefix}-${start + i}` })).accessToken;
    });
    return count;
  },

  join: async (
    arg: {
      tokens?: string;
      endpoint: string;
      targets: RoomTarget[];
      total: number;
      concurrency: number;
      startAt: number;
    },
    ctx,
  ) => {
    const { start, count } = share(arg.total, ctx.procs, ctx.index);
    problems = new Problems();
    received = {};
    leaving = false;
    rooms = [];
    const latencies = new Float64Array(count);
    let joined = 0;
    let firstStart = Infinity;
    let lastEnd = -Infinity;
    const wait = arg.startAt - sharedNow();
    if (wait > 0) await sleep(wait);
    await pool(
      Array.from({ length: count }, (_, i) => i),
      Math.max(1, arg.concurrency),
      async (i) => {
        const target = arg.targets[(start + i) % arg.targets.length];
        const client = new Client(arg.endpoint);
        const token = arg.tokens ? tokens[arg.tokens]?.[i] : undefined;
        if (token) client.auth.token = token;
        const t0 = sharedNow();
        if (t0 < firstStart) firstStart = t0;
        try {
          const room = await client[target.method ?? "joinOrCreate"]<any>(target.roomName, target.options ?? {});
          const t1 = sharedNow();
          latencies[joined++] = t1 - t0;
          if (t1 > lastEnd) lastEnd = t1;
          rooms.push(room);
          room.onMessage("*", (type: string | number) => {
            received[type] = (received[type] ?? 0) + 1;
          });
          room.onMessage("error", (e: { code?: string }) => problems.add(`error ${e?.code}`));
          room.onDrop((code) => problems.add(`drop ${code}`));
          room.onLeave((code) => {
            if (!leaving) problems.add(`left ${code}`);
          });
        } catch (err) {
          problems.add(`join failed: ${(err as Error).message}`);
        }
      },
    );
    return { latencies: latencies.subarray(0, joined), joined, firstStart, lastEnd, problems: problems.counts };
  },

  /** What the clients received since they joined, and what went wrong since. */
  received: () => ({ received, problems: problems.counts, open: rooms.filter((r) => r.connection.isOpen).length }),

  leave: async () => {
    leaving = true;
    await pool(rooms, 64, async (room) => {
      if (room.connection.isOpen) await Promise.race([room.leave().catch(() => {}), sleep(5000)]);
    });
    rooms = [];
  },

  close: async () => {
    leaving = true;
    for (const room of rooms) room.connection.close();
  },
});
