import { Client, type Room } from "@colyseus/sdk";
import { serveWorker, share } from "../lib/loadgen-worker";
import { pool, Problems, sleep } from "../lib/measure";

/**
 * Load-generator worker of the whack bench (bench/whack.ts): its share of a
 * step's players, each in a solo round of its own, whacking WHACK_RATE times
 * a second (the mole it sees up, else an empty hole); each whack gets exactly
 * one answer (`hit` or `error`), matched in order per player, so latency is
 * taken within this process.
 *
 * Phases: open {endpoint, roomName, rounds, players?, waitPlaying} (rooms created, `ready` sent, and for
 * ours the countdown waited out); start {rate} (whacking begins, open loop); measure {ms} (latencies and
 * answers counted for ms); end (whacking stops, everyone leaves).
 */

let rooms: Room<any>[] = [];
let whackers: Array<() => void> = [];
let timers: NodeJS.Timeout[] = [];
let latencies: number[] = [];
let answered = 0;
let measuring = false;
let problems = new Problems();

serveWorker({
  open: async (
    arg: {
      endpoint: string;
      roomName: string;
      rounds: number;
      players?: Array<{ accessToken: string; sessionToken: string }>;
      waitPlaying: boolean;
    },
    ctx,
  ) => {
    const { start, count } = share(arg.rounds, ctx.procs, ctx.index);
    rooms = [];
    whackers = [];
    latencies = [];
    answered = 0;
    problems = new Problems();
    await pool(
      Array.from({ length: count }, (_, i) => start + i),
      8,
      async (g) => {
        const client = new Client(arg.endpoint);
        const player = arg.players?.[g];
        if (player) client.auth.token = player.accessToken;
        const room = await client.create<any>(arg.roomName, { mode: "solo", sessionToken: player?.sessionToken });
        rooms.push(room);
        const sent: number[] = [];
        const answer = () => {
          const at = sent.shift();
          if (at !== undefined && measuring) {
            latencies.push(performance.now() - at);
            answered++;
          }
        };
        room.onMessage("hit", answer);
        room.onMessage("error", (e: { code: string }) => {
          if (e.code !== "MISS" && e.code !== "ALREADY_HIT") problems.add(`error ${e.code}`);
          answer();
        });
        for (const type of ["pong", "round:end", "ended"]) room.onMessage(type, () => {});
        room.onMessage("*", (type: string | number) => problems.add(`unexpected ${type}`));
        room.onLeave((code) => measuring && problems.add(`left ${code}`));
        const whacked = new Set<number>();
        whackers.push(() => {
          const holes: any[] = room.state?.holes ? [...room.state.holes] : [];
          const up = holes.findIndex((h) => h.moleId > 0 && !whacked.has(h.moleId));
          const moleId = up >= 0 ? holes[up].moleId : null;
          if (moleId) whacked.add(moleId);
          sent.push(performance.now());
          room.send("whack", { hole: up >= 0 ? up : Math.floor(Math.random() * 9), moleId });
        });
        room.send("ready");
      },
    );
    // Ours counts down 3 s before play; the bare room answers at once.
    if (arg.waitPlaying) {
      const deadline = Date.now() + 15_000;
      while (rooms.some((r) => r.state?.phase !== "playing") && Date.now() < deadline) await sleep(50);
    }
    return rooms.length;
  },

  start: (arg: { rate: number }) => {
    // Open loop: every player whacks every 1/rate s, phase-shifted so the whacks spread over the period.
    timers = whackers.map((whack, i) =>
      setTimeout(
        () => {
          whack();
          timers[i] = setInterval(whack, 1000 / arg.rate);
        },
        (i * 1000) / arg.rate / whackers.length,
      ),
    );
  },

  measure: async (arg: { ms: number }) => {
    latencies = [];
    answered = 0;
    measuring = true;
    await sleep(arg.ms);
    measuring = false;
    return { answered, latencies: Float64Array.from(latencies), problems: problems.counts };
  },

  end: async () => {
    timers.forEach((t) => clearTimeout(t));
    await sleep(300);
    await pool(rooms, 64, async (r) => {
      if (r.connection.isOpen) await Promise.race([r.leave().catch(() => {}), sleep(5000)]);
    });
    rooms = [];
    whackers = [];
  },
});
