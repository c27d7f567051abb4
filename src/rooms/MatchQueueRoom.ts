import { type AuthContext, type Client, ClientState, logger, matchMaker, Room, ServerError } from "@colyseus/core";
import { Gauge, Histogram } from "prom-client";
import { registry } from "../metrics";
import { randomUUID } from "node:crypto";
import { VIDEO_CALL_ROOM } from "../services/calls";
import { type AvoidEntry, type Bucket, FOREVER } from "../services/matchmaking";
import { inBackground } from "./background";
import { refuseCreate } from "./creation";
import { onRedisDataLoss } from "./reannounce";
import { authenticateRoomClient, joinCheck, type RoomAuth } from "./auth";
import { moderationNotice, sendError, unknownMessage } from "./messages";
import { MatchQueueState } from "./schema/MatchQueueState";
import { type CallOptions, callRole } from "./VideoCallRoom";
import { roomServices } from "./services";

interface QueueAuth extends RoomAuth {
  /** When the join request arrived (epoch ms): the start of the match latency. */
  arrivedAt: number;
  /** Whom this user must not meet, loaded with the join checks. */
  avoid: AvoidEntry[];
}

interface Waiting {
  client: Client;
  auth: QueueAuth;
  avoid: Map<string, number>;
}

const MARKER_REFRESH_MS = 60_000;
const MATCHED_GRACE_MS = 2_000;
const CLOCK_MARGIN_MS = 5_000;

/**
 * One matchmaking bucket (region × language), one actor. A join is checked
 * (token, funds, ban, bucket) before a seat is given, and bans again when
 * paired (a ban issued while waiting); a user waits in FIFO
 * order and is paired the moment a compatible user arrives: no polling
 * cycle, unlike Colyseus's QueueRoom. On pairing, the queue records the call,
 * creates its `video_call` room, reserves a seat there for each user and
 * sends it as `matched {callId, seat, peer, role}` (user A makes the WebRTC offer).
 */
export class MatchQueueRoom extends Room<{ state: MatchQueueState; metadata: Bucket }> {
  state = new MatchQueueState();
  /** Clients only wait here: every message is unknown (the guard also caps their rate). */
  messages = { "*": unknownMessage };
  private bucket!: Bucket;
  private readonly waiting: Waiting[] = [];
  /** A skipped pair whose cooldown ends re-runs the pairing then. */
  private retryAt = Infinity;
  private stopReannouncing = () => {};

  static async onAuth(token: string, options: unknown, ctx: AuthContext): Promise<QueueAuth> {
    refuseCreate(ctx, "match_queue");
    const arrivedAt = Date.now();
    const auth = await authenticateRoomClient(token, options);
    const { matchmaking } = roomServices();
    const avoid = await joinCheck(async () => {
      matchmaking.bucket(options);
      return matchmaking.admit(auth.userId);
    });
    return { ...auth, arrivedAt, avoid };
  }

  onCreate(options: unknown) {
    this.bucket = roomServices().matchmaking.bucket(options);
    liveQueues.set(this.roomId, { bucket: this.bucket, size: () => this.waiting.length });
    this.clock.setInterval(() => inBackground(this.refreshMarkers(), "queue marker refresh"), MARKER_REFRESH_MS);
    this.stopReannouncing = onRedisDataLoss(() =>
      roomServices().matchmaking.reclaimQueued(this.waiting.map((w) => w.auth.userId)),
    );
  }

  async onJoin(client: Client, _options: unknown, auth: QueueAuth) {
    const { matchmaking } = roomServices();
    if (!(await matchmaking.markQueued(auth.userId))) {
      throw new ServerError(409, "ALREADY_QUEUED: you are already waiting in a queue");
    }
    if (isGone(client)) return void (await matchmaking.unmarkQueued(auth.userId)); // left meanwhile
    this.waiting.push({ client, auth, avoid: new Map(auth.avoid) });
    this.state.waiting = this.waiting.length;
    this.pairAll();
  }

  onLeave(client: Client) {
    this.dequeue(client);
  }

  onDispose() {
    liveQueues.delete(this.roomId);
    this.stopReannouncing();
    for (const w of this.waiting.splice(0)) this.release(w);
  }

  /** Pairs every compatible couple, oldest waiter first. */
  private pairAll() {
    const now = Date.now();
    for (let i = 0; i < this.waiting.length; i++) {
      for (let j = i + 1; j < this.waiting.length; j++) {
        const a = this.waiting[i];
        const b = this.waiting[j];
        const until = Math.max(a.avoid.get(b.auth.userId) ?? 0, b.avoid.get(a.auth.userId) ?? 0);
        if (until > now) {
          if (until < this.retryAt && until !== FOREVER) this.scheduleRetry(until);
          continue;
        }
        // Out of the list before any await, so no other pairing can take either of them.
        this.waiting.splice(j, 1);
        this.waiting.splice(i, 1);
        this.state.waiting = this.waiting.length;
        void this.match(a, b);
        i--;
        break;
      }
    }
  }

  private scheduleRetry(at: number) {
    this.retryAt = at;
    this.clock.setTimeout(
      () => {
        this.retryAt = Infinity;
        this.pairAll();
      },
      at - Date.now() + 5,
    );
  }

  /** Records the call, creates its room, and hands each user a seat in it. */
  private async match(a: Waiting, b: Waiting) {
    try {
      // A ban issued while they waited (the ban cache is cleared on every process when it is issued).
      if (await this.dropBanned(a, b)) return;
      const call: CallOptions = {
        callId: randomUUID(),
        userA: a.auth.userId,
        userB: b.auth.userId,
        bucket: this.bucket,
      };
      const room = await matchMaker.createRoom(VIDEO_CALL_ROOM, call);
      const seats = await Promise.all([a, b].map((w) => matchMaker.reserveSeatFor(room, {}, w.auth)));
      const sentAt = Date.now();
      for (const [i, w] of [a, b].entries()) {
        const peer = i === 0 ? b : a;
        const role = callRole(call, w.auth.userId);
        w.client.send("matched", {
          callId: call.callId,
          seat: seats[i],
          peer: { displayName: peer.auth.displayName },
          role,
        });
        matchLatency.observe((sentAt - w.auth.arrivedAt) / 1000);
        this.release(w);
      }
      // The client leaves once it has the seat; close what is left after a grace period
      // (closing at once would drop the `matched` message still on its way out).
      this.clock.setTimeout(() => [a, b].forEach((w) => isGone(w.client) || w.client.leave()), MATCHED_GRACE_MS);
    } catch (err) {
      this.logError(err);
      // Back at the front, in their order: they keep their place.
      for (const w of [b, a]) {
        if (isGone(w.client)) this.release(w);
        else {
          this.waiting.unshift(w);
          sendError(w.client, "MATCH_FAILED", "Could not start the call; still waiting");
        }
      }
      this.state.waiting = this.waiting.length;
    }
  }

  private dequeue(client: Client) {
    const index = this.waiting.findIndex((w) => w.client.sessionId === client.sessionId);
    if (index < 0) return;
    this.release(this.waiting.splice(index, 1)[0]);
    this.state.waiting = this.waiting.length;
  }

  private release(w: Waiting) {
    inBackground(roomServices().matchmaking.unmarkQueued(w.auth.userId), "queue unmark");
  }

  /** Turns away whichever of the pair is banned now; the other goes back to the front. True if any was. */
  private async dropBanned(a: Waiting, b: Waiting): Promise<boolean> {
    const { moderation } = roomServices();
    // The join checked bans in the database; only a ban announced since then needs a look
    // (with a margin: the join may have been checked on another process, with its own clock).
    const since = (w: Waiting) => w.auth.arrivedAt - CLOCK_MARGIN_MS;
    if (![a, b].some((w) => moderation.bannedSince(w.auth.userId, since(w)))) return false;
    const bans = await Promise.all([a, b].map((w) => moderation.activeBan(w.auth.userId)));
    if (!bans[0] && !bans[1]) return false;
    for (const [i, w] of [a, b].entries()) {
      const ban = bans[i];
      if (ban) {
        w.client.send("moderation:action", {
          action: "ban",
          reason: ban.reason,
          message: moderationNotice(w.client, "ban"),
        });
        this.release(w);
        w.client.leave();
      } else if (!isGone(w.client)) {
        this.waiting.unshift(w);
      } else {
        this.release(w);
      }
    }
    this.state.waiting = this.waiting.length;
    this.pairAll();
    return true;
  }

  private async refreshMarkers() {
    await roomServices().matchmaking.refreshQueued(this.waiting.map((w) => w.auth.userId));
  }

  private logError(err: unknown) {
    logger.error({ err, roomId: this.roomId }, "match_queue pairing failed");
  }
}

const isGone = (client: Client) => client.state === ClientState.LEAVING || client.state === ClientState.CLOSED;

/** Queue rooms on this process, for the per-bucket gauge. */
const liveQueues = new Map<string, { bucket: Bucket; size: () => number }>();

new Gauge({
  name: "match_queue_waiting",
  help: "Users waiting in the match queue, by bucket (this process's buckets)",
  labelNames: ["region", "language"] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const { bucket, size } of liveQueues.values()) this.set(bucket, size());
  },
});

const matchLatency = new Histogram({
  name: "match_latency_seconds",
  help: "From a queue join request to `matched`",
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});
