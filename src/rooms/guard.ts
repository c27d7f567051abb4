import {
  type Client,
  CloseCode,
  logger,
  OnMessageException,
  type Room,
  type RoomException,
  type RoomMethodName,
  ServerError,
} from "@colyseus/core";
import { AppError } from "../services/errors";
import { errorReply, sendError, unknownMessage } from "./messages";
import { roomSettings } from "./services";
import { trackRoom } from "./user-notices";

/**
 * The per-connection ceiling of every room unless it sets its own: far above
 * legitimate use (per-type limits answer RATE_LIMITED well before), so only a
 * flood reaches it. Colyseus then closes the connection with 4002.
 */
export const DEFAULT_MESSAGES_PER_SECOND = 50;

type RoomClass = abstract new (...args: any[]) => Room<any>;

/**
 * The one guard every room goes through (`defineRoom(guardRoom(MyRoom))`):
 * - `onUncaughtException`: Colyseus then wraps message handlers, clock timers
 *   and lifecycle hooks in try/catch, so nothing they throw or reject reaches
 *   the process (an uncaught exception triggers the graceful shutdown). A
 *   failed message is answered `error {code: UNAVAILABLE|INTERNAL|<AppError>}`.
 * - a `"*"` handler (unless the room has one): an unknown type gets
 *   `error {code:"UNKNOWN_MESSAGE"}` instead of Colyseus closing the socket.
 * - `maxMessagesPerSecond`, unless the room sets its own, and the seat
 *   reservation time (ROOM_SEAT_RESERVATION_SEC).
 * - tracking: the room is listed for user notices (`badge:awarded`) until it is disposed.
 * - frame decoding: a malformed frame that makes Colyseus's decoder throw
 *   closes that connection instead of escaping the socket's data event.
 */
export function guardRoom<C extends RoomClass>(Base: C): C {
  abstract class Guarded extends Base {
    constructor(...args: any[]) {
      super(...args);
      trackRoom(this);
      if (this.maxMessagesPerSecond === Infinity) this.maxMessagesPerSecond = DEFAULT_MESSAGES_PER_SECOND;
      // Before Colyseus arms the first auto-dispose timer with it: an unjoined room is gone after this.
      this.seatReservationTimeout = roomSettings().seatReservationSec;
      const messages = (this as { messages?: Record<string, unknown> }).messages;
      if (!messages?.["*"]) (this as { messages?: unknown }).messages = { ...messages, "*": unknownMessage };
      // Colyseus's private frame dispatcher (bound per client at join), wrapped so it cannot throw into `ws`.
      const self = this as unknown as { _onMessage: (client: Client, buffer: Buffer) => void };
      const dispatch = self._onMessage;
      self._onMessage = (client, buffer) => {
        try {
          dispatch.call(this, client, buffer);
        } catch (err) {
          logger.warn(
            { err, room: this.roomName, roomId: this.roomId },
            "undecodable room frame; closing the connection",
          );
          client.leave(CloseCode.WITH_ERROR);
        }
      };
    }

    onUncaughtException(error: RoomException, method: RoomMethodName) {
      const cause = error.cause ?? error;
      if (error instanceof OnMessageException) {
        const type = truncate(String(error.type), 64);
        if (!(cause instanceof AppError))
          logger.error({ err: cause, room: this.roomName, method, type }, "room message failed");
        const client = error.client as Client | undefined;
        const { code, message, params } = errorReply(cause);
        if (client) sendError(client, code, message, params);
        return;
      }
      // Join refusals (ServerError, AppError) are answers, not failures.
      if (cause instanceof ServerError || cause instanceof AppError) return;
      logger.error({ err: cause, room: this.roomName, roomId: this.roomId, method }, "room hook failed");
    }
  }
  Object.defineProperty(Guarded, "name", { value: Base.name });
  return Guarded;
}

export const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);
