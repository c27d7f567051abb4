import { logger, type Room } from "@colyseus/core";
import type { DomainEvents } from "../services/events";
import type { MessageRef } from "../services/i18n-messages";
import type { RoomAuth } from "./auth";
import { clientText } from "./messages";

/** The rooms this process hosts (guardRoom adds each one and drops it when it is disposed). */
const liveRooms = new Set<Room>();

export function trackRoom(room: Room): void {
  liveRooms.add(room);
  (room as unknown as { _events: NodeJS.EventEmitter })._events.once("disconnect", () => liveRooms.delete(room));
}

/**
 * Hands a notice to every client of `userId` in this process's rooms; returns how many got it.
 * A scan over the local clients, not a subscription per join: notices are rare (badges) and
 * joins are not, so joins pay nothing.
 */
export function deliverUserNotice(
  userId: string,
  type: string,
  message: unknown,
  texts?: Record<string, MessageRef>,
): number {
  let delivered = 0;
  for (const room of liveRooms) {
    for (const client of room.clients) {
      if ((client.auth as RoomAuth | undefined)?.userId !== userId) continue;
      try {
        client.send(type, texts ? { ...(message as object), ...translated(client, texts) } : message);
        delivered++;
      } catch (err) {
        logger.warn({ err, roomId: room.roomId }, "user notice not sent to a client");
      }
    }
  }
  return delivered;
}

/** One subscription per process: every process delivers to its own clients. Returns the unsubscribe. */
export function listenForUserNotices(events: DomainEvents): Promise<() => void> {
  return events.subscribe("user.notice", "all", ({ userId, type, message, texts }) => {
    deliverUserNotice(userId, type, message, texts);
  });
}

/** Each field's message in the client's language (join option `lang`, else the user's locale). */
function translated(client: Parameters<typeof clientText>[0], texts: Record<string, MessageRef>) {
  return Object.fromEntries(
    Object.entries(texts).map(([field, ref]) => [field, clientText(client, ref.key, ref.params, ref.fallback)]),
  );
}
