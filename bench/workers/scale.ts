import { Client } from "@colyseus/sdk";
import { serveWorker, share, sharedNow } from "../lib/loadgen-worker";
import { pool, Problems, sleep } from "../lib/measure";

/**
 * Load-generator worker for bench/scale.ts: matchmaking joins through nginx at
 * a fixed open-loop rate.
 *
 * Phases:
 * - users {endpoint, prefix, total}: this worker's share of guest accounts; answers their ids (for funding)
 * - joins {endpoint, ratePerSec, seconds, startAt}: from startAt on the shared clock, one
 *   `match_queue` join every 1/rate s (open loop: a slow answer does not delay the next join),
 *   each by the next idle user of this worker, into that user's own bucket (so nobody is ever
 *   paired: each join creates and disposes a queue room), left as soon as it is joined.
 *   Answers the join latencies (request → joined) and what went wrong.
 */

interface User {
  accessToken: string;
  region: string;
  language: string;
  busy: boolean;
}

let users: User[] = [];

/** User i's own bucket: 6 regions × 676 two-letter languages. */
function bucket(i: number, regions: string[]) {
  const region = regions[i % regions.length];
  const n = Math.floor(i / regions.length);
  const language = String.fromCharCode(97 + (Math.floor(n / 26) % 26), 97 + (n % 26));
  return { region, language };
}

serveWorker({
  users: async (arg: { endpoint: string; prefix: string; total: number; regions: string[] }, ctx) => {
    const { start, count } = share(arg.total, ctx.procs, ctx.index);
    users = new Array(count);
    const ids: string[] = new Array(count);
    await pool(users, 16, async (_, i) => {
      const res = await fetch(`${arg.endpoint}/api/auth/guest`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ deviceId: `${arg.prefix}-${start + i}` }),
      });
      if (res.status !== 200) throw new Error(`guest sign-in: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { user: { id: string }; accessToken: string };
      users[i] = { accessToken: body.accessToken, ...bucket(start + i, arg.regions), busy: false };
      ids[i] = body.user.id;
    });
    return ids;
  },

  joins: async (arg: { endpoint: string; ratePerSec: number; seconds: number; startAt: number }) => {
    const problems = new Problems();
    const latencies: number[] = [];
    const total = Math.max(1, Math.round(arg.ratePerSec * arg.seconds));
    const gapMs = 1000 / arg.ratePerSec;
    let next = 0;
    const inFlight: Promise<void>[] = [];
    const join = async (user: User) => {
      const client = new Client(arg.endpoint);
      client.auth.token = user.accessToken;
      const t0 = sharedNow();
      try {
        const room = await client.joinOrCreate("match_queue", { region: user.region, language: user.language });
        latencies.push(sharedNow() - t0);
        room.onMessage("*", () => {});
        await room.leave();
      } catch (err) {
        problems.add(`join failed: ${String((err as Error).message).slice(0, 120)}`);
      } finally {
        user.busy = false;
      }
    };
    for (let i = 0; i < total; i++) {
      const due = arg.startAt + i * gapMs;
      const wait = due - sharedNow();
      if (wait > 0) await sleep(wait);
      // The next idle user (a user is in one queue at a time).
      let user: User | undefined;
      for (let tries = 0; tries < users.length && !user; tries++) {
        const candidate = users[next++ % users.length];
        if (!candidate.busy) user = candidate;
      }
      if (!user) {
        problems.add("no idle user (raise BENCH_SCALE_USERS)");
        continue;
      }
      user.busy = true;
      inFlight.push(join(user));
    }
    await Promise.all(inFlight);
    return { latencies: Float64Array.from(latencies), sent: total, problems: problems.counts };
  },
});
