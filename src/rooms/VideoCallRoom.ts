import { type Client, CloseCode, logger, Room, ServerError } from "@colyseus/core";
import { Counter } from "prom-client";
import { z } from "zod";
import type { Call, CallChoice, CallEndReason } from "../entities";
import { registry } from "../metrics";
import type { CallService, ChoiceOutcome } from "../services/calls";
import type { Bucket } from "../services/matchmaking";
import type { ModerationAction } from "../services/events";
import type { RoomAnswer } from "../services/room-gateway";
import { CleanText } from "../services/text";
import type { RoomAuth } from "./auth";
import { Candidate, Description, isCandidate, isDescription, signal } from "./call-signals";
import { watchUserModeration } from "./call-moderation";
import { moderationNotice, NoPayload, sendError, unknownMessage, validated } from "./messages";
import { MessageRateLimiter } from "./rate-limit";
import { VideoCallState } from "./schema/VideoCallState";
import { Serial } from "./serial";
import { roomServices } from "./services";

const Chat = z.strictObject({ text: CleanText(1, 500) });
/** One emoji (with modifiers, joiners, flags): a handful of code points. */
const Emoji = z
  .string()
  .max(32)
  .regex(/^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\u200d|\ufe0f)+$/u, "one emoji");
const Reaction = z.strictObject({ emoji: Emoji });
const Choice = z.strictObject({ choice: z.enum(["MATCH", "PASS"]) });

const signals = new Counter({
  name: "call_signals_relayed_total",
  help: "Messages relayed between call peers, by type (offer, answer, candidate, chat, reaction)",
  labelNames: ["type"] as const,
  registers: [registry],
});
type RelayedType = "offer" | "answer" | "candidate" | "chat" | "reaction";
/** The counter's children, looked up once: a labelled inc() hashes its labels on every message. */
const relayed = Object.fromEntries(
  (["offer", "answer", "candidate", "chat", "reaction"] as const).map((type) => [type, signals.labels(type)]),
) as Record<RelayedType, ReturnType<typeof signals.labels>>;

type Delayed = ReturnType<Room["clock"]["setTimeout"]>;

/** What the match queue creates a call room with (only the server can: see onAuth). */
export interface CallOptions {
  callId: string;
  userA: string;
  userB: string;
  bucket: Bucket;
}

/**
 * One 1:1 call, created by the queue for two users: `connecting` until both
 * are in (or the join timeout cancels it), `live` for CALL_DURATION_SEC while
 * signaling and chat are relayed peer to peer, `choosing` until both chose or
 * CHOICE_TIMEOUT_SEC passed, then `ended`. Every change runs through one
 * serial queue: messages, timers, remote calls and moderation events.
 */
export class VideoCallRoom extends Room<{ state: VideoCallState }> {
  /**
   * Nobody joins through matchmaking: each user takes the seat the queue
   * reserved for them (its auth comes with the seat), so a client can neither
   * create a call room nor walk into one.
   */
  static onAuth(): never {
    throw new ServerError(403, "NOT_PARTICIPANT: calls are joined with the seat sent in `matched`");
  }
  maxClients = 2;
  state = new VideoCallState();
  /** The per-connection ceiling sits above the signaling bucket (60 at once): trickle ICE sends candidates in bursts. */
  maxMessagesPerSecond = 100;

  private calls!: CallService;
  private call!: Call;
  private readonly present = new Map<string, Client>();
  private readonly serial = new Serial("video_call");
  private timer?: Delayed;
  private unsubscribe: Array<() => void> = [];
  private readonly signaling = new MessageRateLimiter(60, 30);
  private readonly chatLimit = new MessageRateLimiter(5, 1);
  private readonly reactionLimit = new MessageRateLimiter(10, 3);

  messages = {
    offer: signal("offer", Description("offer"), isDescription("offer"), (c, { sdp }) =>
      this.relay(c, "offer", { sdp }, this.signaling),
    ),
    answer: signal("answer", Description("answer"), isDescription("answer"), (c, { sdp }) =>
      this.relay(c, "answer", { sdp }, this.signaling),
    ),
    candidate: signal("candidate", Candidate, isCandidate, (c, m) => this.relay(c, "candidate", m, this.signaling)),
    chat: validated("chat", Chat, (c, { text }) => this.relay(c, "chat", { text, at: Date.now() }, this.chatLimit)),
    reaction: validated("reaction", Reaction, (c, m) => this.relay(c, "reaction", m, this.reactionLimit)),
    end: validated("end", NoPayload, (client) =>
      this.serial.run(async () => {
        if (this.state.phase !== "live") return sendError(client, "CALL_NOT_LIVE", "The call is not live");
        await this.finishTalk("hung_up");
      }),
    ),
    choice: validated("choice", Choice, async (client, { choice }) => {
      const answer = await this.choose(userOf(client), choice);
      if (!answer.ok) sendError(client, answer.code, answer.message, answer.params);
    }),
    "*": unknownMessage,
  };

  async onCreate(options: CallOptions) {
    this.calls = roomServices().calls;
    this.call = await this.calls.open({ ...options, roomId: this.roomId });
    // Lives until the choice closes, even while nobody is connected (HTTP choices).
    this.autoDispose = false;
    this.seatReservationTimeout = this.calls.timings.joinTimeoutSec;
    const { events } = roomServices();
    this.unsubscribe = [this.call.userA, this.call.userB].map((userId) =>
      watchUserModeration(events, userId, ({ action, reason, callId }) => {
        // A verdict about an earlier call does not end this one.
        if (callId && callId !== this.call.id) return;
        this.serial.post(() => this.moderate(userId, action, reason));
      }),
    );
    this.timer = this.clock.setTimeout(
      () => this.serial.post(() => this.endEarly("cancelled")),
      this.calls.timings.joinTimeoutSec * 1000,
    );
  }

  onJoin(client: Client, _options: unknown, auth: RoomAuth) {
    if (auth.userId !== this.call.userA && auth.userId !== this.call.userB) {
      throw new ServerError(403, "NOT_PARTICIPANT: this call is for two other users");
    }
    if (this.present.has(auth.userId)) throw new ServerError(409, "ALREADY_IN_CALL: already joined");
    if (this.state.phase !== "connecting") throw new ServerError(409, "CALL_OVER: this call has ended");
    this.present.set(auth.userId, client);
    if (this.present.size === 2) this.serial.post(() => this.start());
  }

  async onDrop(client: Client) {
    if (this.state.phase === "ended") return;
    await this.allowReconnection(client, this.calls.timings.reconnectSec);
  }

  onReconnect(client: Client) {
    this.present.set(userOf(client), client);
  }

  onLeave(client: Client, code?: number) {
    const userId = userOf(client);
    if (this.present.get(userId)?.sessionId !== client.sessionId) return;
    this.present.delete(userId);
    this.signaling.forget(client.sessionId);
    if (this.state.phase === "connecting" || this.state.phase === "live") {
      const reason: CallEndReason = this.state.phase === "live" ? "peer_disconnected" : "cancelled";
      return this.serial.run(async () => {
        if (this.state.phase === "ended" || this.state.phase === "choosing") return;
        this.otherThan(userId)?.send("peer-disconnected", { consented: code === CloseCode.CONSENTED });
        await this.endEarly(reason);
      });
    }
  }

  async onDispose() {
    this.unsubscribe.forEach((stop) => stop());
    // The process is shutting down mid-call: nothing more can happen in it.
    if (this.state.phase !== "ended") {
      const refund = this.state.phase === "live" ? [this.call.userA, this.call.userB] : [];
      await this.calls.end(this.call.id, "shutdown", refund);
    }
  }

  /**
   * Graceful shutdown (SIGTERM), before the close (4001): a connecting call is
   * cancelled (no fee was charged yet); a live call ends and both fees are
   * refunded (it did not get its duration), with `session:end
   * {reason:"shutdown"}`; a call in its choice closes it now (silence counts
   * as PASS, as at the deadline). Nothing here may throw: Colyseus calls it
   * outside the guarded hooks.
   */
  onBeforeShutdown() {
    this.serial.post(async () => {
      const phase = this.state.phase;
      try {
        if (phase === "choosing") await this.resolve();
        else if (phase !== "ended") await this.endEarly("shutdown", [this.call.userA, this.call.userB]);
      } catch (err) {
        logger.error({ err, callId: this.call.id }, "call could not end at shutdown");
        if (phase !== "ended" && phase !== "choosing") this.broadcast("session:end", { reason: "shutdown" });
      } finally {
        await this.disconnect(CloseCode.SERVER_SHUTDOWN);
      }
    });
  }

  /** The choice, from the room message or from HTTP through the gateway; the first one stands. */
  choose(userId: string, choice: CallChoice): Promise<RoomAnswer<ChoiceOutcome>> {
    return this.serial.run(async () => {
      if (this.state.phase !== "choosing") {
        return { ok: false, status: 409, code: "CHOICE_NOT_OPEN", message: "Choose after the call ends" };
      }
      const callId = this.call.id;
      const { standing, both } = await this.calls.recordChoice(this.call, userId, choice);
      if (!both) return { ok: true, value: { callId, choice: standing, result: "pending" } };
      const { matchId } = await this.resolve();
      const result = matchId ? "mutual" : "non_mutual";
      return { ok: true, value: { callId, choice: standing, result, ...(matchId ? { matchId } : {}) } };
    });
  }

  private async start() {
    if (this.state.phase !== "connecting") return;
    this.timer?.clear();
    const now = new Date();
    const started = await this.calls.start(this.call, now);
    if (!started.ok) return this.endEarly(started.reason);
    const durationMs = this.calls.timings.durationSec * 1000;
    Object.assign(this.state, { phase: "live", startAt: now.getTime(), endAt: now.getTime() + durationMs });
    // Per client: each learns its own WebRTC role (the same one `matched` gave it).
    for (const [userId, client] of this.present) {
      client.send("session:start", {
        startAt: this.state.startAt,
        endAt: this.state.endAt,
        role: callRole(this.call, userId),
        ...this.agoraFor(userId),
      });
    }
    this.timer = this.clock.setTimeout(() => this.serial.post(() => this.finishTalk("completed")), durationMs);
  }

  /** `{agora}` for session:start when calls run on Agora; a token that cannot be built leaves the call on our relay. */
  private agoraFor(userId: string) {
    try {
      const agora = this.calls.agoraCredentials(this.call, userId);
      return agora ? { agora } : {};
    } catch (err) {
      logger.error({ err, callId: this.call.id }, "agora tokens not built");
      return {};
    }
  }

  private async finishTalk(reason: "completed" | "hung_up") {
    if (this.state.phase !== "live") return;
    this.timer?.clear();
    const now = Date.now();
    const choiceMs = this.calls.timings.choiceTimeoutSec * 1000;
    await this.calls.finishTalk(this.call.id, reason, new Date(now));
    Object.assign(this.state, { phase: "choosing", choiceDeadline: now + choiceMs });
    this.broadcast("session:end", { reason, choiceDeadline: this.state.choiceDeadline });
    // Silence counts as PASS.
    this.timer = this.clock.setTimeout(() => this.serial.post(() => this.resolve()), choiceMs);
  }

  /** Closes the choice once: match:mutual with the new match, or match:non_mutual. */
  private async resolve(): Promise<{ matchId?: string }> {
    if (this.state.phase !== "choosing") return {};
    this.timer?.clear();
    const { matchId } = await this.calls.resolve(this.call.id);
    this.state.phase = "ended";
    if (matchId) this.broadcast("match:mutual", { matchId });
    else this.broadcast("match:non_mutual", {});
    this.closeSoon();
    return { matchId };
  }

  /**
   * Ends before the choice: cancelled, a peer gone, no funds, moderation,
   * shutdown. `refund`: whose fee comes back if the call was cut while live
   * (only fees actually charged are refunded).
   */
  private async endEarly(reason: CallEndReason, refundIfLive: string[] = []) {
    if (this.state.phase === "ended") return;
    const wasChoosing = this.state.phase === "choosing";
    this.timer?.clear();
    this.state.phase = "ended";
    const refund = wasChoosing ? [] : refundIfLive;
    if (wasChoosing) await this.calls.resolve(this.call.id);
    else await this.calls.end(this.call.id, reason, refund);
    this.broadcast(wasChoosing ? "match:non_mutual" : "session:end", { reason });
    this.closeSoon();
  }

  private async moderate(userId: string, action: ModerationAction, reason: string) {
    if (this.state.phase === "ended") return;
    const client = this.present.get(userId);
    client?.send("moderation:action", { action, reason, message: moderationNotice(client, action) });
    // The peer who did nothing wrong gets the fee back when moderation cuts a live call short.
    const innocent = [this.call.userA, this.call.userB].filter((u) => u !== userId);
    if (action !== "warn") await this.endEarly("moderation", innocent);
  }

  private relay(from: Client, type: RelayedType, payload: unknown, limiter: MessageRateLimiter) {
    if (this.state.phase !== "live") return sendError(from, "CALL_NOT_LIVE", "The call is not live");
    if (!limiter.take(from.sessionId)) {
      return sendError(from, "RATE_LIMITED", `Too many ${type} messages`, {
        seconds: limiter.retryAfterSec(from.sessionId),
      });
    }
    const peer = this.otherThan(userOf(from));
    if (!peer) return sendError(from, "PEER_AWAY", "The other peer is reconnecting");
    peer.send(type, payload);
    relayed[type].inc();
  }

  private otherThan(userId: string): Client | undefined {
    for (const [id, client] of this.present) if (id !== userId) return client;
    return undefined;
  }

  /** Lets the last messages reach the peers, then closes the room. */
  private closeSoon() {
    this.clock.setTimeout(() => void this.disconnect(), 100);
  }
}

const userOf = (client: Client) => (client.auth as RoomAuth).userId;

export type CallRole = "offerer" | "answerer";

/**
 * Who creates the WebRTC offer: user A, always, so the role never changes
 * during a call (a reconnecting peer keeps it). The answerer is the polite
 * peer of perfect negotiation.
 */
export function callRole(call: { userA: string }, userId: string): CallRole {
  return userId === call.userA ? "offerer" : "answerer";
}
