import { type AuthContext, type Client, logger, Room } from "@colyseus/core";
import { Counter, Gauge } from "prom-client";
import { z } from "zod";
import { registry } from "../metrics";
import { AppError } from "../services/errors";
import { HISTORY_ON_JOIN, type StreamMessageView, type StreamService } from "../services/streams";
import { CleanText } from "../services/text";
import { inBackground } from "./background";
import { refuseCreate } from "./creation";
import { authenticateRoomClient, idOption, joinCheck, type RoomAuth } from "./auth";
import { sendError, unknownMessage, validated } from "./messages";
import { MessageRateLimiter } from "./rate-limit";
import { StreamState } from "./schema/StreamState";
import { roomServices } from "./services";
import { onRedisDataLoss } from "./reannounce";

const Chat = z.strictObject({ text: CleanText(1, 500) });
const Mute = z.strictObject({ userId: z.uuid(), minutes: z.number().int().min(1).max(1440) });
const Delete = z.strictObject({ id: z.string().regex(/^\d{1,18}$/) });

const CHAT_BATCH_MAX = 200;
const LISTING_INTERVAL_MS = 250;

const tipsPushed = new Counter({
  name: "stream_tips_pushed_total",
  help: "tipReceived messages pushed to stream rooms",
  registers: [registry],
});

/**
 * One live stream (filtered by `streamId`): viewers, persisted chat, and what
 * HTTP does to the stream (update, end, tips) arriving as domain events from
 * any process. Listed in the lobby with its title and viewer count.
 */
export class StreamRoom extends Room<{
  state: StreamState;
  metadata: { streamId: string; title: string; viewerCount: number };
}> {
  state = new StreamState();
  private streams!: StreamService;
  private streamId!: string;
  private ownerId!: string;
  private unsubscribe: Array<() => void> = [];
  private readonly chatLimit = new MessageRateLimiter(5, 1);
  /** Chat waiting for the next INSERT: one batch in flight at a time keeps the order. */
  private pending: Array<{ client: Client; author: RoomAuth; text: string }> = [];
  private writing = false;
  /** The last HISTORY_ON_JOIN messages, oldest first. */
  private recent: StreamMessageView[] = [];
  private listingTimer?: ReturnType<Room["clock"]["setTimeout"]>;
  private stopReannouncing = () => {};

  messages = {
    chat: validated("chat", Chat, async (client, { text }) => {
      // Per user, not per connection: a second tab does not double the allowance.
      const limited = authOf(client).userId;
      if (!this.chatLimit.take(limited)) {
        return sendError(client, "RATE_LIMITED", "Slow down", { seconds: this.chatLimit.retryAfterSec(limited) });
      }
      this.pending.push({ client, author: authOf(client), text });
      if (!this.writing) void this.writePending();
    }),
    mute: validated("mute", Mute, async (client, { userId, minutes }) => {
      const { until } = await this.streams.mute(this.streamId, authOf(client), userId, minutes);
      client.send("muted", { userId, until });
    }),
    delete: validated("delete", Delete, async (client, { id }) => {
      await this.streams.deleteMessage(this.streamId, id, authOf(client));
      this.recent = this.recent.filter((m) => m.id !== id);
      this.broadcast("chatDeleted", { id });
    }),
    "*": unknownMessage,
  };

  static async onAuth(token: string, options: unknown, ctx: AuthContext): Promise<RoomAuth> {
    refuseCreate(ctx, "stream");
    const auth = await authenticateRoomClient(token, options);
    const streamId = idOption(options, "streamId", "INVALID_STREAM");
    await joinCheck(() => roomServices().streams.live(streamId));
    return auth;
  }

  async onCreate(options: { streamId: string }) {
    const { streams, events } = roomServices();
    this.streams = streams;
    const stream = await streams.live(options.streamId);
    this.streamId = stream.id;
    this.ownerId = stream.ownerId;
    Object.assign(this.state, { streamId: stream.id, title: stream.title, status: "live" });
    this.recent = await streams.recent(stream.id);
    await streams.attachRoom(stream.id);
    await this.publishListing();
    liveStreams.set(this.roomId, () => this.clients.length);
    // The viewer count lives in Redis beside the listing: written again if Redis lost its data.
    this.stopReannouncing = onRedisDataLoss(() => this.streams.setViewerCount(this.streamId, this.state.viewerCount));
    this.unsubscribe = await Promise.all([
      events.subscribe("stream.tip", stream.id, ({ fromDisplayName, amount, message }) => {
        tipsPushed.inc();
        this.broadcast("tipReceived", { fromDisplayName, amount, message });
      }),
      events.subscribe("stream.update", stream.id, ({ title, description }) => {
        this.state.title = title;
        inBackground(this.publishListing(), "stream listing update");
        this.broadcast("streamUpdate", { title, description });
      }),
      events.subscribe("stream.ended", stream.id, () => {
        this.state.status = "ended";
        this.broadcast("streamEnded", {});
        // Let the message reach the viewers, then close.
        this.clock.setTimeout(() => void this.disconnect(), 100);
      }),
    ]);
  }

  onJoin(client: Client, _options: unknown, auth: RoomAuth) {
    client.send("history", { messages: this.recent });
    this.broadcast("userJoined", { userId: auth.userId, displayName: auth.displayName }, { except: client });
    this.countViewers();
    if (auth.userId === this.ownerId) inBackground(this.streams.setOwnerPresent(this.streamId, true), "stream owner");
  }

  onLeave(client: Client) {
    const { userId, displayName } = authOf(client);
    this.broadcast("userLeft", { userId, displayName });
    this.countViewers();
    if (userId === this.ownerId && !this.ownerConnected()) {
      inBackground(this.streams.setOwnerPresent(this.streamId, false), "stream owner");
    }
  }

  async onDispose() {
    this.stopReannouncing();
    this.unsubscribe.forEach((stop) => stop());
    liveStreams.delete(this.roomId);
    await this.streams.setViewerCount(this.streamId, 0);
    await this.streams.setOwnerPresent(this.streamId, false);
  }

  /** The owner may have a second connection (another tab) still open. */
  private ownerConnected() {
    return this.clients.some((c) => authOf(c).userId === this.ownerId);
  }

  /**
   * Group commit: stores everything that arrived while the previous batch was
   * being written, in one INSERT, then broadcasts it in stored (id) order.
   */
  private async writePending() {
    this.writing = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, CHAT_BATCH_MAX);
        try {
          const results = await this.streams.postMessages(this.streamId, batch);
          results.forEach((result, i) => {
            if (result instanceof AppError) sendError(batch[i].client, result.code, result.message, result.params);
            else {
              this.remember(result);
              this.broadcast("chatMessage", result);
            }
          });
        } catch (err) {
          logger.error({ err, roomId: this.roomId }, "stream chat write failed");
          for (const { client } of batch) sendError(client, "INTERNAL", "Your message was not sent; try again");
        }
      }
    } finally {
      this.writing = false;
    }
  }

  /** The history a joiner gets, kept here so a join costs no query: this room writes every message. */
  private remember(message: StreamMessageView) {
    this.recent.push(message);
    if (this.recent.length > HISTORY_ON_JOIN) this.recent.shift();
  }

  /**
   * Viewers: every connection but the owner's. The state changes at once; the
   * lobby listing and the count HTTP reads follow at most every 250 ms, so a
   * crowd arriving costs a few writes, not one per join.
   */
  private countViewers() {
    this.state.viewerCount = this.clients.filter((c) => authOf(c).userId !== this.ownerId).length;
    this.listingTimer ??= this.clock.setTimeout(() => {
      this.listingTimer = undefined;
      const count = this.state.viewerCount;
      inBackground(
        Promise.all([this.publishListing(), this.streams.setViewerCount(this.streamId, count)]),
        "stream listing update",
      );
    }, LISTING_INTERVAL_MS);
  }

  /** The lobby's listing; `streamId` stays in it, or filterBy matching breaks. */
  private publishListing() {
    const { streamId, title, viewerCount } = this.state;
    return this.setMetadata({ streamId, title, viewerCount });
  }
}

const authOf = (client: Client) => client.auth as RoomAuth;

/** Stream rooms on this process → their connection count. */
const liveStreams = new Map<string, () => number>();

new Gauge({
  name: "streams_live",
  help: "Live streams whose room runs on this process",
  registers: [registry],
  collect() {
    this.set(liveStreams.size);
  },
});
new Gauge({
  name: "stream_viewers",
  help: "Connections to stream rooms on this process",
  registers: [registry],
  collect() {
    let total = 0;
    for (const count of liveStreams.values()) total += count();
    this.set(total);
  },
});
