import { type Client, logger } from "@colyseus/core";
import { Counter } from "prom-client";
import { registry } from "../metrics";
import type { AppError } from "../services/errors";
import type { StreamMessageView, StreamService } from "../services/streams";
import type { RoomAuth } from "./auth";
import { sendError } from "./messages";

/** Messages handled per step: one mute lookup round and one INSERT at most. */
const BATCH_MAX = 200;
/** Ids reserved per database round trip, and the stock below which the next block is fetched ahead. */
const ID_BLOCK = 128;
const ID_LOW = 32;
/** Shown but not stored yet, past which new chat is refused (the database is down or slow): memory stays bounded. */
const MAX_UNWRITTEN = 2_000;
/**
 * INSERTs start at most this often: under a chat burst each one carries what
 * arrived meanwhile (at most 20 a second, whatever the rate), while a lone
 * message is stored at once. Embedded, the INSERT runs on this process's CPU.
 */
const WRITE_SPACING_MS = 50;

const chatWithdrawn = new Counter({
  name: "stream_chat_withdrawn_total",
  help: "Stream chat messages broadcast, then withdrawn (chatDeleted) because they could not be stored",
  registers: [registry],
});

/** What the chat needs from its room. */
export interface ChatRoom {
  broadcast(type: string, message: unknown): void;
  /** Runs `send`, whose broadcasts reach each client in one write. */
  inOneWrite(send: () => void): void;
  /** Called once per message shown, in order (the room keeps the join history). */
  shown(message: StreamMessageView): void;
  /** Called when messages already shown are taken back. */
  withdrawn(ids: Set<string>): void;
  roomId: string;
}

interface Incoming {
  client: Client;
  author: RoomAuth;
  text: string;
}

/**
 * A stream's chat, broadcast first and stored just after (write-behind):
 * viewers wait for one mute lookup, not for an INSERT. Each message gets its
 * id (from the table's sequence, reserved in blocks) and its time here, so
 * what viewers saw is what is stored. Stores are batched (one INSERT in
 * flight, group commit) and retried; a batch that still fails is withdrawn:
 * everyone gets `chatDeleted {id}` and each author `error {code:
 * "CHAT_NOT_SAVED", params: {id}}`. An accepted message is therefore stored,
 * or visibly taken back; only a process crash inside the write window (one
 * INSERT, milliseconds) loses messages without a word.
 */
export class StreamChat {
  /** Waits between store attempts; the message is withdrawn after the last one fails. */
  retryDelaysMs = [250, 1_000, 3_000];
  private incoming: Incoming[] = [];
  private releasing?: Promise<void>;
  private ids: string[] = [];
  private refilling?: Promise<void>;
  private unwritten: Array<{ message: StreamMessageView; client: Client }> = [];
  private writing?: Promise<void>;
  private lastWriteAt = -Infinity;

  constructor(
    private readonly room: ChatRoom,
    private readonly streams: StreamService,
    private readonly streamId: string,
  ) {}

  /** A chat that passed validation and the rate limit. */
  accept(client: Client, author: RoomAuth, text: string): void {
    if (this.unwritten.length >= MAX_UNWRITTEN) {
      return sendError(client, "UNAVAILABLE", "A backing service is unavailable; try again shortly");
    }
    this.incoming.push({ client, author, text });
    this.releasing ??= this.release()
      .catch((err) => logger.error({ err, roomId: this.room.roomId }, "stream chat release failed"))
      .finally(() => (this.releasing = undefined));
  }

  /** Resolves once everything accepted so far is stored or withdrawn. */
  async settled(): Promise<void> {
    while (this.releasing || this.writing) await Promise.all([this.releasing, this.writing]);
  }

  /** Broadcasts what arrived, in arrival order (one batch, one mute lookup round, at a time). */
  private async release() {
    while (this.incoming.length) {
      const batch = this.incoming.splice(0, BATCH_MAX);
      let refusals: Array<AppError | null>;
      try {
        refusals = await this.streams.muteRefusals(
          this.streamId,
          batch.map((m) => m.author.userId),
        );
        await this.reserve(batch.length - refusals.filter(Boolean).length);
      } catch (err) {
        logger.error({ err, roomId: this.room.roomId }, "stream chat not released");
        for (const { client } of batch) sendError(client, "INTERNAL", "Your message was not sent; try again");
        continue;
      }
      // What arrived while the previous batch was handled goes out together: a write per viewer, not per message.
      this.room.inOneWrite(() =>
        batch.forEach(({ client, author, text }, i) => {
          const refusal = refusals[i];
          if (refusal) return sendError(client, refusal.code, refusal.message, refusal.params);
          const message: StreamMessageView = {
            id: this.ids.shift()!,
            userId: author.userId,
            displayName: author.displayName,
            text,
            createdAt: new Date().toISOString(),
          };
          this.room.shown(message);
          this.room.broadcast("chatMessage", message);
          this.unwritten.push({ message, client });
        }),
      );
      this.writing ??= this.write()
        .catch((err) => logger.error({ err, roomId: this.room.roomId }, "stream chat write failed"))
        .finally(() => (this.writing = undefined));
    }
  }

  /** At least `needed` ids in stock; the next block is fetched ahead when the stock runs low. */
  private async reserve(needed: number) {
    while (this.ids.length < needed) await this.refill(Math.max(ID_BLOCK, needed - this.ids.length));
    if (this.ids.length < ID_LOW && !this.refilling) {
      this.refill(ID_BLOCK).catch((err) => logger.warn({ err, roomId: this.room.roomId }, "chat ids not reserved"));
    }
  }

  private refill(count: number): Promise<void> {
    this.refilling ??= this.streams
      .reserveMessageIds(count)
      .then((ids) => {
        // Blocks come from one sequence, so a later block has higher ids: the stock stays sorted.
        this.ids.push(...ids);
      })
      .finally(() => (this.refilling = undefined));
    return this.refilling;
  }

  /** Stores what was shown, one INSERT in flight; retried, then withdrawn. */
  private async write() {
    while (this.unwritten.length) {
      const wait = this.lastWriteAt + WRITE_SPACING_MS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastWriteAt = performance.now();
      const batch = this.unwritten.slice(0, BATCH_MAX);
      const stored = await this.store(batch.map((b) => b.message));
      this.unwritten.splice(0, batch.length);
      if (!stored) this.withdraw(batch);
    }
  }

  private async store(messages: StreamMessageView[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.streams.storeMessages(this.streamId, messages);
        return true;
      } catch (err) {
        const last = attempt >= this.retryDelaysMs.length;
        logger.error(
          { err, roomId: this.room.roomId, messages: messages.length, attempt, last },
          "stream chat store failed",
        );
        if (last) return false;
        await new Promise((resolve) => setTimeout(resolve, this.retryDelaysMs[attempt]));
      }
    }
  }

  private withdraw(batch: Array<{ message: StreamMessageView; client: Client }>) {
    chatWithdrawn.inc(batch.length);
    this.room.withdrawn(new Set(batch.map((b) => b.message.id)));
    for (const { message, client } of batch) {
      this.room.broadcast("chatDeleted", { id: message.id });
      try {
        sendError(client, "CHAT_NOT_SAVED", "Your message could not be saved and was taken back", { id: message.id });
      } catch (err) {
        logger.warn({ err, roomId: this.room.roomId }, "chat author not told of a withdrawn message");
      }
    }
  }
}
