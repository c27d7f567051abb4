import { type AuthContext, type Client, Room } from "@colyseus/core";
import { Counter, Gauge } from "prom-client";
import { z } from "zod";
import { registry } from "../metrics";
import { HISTORY_ON_JOIN, type StreamMessageView, type StreamService } from "../services/streams";
import { CleanText } from "../services/text";
import { inBackground } from "./background";
import { refuseCreate } from "./creation";
import { authenticateRoomClient, idOption, joinCheck, type RoomAuth } from "./auth";
import { sendError, unknownMessage, validated } from "./messages";
import { MessageRateLimiter } from "./rate-limit";
import { StreamState } from "./schema/StreamState";
import { roomServices } from "./services";
import { inOneWrite } from "./one-write";
import { onRedisDataLoss } from "./reannounce";
import { StreamChat } from "./stream-chat";
import { ViewerArrivals } from "./viewer-arrivals";

const Chat = z.strictObject({ text: CleanText(1, 500) });
const Mute = z.strictObject({ userId: z.uuid(), minutes: z.number().int().min(1).max(1440) });
const Delete = z.strictObject({ id: z.string().regex(/^\d{1,18}$/) });

/**
 * Joins, leaves and the viewer count (and the listing, and HTTP's count) are
 * announced at most every 250 ms, or 1 ms per connection in a bigger room (at
 * most 2 s): each announcement is a frame to every connection, so a crowd
 * arriving costs about 1,000 frames a second, whatever its size.
 */
const announceIntervalMs = (connections: number) => Math.min(2_000, Math.max(250, connections));

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
  private chat!: StreamChat;
  /** The last HISTORY_ON_JOIN messages, oldest first. */
  private recent: StreamMessageView[] = [];
  private readonly arrivals = new ViewerArrivals((type, message) => this.broadcast(type, message));
  /** Connections other than the owner's, counted as they come and go. */
  private viewers = 0;
  private announceTimer?: ReturnType<Room["clock"]["setTimeout"]>;
  private stopReannouncing = () => {};

  messages = {
    chat: validated("chat", Chat, async (client, { text }) => {
      // Per user, not per connection: a second tab does not double the allowance.
      const limited = authOf(client).userId;
      if (!this.chatLimit.take(limited)) {
        return sendError(client, "RATE_LIMITED", "Slow down", { seconds: this.chatLimit.retryAfterSec(limited) });
      }
      this.chat.accept(client, authOf(client), text);
    }),
    mute: validated("mute", Mute, async (client, { userId, minutes }) => {
      const { until } = await this.streams.mute(this.streamId, authOf(client), userId, minutes);
      client.send("muted", { userId, until });
    }),
    delete: validated("delete", Delete, async (client, { id }) => {
      // The message may be shown but not stored yet.
      await this.chat.settled();
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
    // A live room on this process answers for its stream (it hears `stream.ended`): no query per join.
    if (localRooms.get(streamId)?.state.status !== "live") await joinCheck(() => roomServices().streams.live(streamId));
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
    this.chat = new StreamChat(
      {
        roomId: this.roomId,
        broadcast: (type, message) => this.broadcast(type, message),
        inOneWrite: (send) => inOneWrite(this.clients, send),
        shown: (message) => this.remember(message),
        withdrawn: (ids) => (this.recent = this.recent.filter((m) => !ids.has(m.id))),
      },
      streams,
      stream.id,
    );
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
    localRooms.set(stream.id, this);
  }

  onJoin(client: Client, _options: unknown, auth: RoomAuth) {
    client.send("history", { messages: this.recent });
    this.arrivals.join(client.sessionId, auth);
    if (auth.userId !== this.ownerId) this.viewers++;
    this.announceSoon();
    if (auth.userId === this.ownerId) inBackground(this.streams.setOwnerPresent(this.streamId, true), "stream owner");
  }

  onLeave(client: Client) {
    const auth = authOf(client);
    const { userId } = auth;
    this.arrivals.leave(client.sessionId, auth);
    if (userId !== this.ownerId) this.viewers--;
    this.announceSoon();
    if (userId === this.ownerId && !this.ownerConnected()) {
      inBackground(this.streams.setOwnerPresent(this.streamId, false), "stream owner");
    }
  }

  async onDispose() {
    this.stopReannouncing();
    this.unsubscribe.forEach((stop) => stop());
    liveStreams.delete(this.roomId);
    if (localRooms.get(this.streamId) === this) localRooms.delete(this.streamId);
    // What viewers saw is stored (or withdrawn) before the room goes.
    await this.chat?.settled();
    await this.streams.setViewerCount(this.streamId, 0);
    await this.streams.setOwnerPresent(this.streamId, false);
  }

  /** The owner may have a second connection (another tab) still open. */
  private ownerConnected() {
    return this.clients.some((c) => authOf(c).userId === this.ownerId);
  }

  /** The history a joiner gets, kept here so a join costs no query: this room writes every message. */
  private remember(message: StreamMessageView) {
    this.recent.push(message);
    if (this.recent.length > HISTORY_ON_JOIN) this.recent.shift();
  }

  /**
   * Joins, leaves and the viewer count (every connection but the owner's) go
   * out together, once per announcement window: a crowd arriving costs a few
   * broadcasts, patches and listing writes, not some per join.
   */
  private announceSoon() {
    this.announceTimer ??= this.clock.setTimeout(() => {
      this.announceTimer = undefined;
      inOneWrite(this.clients, () => this.arrivals.flush());
      const count = this.viewers;
      this.state.viewerCount = count;
      inBackground(
        Promise.all([this.publishListing(), this.streams.setViewerCount(this.streamId, count)]),
        "stream listing update",
      );
    }, announceIntervalMs(this.clients.length));
  }

  /** The lobby's listing; `streamId` stays in it, or filterBy matching breaks. */
  private publishListing() {
    const { streamId, title, viewerCount } = this.state;
    return this.setMetadata({ streamId, title, viewerCount });
  }
}

const authOf = (client: Client) => client.auth as RoomAuth;

/** The live stream rooms of this process, by stream id: they answer joins' "is it live?". */
const localRooms = new Map<string, StreamRoom>();

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
