import { Client, type Room } from "@colyseus/sdk";
import { serveWorker, sharedNow } from "../lib/loadgen-worker";
import { pool, Problems, sleep } from "../lib/measure";

/**
 * Load-generator worker of the fan-out bench (bench/fanout.ts). Each worker
 * holds its share of every target's viewers (several targets are connected at
 * once) and sends its share of each phase's messages: message k goes out from
 * sender k mod senders at startAt + k/rate (shared clock), text
 * `<phase>:<k>:<send time on the shared clock>:` padded with "x", so a viewer in
 * any worker takes latency = receive − send.
 *
 * Phases: connect {target, endpoint, roomName, streamId, tokens?, first, concurrency};
 * send {target, id, total, rate, senders: number[] (global viewer indices), startAt, drainMs, textLen};
 * leave {target}.
 */

/** One measured sending phase, this worker's receivers: deliveries, duplicates and latencies. */
class Phase {
  readonly seen: Uint8Array;
  readonly latencies: Float64Array;
  /** Per message: latency to its first and to its last receiver here. */
  readonly first: Float64Array;
  readonly last: Float64Array;
  n = 0;
  duplicates = 0;
  corrupt = 0;
  lastDelivery = 0;

  constructor(
    readonly id: number,
    readonly total: number,
    readonly receivers: number,
    readonly textLen: number,
  ) {
    this.seen = new Uint8Array(total * receivers);
    this.latencies = new Float64Array(total * receivers);
    this.first = new Float64Array(total).fill(Infinity);
    this.last = new Float64Array(total).fill(-Infinity);
  }

  /** Returns false if the message is not one of this phase's. */
  receive(receiver: number, text: string): boolean {
    const now = sharedNow();
    const a = text.indexOf(":");
    const b = text.indexOf(":", a + 1);
    const c = text.indexOf(":", b + 1);
    if (Number(text.slice(0, a)) !== this.id) return false;
    const k = Number(text.slice(a + 1, b));
    const sentAt = Number(text.slice(b + 1, c));
    if (!(k >= 0 && k < this.total) || Number.isNaN(sentAt) || text.length !== Math.max(this.textLen, c + 1)) {
      this.corrupt++;
      return true;
    }
    const slot = k * this.receivers + receiver;
    if (this.seen[slot]) {
      this.duplicates++;
      return true;
    }
    this.seen[slot] = 1;
    const latency = now - sentAt;
    this.latencies[this.n++] = latency;
    if (latency < this.first[k]) this.first[k] = latency;
    if (latency > this.last[k]) this.last[k] = latency;
    this.lastDelivery = now;
    return true;
  }

  /** Per message: 1 if every receiver here that was connected throughout has it. */
  fullyDelivered(connected: boolean[]): Uint8Array {
    const out = new Uint8Array(this.total);
    for (let k = 0; k < this.total; k++) {
      let all = 1;
      for (let r = 0; r < this.receivers && all; r++) if (connected[r] && !this.seen[k * this.receivers + r]) all = 0;
      out[k] = all;
    }
    return out;
  }
}

interface Viewer {
  room?: Room;
  /** Still in the room (no drop or leave seen). */
  connected: boolean;
}

interface Session {
  first: number;
  viewers: Viewer[];
  problems: Problems;
  current?: Phase;
  stray: number;
  histories: number;
  leaving: boolean;
}

const sessions: Record<string, Session> = {};

function chatText(phase: number, k: number, sentAt: number, textLen: number) {
  const head = `${phase}:${k}:${sentAt.toFixed(3)}:`;
  return head + "x".repeat(Math.max(0, textLen - head.length));
}

serveWorker({
  connect: async (arg: {
    target: string;
    endpoint: string;
    roomName: string;
    streamId: string;
    tokens?: string[];
    first: number;
    count: number;
    concurrency: number;
  }) => {
    const session: Session = {
      first: arg.first,
      viewers: Array.from({ length: arg.count }, () => ({ connected: false })),
      problems: new Problems(),
      stray: 0,
      histories: 0,
      leaving: false,
    };
    sessions[arg.target] = session;
    const { problems } = session;
    await pool(session.viewers, arg.concurrency, async (v, i) => {
      try {
        const client = new Client(arg.endpoint);
        if (arg.tokens) client.auth.token = arg.tokens[i];
        const room = await client.joinOrCreate<any>(arg.roomName, { streamId: arg.streamId });
        v.room = room;
        v.connected = true;
        room.onMessage("chatMessage", (m: { text: string }) => {
          if (!session.current?.receive(i, m.text)) session.stray++;
        });
        room.onMessage("history", () => session.histories++);
        problems.watch(room, ["userJoined", "userLeft", "tipReceived", "streamUpdate"]);
        room.onDrop((code) => {
          v.connected = false;
          problems.add(`drop ${code}`);
        });
        room.onReconnect(() => problems.add("reconnected"));
        room.onLeave((code) => {
          v.connected = false;
          if (!session.leaving) problems.add(`left ${code}`);
        });
        room.onError((code, message) => problems.add(`room error ${code} ${message ?? ""}`.trim()));
      } catch (err) {
        problems.add(`join failed: ${(err as Error).message}`);
      }
    });
    return { joined: session.viewers.filter((v) => v.room).length, histories: session.histories };
  },

  send: async (arg: {
    target: string;
    id: number;
    total: number;
    rate: number;
    senders: number[];
    startAt: number;
    drainMs: number;
    textLen: number;
  }) => {
    const session = sessions[arg.target];
    const { viewers } = session;
    const phase = new Phase(arg.id, arg.total, viewers.length, arg.textLen);
    const connectedAtStart = viewers.map((v) => v.connected);
    const receivers = connectedAtStart.filter(Boolean).length;
    const strayBefore = session.stray;
    session.current = phase;
    let sent = 0;
    const mine = (k: number) => {
      const local = arg.senders[k % arg.senders.length] - session.first;
      return local >= 0 && local < viewers.length ? viewers[local].room : undefined;
    };
    for (let k = 0; k < arg.total; k++) {
      const room = mine(k);
      if (!room) continue;
      const wait = arg.startAt + (k * 1000) / arg.rate - sharedNow();
      if (wait >= 1) await sleep(wait);
      room.send("chat", { text: chatText(arg.id, k, sharedNow(), arg.textLen) });
      sent++;
    }
    const sendEnd = arg.startAt + (arg.total * 1000) / arg.rate;
    const expected = arg.total * receivers;
    while (phase.n < expected && sharedNow() < sendEnd + arg.drainMs) await sleep(10);
    await sleep(200); // late duplicates
    session.current = undefined;
    const connected = viewers.map((v, r) => v.connected && connectedAtStart[r]);
    return {
      sent,
      receivers,
      expected,
      n: phase.n,
      latencies: phase.latencies.subarray(0, phase.n),
      /** Per message, to its first and last receiver here (±Infinity: none here). */
      first: phase.first,
      last: phase.last,
      lastDelivery: phase.lastDelivery,
      duplicates: phase.duplicates,
      corrupt: phase.corrupt,
      stray: session.stray - strayBefore,
      fullyDelivered: phase.fullyDelivered(connected),
    };
  },

  /** How many viewers are still in the room, and what went wrong so far. */
  status: (arg: { target: string }) => {
    const session = sessions[arg.target];
    return { connected: session.viewers.filter((v) => v.connected).length, problems: session.problems.counts };
  },

  leave: async (arg: { target: string }) => {
    const session = sessions[arg.target];
    if (!session) return;
    session.leaving = true;
    await pool(session.viewers, 64, async (v) => {
      if (v.room?.connection.isOpen) await Promise.race([v.room.leave().catch(() => {}), sleep(5000)]);
    });
  },

  hold: (arg: { ms: number }) => sleep(arg.ms),
});
