import { Client, type Room } from "@colyseus/sdk";
import { serveWorker, sharedNow } from "../lib/loadgen-worker";
import { pool, Problems, sleep } from "../lib/measure";

/**
 * Load-generator worker of the video-chat bench (bench/videochat.ts): its
 * share of the users, by global index. Times are on the shared clock, so a
 * pair split over two workers is measured as one.
 *
 * Phases: users {endpoint, queueRoom, first, tokens?, buckets}; match {startAt, rate} (user g joins the
 * queue at startAt + g/rate; answers per user: t0, t1, callId); seat (every matched user takes its seat
 * and waits for session:start); relay {senders: global indices, startAt, seconds, rate} (each sender's
 * call gets `candidate` {candidate: send time}; the other seat records receive − send); leave.
 */

interface Matched {
  callId: string;
  seat: any;
}

interface User {
  client: Client;
  bucket: { region: string; language: string };
  t0?: number;
  t1?: number;
  matched?: Matched;
  queue?: Room;
  call?: Room;
}

let users: User[] = [];
let first = 0;
let problems = new Problems();
let latencies: number[] = [];
let queueRoom = "";

/** An SDK failure as one short line: ServerError code, message, and the network cause behind "fetch failed". */
function describe(err: any): string {
  const cause = err?.cause?.code ?? err?.cause?.message;
  return [err?.code, err?.message || err?.name, cause && `(${cause})`]
    .filter((x) => x !== undefined && x !== "")
    .join(" ");
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

serveWorker({
  users: (arg: {
    endpoint: string;
    queueRoom: string;
    first: number;
    tokens?: string[];
    buckets: Array<{ region: string; language: string }>;
  }) => {
    first = arg.first;
    queueRoom = arg.queueRoom;
    problems = new Problems();
    users = arg.buckets.map((bucket, i) => {
      const client = new Client(arg.endpoint);
      if (arg.tokens) client.auth.token = arg.tokens[i];
      return { client, bucket };
    });
    return users.length;
  },

  match: async (arg: { startAt: number; rate: number; settleMs: number }) => {
    let pending = users.length;
    let allSettled!: () => void;
    const settled = new Promise<void>((r) => (allSettled = r));
    const settle = () => --pending === 0 && allSettled();
    const join = async (u: User) => {
      u.t0 = sharedNow();
      try {
        const room = await u.client.joinOrCreate<any>(queueRoom, u.bucket);
        u.queue = room;
        problems.watch(room, ["moderation:action"], "queue");
        room.onMessage("matched", (m: Matched) => {
          u.t1 = sharedNow();
          u.matched = m;
          room.leave().catch(() => {});
          settle();
        });
      } catch (err) {
        problems.add(`queue join failed: ${describe(err)}`);
        settle();
      }
    };
    if (!users.length) return [];
    for (let i = 0; i < users.length; i++) {
      const wait = arg.startAt + ((first + i) * 1000) / arg.rate - sharedNow();
      if (wait > 1) await sleep(wait);
      void join(users[i]);
    }
    await Promise.race([settled, sleep(arg.settleMs)]);
    // Stragglers (a queue room still open after `matched`) would be closed by the server after 2 s anyway.
    for (const u of users) if (u.queue && !u.matched) await u.queue.leave().catch(() => {});
    return users.map((u, i) => ({ index: first + i, t0: u.t0, t1: u.t1, callId: u.matched?.callId }));
  },

  seat: async () => {
    const seated: number[] = [];
    // A slot takes a seat and moves on: session:start needs the peer, whose seat may come later in
    // this list or in another worker's, so waiting for it in the slot would stall every slot.
    const starts: Array<Promise<void>> = [];
    await pool(users, 16, async (u, i) => {
      if (!u.matched) return;
      try {
        const room = await u.client.consumeSeatReservation<any>(u.matched.seat);
        u.call = room;
        const started = nextMessage(room, "session:start", 20_000);
        problems.watch(
          room,
          ["candidate", "peer-disconnected", "session:end", "match:non_mutual", "badge:awarded"],
          "call",
        );
        room.onMessage("candidate", (m: { candidate: string }) => latencies.push(sharedNow() - Number(m.candidate)));
        starts.push(
          started.then(
            () => void seated.push(first + i),
            (err) => problems.add(`call join failed: ${describe(err)}`),
          ),
        );
      } catch (err) {
        problems.add(`call join failed: ${describe(err)}`);
      }
    });
    await Promise.all(starts);
    return seated.sort((a, b) => a - b);
  },

  relay: async (arg: { senders: number[]; startAt: number; seconds: number; rate: number }) => {
    latencies = [];
    let sent = 0;
    const period = 1000 / arg.rate;
    const end = arg.startAt + arg.seconds * 1000;
    const mine = arg.senders.filter((g) => g >= first && g < first + users.length).map((g) => users[g - first]);
    const wait = arg.startAt - sharedNow();
    if (wait > 0) await sleep(wait);
    await Promise.all(
      mine.map(
        (sender) =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              const tick = () => {
                if (sharedNow() >= end) {
                  clearInterval(timer);
                  return resolve();
                }
                sender.call!.send("candidate", { candidate: String(sharedNow()) });
                sent++;
              };
              const timer = setInterval(tick, period);
              tick();
            }, Math.random() * period);
          }),
      ),
    );
    await sleep(1000); // the last messages in flight
    return { sent, latencies: Float64Array.from(latencies) };
  },

  problems: () => problems.counts,

  hold: (arg: { ms: number }) => sleep(arg.ms),

  leave: async () => {
    await pool(users, 64, async (u) => {
      if (u.call?.connection.isOpen) await Promise.race([u.call.leave().catch(() => {}), sleep(5000)]);
    });
    users = [];
  },
});
