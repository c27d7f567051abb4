import type { Presence } from "@colyseus/core";
import type { Logger } from "pino";
import type { MessageRef } from "./i18n-messages";

/** Events one domain raises for others (and for rooms), delivered on every process. */
export interface DomainEventMap {
  /** To the stream's room: a viewer tipped the streamer. */
  "stream.tip": { streamId: string; fromUserId: string; fromDisplayName: string; amount: number; message?: string };
  /** To the recipient's sessions: someone tipped them. */
  "user.tip": {
    toUserId: string;
    fromUserId: string;
    fromDisplayName: string;
    amount: number;
    message?: string;
    streamId?: string;
  };
  /** To the stream's room: the owner changed its title or description. */
  "stream.update": { streamId: string; title: string; description: string | null };
  /** To the stream's room: the stream ended (DELETE); the room says so and closes. */
  "stream.ended": { streamId: string };
  /** To every process (scope "all"): a moderator or the AI acted on `userId`; each process tells its call rooms of that user. */
  "user.moderation": { userId: string; action: ModerationAction; reason: string; callId?: string };
  /** To the match's chat room: a message was posted (through HTTP or the room). */
  "match.message": { id: string; matchId: string; fromUserId: string; text: string; createdAt: string };
  /** To the board's leaderboard rooms: a write changed a record (periodStart null on boards without resets). */
  "leaderboard.changed": { boardId: string; periodStart: string | null; userId: string };
  /** To every process (scope "all"): the board was deleted; in-process rank indexes drop it. */
  "leaderboard.deleted": { boardId: string };
  /** To the rooms a play session feeds (whack): the session ended (stopped, expired, insufficient_funds). */
  "play.ended": { sessionId: string; userId: string; reason: string };
  /**
   * To every process (scope "all"): a message for one user's open rooms, whatever they are
   * (`badge:awarded`). Each process hands it to its own clients of that user.
   */
  "user.notice": {
    userId: string;
    type: string;
    message: Record<string, unknown>;
    /** Fields of `message` given as messages: each client gets them in its own language (`{name: {key, fallback}}`). */
    texts?: Record<string, MessageRef>;
  };
  /** To every process (scope "all"): languages or translations changed; each reloads its copy. */
  "i18n.changed": Record<string, never>;
}

/** warn: a notice; end_call: the live call ends (AI violation); ban: the call ends and the queue refuses them. */
export type ModerationAction = "warn" | "end_call" | "ban";

export type DomainEventName = keyof DomainEventMap;

/**
 * Domain events over Colyseus presence pub/sub: Redis across processes in
 * cluster mode, in-process otherwise. Topics are scoped by entity
 * (`stream.tip:<streamId>`), so a room subscribes only to its own.
 */
export class DomainEvents {
  constructor(
    private readonly presence: Presence,
    private readonly logger: Pick<Logger, "error">,
  ) {}

  static topic<E extends DomainEventName>(event: E, scope: string): string {
    return `arcadia:${event}:${scope}`;
  }

  async publish<E extends DomainEventName>(event: E, scope: string, payload: DomainEventMap[E]): Promise<void> {
    await this.presence.publish(DomainEvents.topic(event, scope), payload);
  }

  /**
   * Returns the unsubscribe function. The handler runs inside presence's
   * message dispatch (Redis client events in cluster mode), where a throw or
   * rejection would become an uncaught exception and end the process: both are
   * caught and logged here instead.
   */
  async subscribe<E extends DomainEventName>(
    event: E,
    scope: string,
    handler: (payload: DomainEventMap[E]) => unknown,
  ): Promise<() => void> {
    const topic = DomainEvents.topic(event, scope);
    const report = (err: unknown) => this.logger.error({ err, event, scope }, "domain event handler failed");
    const guarded = (payload: DomainEventMap[E]) => {
      try {
        const result = handler(payload);
        if (result instanceof Promise) result.catch(report);
      } catch (err) {
        report(err);
      }
    };
    await this.presence.subscribe(topic, guarded);
    return () => this.presence.unsubscribe(topic, guarded);
  }
}
