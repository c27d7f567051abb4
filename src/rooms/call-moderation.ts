import { logger } from "@colyseus/core";
import type { DomainEventMap, DomainEvents } from "../services/events";

type ModerationEvent = DomainEventMap["user.moderation"];
type Handler = (event: ModerationEvent) => void;

/** Per process (per DomainEvents: one per app): userId → the handlers of this process's call rooms for that user. */
const handlersByEvents = new WeakMap<DomainEvents, Map<string, Set<Handler>>>();

function handlersOf(events: DomainEvents): Map<string, Set<Handler>> {
  let handlers = handlersByEvents.get(events);
  if (!handlers) handlersByEvents.set(events, (handlers = new Map()));
  return handlers;
}

/**
 * One `user.moderation` subscription per process, handing each verdict to
 * this process's call rooms of that user, instead of a presence subscription
 * (a Redis SUBSCRIBE and UNSUBSCRIBE, awaited by the room's creation) per
 * participant of every call. Verdicts are rare; calls are not. Returns the unsubscribe.
 */
export function listenForCallModeration(events: DomainEvents): Promise<() => void> {
  const handlers = handlersOf(events);
  return events.subscribe("user.moderation", "all", (event) => {
    for (const handler of handlers.get(event.userId) ?? []) {
      try {
        handler(event);
      } catch (err) {
        logger.error({ err, userId: event.userId }, "call moderation handler failed");
      }
    }
  });
}

/** Calls `handler` with every verdict about `userId` until the returned function is called. */
export function watchUserModeration(events: DomainEvents, userId: string, handler: Handler): () => void {
  const handlers = handlersOf(events);
  let forUser = handlers.get(userId);
  if (!forUser) handlers.set(userId, (forUser = new Set()));
  forUser.add(handler);
  return () => {
    forUser.delete(handler);
    if (!forUser.size && handlers.get(userId) === forUser) handlers.delete(userId);
  };
}
