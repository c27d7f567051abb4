import type { Presence } from "@colyseus/core";
import { Counter } from "prom-client";
import type { DataSource } from "typeorm";
import { type Role, Stream, StreamMessage } from "../entities";
import { registry } from "../metrics";
import { AppError, conflict, forbidden, isUniqueViolation, notFound } from "./errors";
import type { DomainLog } from "./domain-log";
import type { DomainEvents } from "./events";
import type { ProcessLeases } from "./process-leases";

export interface StreamView {
  id: string;
  ownerId: string;
  title: string;
  description: string | null;
  status: "live" | "ended";
  viewerCount: number;
  createdAt: string;
  endedAt: string | null;
}

export interface StreamMessageView {
  id: string;
  userId: string;
  displayName: string;
  text: string;
  createdAt: string;
}

/** Who acts: the owner, or an admin, may change a stream; moderators and admins may delete chat. */
export interface Actor {
  userId: string;
  role: Role;
  displayName: string;
}

/** Chat shown on join. */
export const HISTORY_ON_JOIN = 50;
const MAX_MUTE_MINUTES = 24 * 60;

const chatMessages = new Counter({
  name: "stream_chat_messages_total",
  help: "Chat messages posted in streams",
  registers: [registry],
});

/**
 * Livestreams and their chat. Each live stream's realtime side is one `stream`
 * room; HTTP changes reach it as domain events over presence (any process).
 * Viewer counts live in presence, written by the room, so listings on any
 * process see them. Mutes live in presence with their own expiry.
 */
export class StreamService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: DomainEvents,
    private readonly presence: Presence,
    private readonly keyPrefix: string,
    private readonly leases: ProcessLeases,
    /** A live stream whose owner has been away this long ends. */
    private readonly ownerGraceSec: number,
    private readonly domainLog?: DomainLog,
  ) {}

  async create(owner: Actor, input: { title: string; description?: string }): Promise<StreamView> {
    try {
      const stream = await this.dataSource.transaction(async (m) => {
        const row = await m.save(
          m.create(Stream, { ownerId: owner.userId, title: input.title, description: input.description ?? null }),
        );
        await this.domainLog?.record(
          m,
          "stream_started",
          { streamId: row.id, ownerId: owner.userId },
          { userId: owner.userId },
        );
        return row;
      });
      return this.view(stream);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict("STREAM_ALREADY_LIVE", "End your live stream before starting another");
      throw err;
    }
  }

  /** Live streams, newest first; `before` is the `nextCursor` of the previous page. */
  async listLive(options: { before?: string; limit: number }) {
    const rows = await this.dataSource
      .getRepository(Stream)
      .createQueryBuilder("s")
      .where("s.status = 'live'")
      .andWhere(options.before ? "s.createdAt < :before" : "TRUE", { before: options.before })
      .orderBy("s.createdAt", "DESC")
      .limit(options.limit + 1)
      .getMany();
    const page = rows.slice(0, options.limit);
    const streams = await Promise.all(page.map((s) => this.view(s)));
    const nextCursor = rows.length > options.limit ? page[page.length - 1].createdAt.toISOString() : null;
    return { streams, nextCursor };
  }

  async get(streamId: string): Promise<StreamView> {
    return this.view(await this.load(streamId));
  }

  /** The stream, if it is live: what a viewer may join (404 unknown, 410 ended). */
  async live(streamId: string): Promise<Stream> {
    const stream = await this.load(streamId);
    if (stream.status !== "live") throw new AppError(410, "STREAM_ENDED", "This stream has ended");
    return stream;
  }

  async update(streamId: string, actor: Actor, input: { title?: string; description?: string | null }) {
    const stream = await this.owned(streamId, actor);
    if (stream.status !== "live") throw new AppError(410, "STREAM_ENDED", "This stream has ended");
    Object.assign(stream, {
      ...(input.title !== undefined && { title: input.title }),
      ...(input.description !== undefined && { description: input.description }),
    });
    await this.dataSource
      .getRepository(Stream)
      .update({ id: streamId }, { title: stream.title, description: stream.description });
    await this.events.publish("stream.update", streamId, {
      streamId,
      title: stream.title,
      description: stream.description,
    });
    return this.view(stream);
  }

  /** Ends the stream (idempotent); its room tells the viewers and closes. */
  async end(streamId: string, actor: Actor): Promise<void> {
    const stream = await this.owned(streamId, actor);
    if (stream.status === "ended") return;
    await this.dataSource
      .getRepository(Stream)
      .update({ id: streamId, status: "live" }, { status: "ended", endedAt: new Date() });
    await this.announceEnded(streamId);
  }

  // ---- room side: which process hosts it, whether the owner is there -------

  /** The stream's room runs on this process now. */
  async attachRoom(streamId: string): Promise<void> {
    await this.dataSource.getRepository(Stream).update({ id: streamId }, { processId: this.leases.processId });
  }

  /** The owner joined (present) or left the room (the grace starts); kept as it was if unchanged. */
  async setOwnerPresent(streamId: string, present: boolean): Promise<void> {
    await this.dataSource.query(
      `UPDATE streams SET owner_left_at = CASE WHEN $2 THEN NULL ELSE coalesce(owner_left_at, now()) END WHERE id = $1`,
      [streamId, present],
    );
  }

  // ---- sweep ------------------------------------------------------------------

  /** Processes hosting the rooms of live streams. */
  async openProcessIds(): Promise<string[]> {
    const rows: Array<{ process_id: string }> = await this.dataSource.query(
      `SELECT DISTINCT process_id FROM streams WHERE status = 'live' AND process_id IS NOT NULL`,
    );
    return rows.map((r) => r.process_id);
  }

  /**
   * What dead processes left: a stream whose room died has no owner connected
   * (the grace starts now) and no viewers (its count goes); a live stream whose
   * owner has been away longer than the grace ends, as if the owner ended it.
   * Answers how many streams ended.
   */
  async sweep(deadProcessIds: string[]): Promise<number> {
    await this.dataSource.query(
      `UPDATE streams SET owner_left_at = now() WHERE status = 'live' AND owner_left_at IS NULL
         AND (process_id IS NULL OR process_id = ANY($1::varchar[]))`,
      [deadProcessIds],
    );
    await this.dropStaleViewerCounts(deadProcessIds);
    const [ended]: [Array<{ id: string }>] = await this.dataSource.query(
      `UPDATE streams SET status = 'ended', ended_at = now()
       WHERE status = 'live' AND owner_left_at < now() - make_interval(secs => $1) RETURNING id`,
      [this.ownerGraceSec],
    );
    for (const { id } of ended) await this.announceEnded(id);
    return ended.length;
  }

  /** Counts left by rooms that died, or by streams that ended meanwhile. */
  private async dropStaleViewerCounts(deadProcessIds: string[]) {
    const streamIds = Object.keys((await this.presence.hgetall(this.viewersKey())) ?? {});
    if (!streamIds.length) return;
    const kept: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM streams WHERE id = ANY($1::uuid[]) AND status = 'live'
         AND process_id IS NOT NULL AND NOT (process_id = ANY($2::varchar[]))`,
      [streamIds, deadProcessIds],
    );
    const keep = new Set(kept.map((r) => r.id));
    await Promise.all(streamIds.filter((id) => !keep.has(id)).map((id) => this.presence.hdel(this.viewersKey(), id)));
  }

  /** Tells the stream's room (any process): it informs the viewers and closes. */
  private async announceEnded(streamId: string) {
    await this.presence.hdel(this.viewersKey(), streamId);
    await this.events.publish("stream.ended", streamId, { streamId });
  }

  // ---- chat: called by the stream room, and the history by HTTP ------------

  /**
   * Ids for chat messages not stored yet, from the table's own sequence: the
   * room gives a message its id when it broadcasts it and stores it just after
   * (write-behind), so ids still follow the order viewers saw.
   */
  async reserveMessageIds(count: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT nextval(pg_get_serial_sequence('stream_messages', 'id'))::text AS id FROM generate_series(1, $1)`,
      [count],
    );
    return rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
  }

  /**
   * Stores messages already shown (ids from reserveMessageIds) in one INSERT.
   * Idempotent: a retry after a lost reply stores nothing twice.
   */
  async storeMessages(streamId: string, messages: StreamMessageView[]): Promise<void> {
    if (!messages.length) return;
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO stream_messages (id, stream_id, user_id, display_name, text, created_at) OVERRIDING SYSTEM VALUE
       SELECT m.id, $1, m.user_id, m.display_name, m.text, m.created_at
       FROM unnest($2::bigint[], $3::uuid[], $4::varchar[], $5::varchar[], $6::timestamptz[])
         AS m(id, user_id, display_name, text, created_at)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        streamId,
        messages.map((m) => m.id),
        messages.map((m) => m.userId),
        messages.map((m) => m.displayName),
        messages.map((m) => m.text),
        messages.map((m) => m.createdAt),
      ],
    );
    chatMessages.inc(rows.length);
  }

  /** For each author, whether a mute stops them posting now (the refusal), else null. */
  async muteRefusals(streamId: string, userIds: string[]): Promise<Array<AppError | null>> {
    const mutes = await Promise.all(userIds.map((userId) => this.mutedUntil(streamId, userId)));
    return mutes.map((until) => (until ? mutedUntil(new Date(until).toISOString()) : null));
  }

  /** Newest first; `before` is the id of the oldest message already seen. Deleted ones stay out. */
  async messages(streamId: string, options: { before?: string; limit: number }) {
    await this.load(streamId);
    const rows = await this.dataSource
      .getRepository(StreamMessage)
      .createQueryBuilder("m")
      .where("m.streamId = :streamId AND m.deletedAt IS NULL", { streamId })
      .andWhere(options.before ? "m.id < :before" : "TRUE", { before: options.before })
      .orderBy("m.id", "DESC")
      .limit(options.limit + 1)
      .getMany();
    const messages = rows.slice(0, options.limit).map(toMessageView);
    const nextCursor = rows.length > options.limit ? messages[messages.length - 1].id : null;
    return { messages, nextCursor };
  }

  /** The last messages, oldest first: what a viewer sees on joining. */
  async recent(streamId: string): Promise<StreamMessageView[]> {
    const { messages } = await this.messages(streamId, { limit: HISTORY_ON_JOIN });
    return messages.reverse();
  }

  /** Moderators and admins; the row stays, marked deleted. */
  async deleteMessage(streamId: string, messageId: string, actor: Actor): Promise<void> {
    if (actor.role !== "moderator" && actor.role !== "admin") {
      throw forbidden("Only moderators delete chat messages");
    }
    const result = await this.dataSource
      .getRepository(StreamMessage)
      .update({ id: messageId, streamId }, { deletedAt: new Date(), deletedBy: actor.userId });
    if (!result.affected) throw notFound("No such message in this stream", "MESSAGE_NOT_FOUND");
  }

  /** The owner mutes a viewer in the chat for `minutes` (1 to a day); expires by itself. */
  async mute(streamId: string, actor: Actor, userId: string, minutes: number): Promise<{ until: string }> {
    const stream = await this.load(streamId);
    if (stream.ownerId !== actor.userId) throw forbidden("Only the stream's owner mutes viewers");
    if (userId === actor.userId) throw new AppError(400, "SELF_MUTE", "You cannot mute yourself");
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_MUTE_MINUTES) {
      throw new AppError(
        400,
        "INVALID_DURATION",
        `minutes must be a whole number from 1 to ${MAX_MUTE_MINUTES}`,
      ).withParams({ field: "minutes", max: MAX_MUTE_MINUTES });
    }
    const until = Date.now() + minutes * 60_000;
    await this.presence.setex(this.muteKey(streamId, userId), String(until), minutes * 60);
    return { until: new Date(until).toISOString() };
  }

  async mutedUntil(streamId: string, userId: string): Promise<number | null> {
    const until = Number(await this.presence.get(this.muteKey(streamId, userId)));
    return until > Date.now() ? until : null;
  }

  /** Written by the stream's room on every join and leave. */
  async setViewerCount(streamId: string, count: number): Promise<void> {
    if (count > 0) await this.presence.hset(this.viewersKey(), streamId, String(count));
    else await this.presence.hdel(this.viewersKey(), streamId);
  }

  private async viewerCount(streamId: string): Promise<number> {
    return Number((await this.presence.hget(this.viewersKey(), streamId)) ?? 0);
  }

  private async load(streamId: string): Promise<Stream> {
    const stream = await this.dataSource.getRepository(Stream).findOne({ where: { id: streamId } });
    if (!stream) throw notFound("No such stream", "STREAM_NOT_FOUND");
    return stream;
  }

  private async owned(streamId: string, actor: Actor): Promise<Stream> {
    const stream = await this.load(streamId);
    if (stream.ownerId !== actor.userId && actor.role !== "admin") {
      throw forbidden("Only the stream's owner or an admin may do this");
    }
    return stream;
  }

  private async view(s: Stream): Promise<StreamView> {
    return {
      id: s.id,
      ownerId: s.ownerId,
      title: s.title,
      description: s.description,
      status: s.status,
      viewerCount: s.status === "live" ? await this.viewerCount(s.id) : 0,
      createdAt: s.createdAt.toISOString(),
      endedAt: s.endedAt?.toISOString() ?? null,
    };
  }

  private muteKey(streamId: string, userId: string) {
    return `${this.keyPrefix}stream-mute:${streamId}:${userId}`;
  }

  private viewersKey() {
    return `${this.keyPrefix}stream-viewers`;
  }
}

function toMessageView(m: StreamMessage): StreamMessageView {
  return {
    id: String(m.id),
    userId: m.userId,
    displayName: m.displayName,
    text: m.text,
    createdAt: m.createdAt.toISOString(),
  };
}

const mutedUntil = (until: string) =>
  forbidden(`You are muted in this chat until ${until}`, "MUTED").withParams({ until });
