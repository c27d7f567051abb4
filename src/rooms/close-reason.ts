import { logger } from "@colyseus/core";
import { WebSocketClient } from "@colyseus/ws-transport";

/** RFC 6455: a close frame's reason is at most 123 bytes of UTF-8. */
const MAX_CLOSE_REASON_BYTES = 123;

/** Cuts `reason` to at most `max` UTF-8 bytes without splitting a character. */
export function closeReason(reason: string | undefined, max = MAX_CLOSE_REASON_BYTES): string | undefined {
  if (reason === undefined || Buffer.byteLength(reason) <= max) return reason;
  let cut = "";
  for (const char of reason) {
    if (Buffer.byteLength(cut + char) > max) break;
    cut += char;
  }
  return cut;
}

let installed = false;

/**
 * Colyseus closes clients with reasons it builds from client input (e.g. the
 * message type in "room onMessage for <type> not registered"); `ws` throws a
 * RangeError on a reason over 123 bytes (or an invalid code), and that throw
 * escapes into the socket's event handlers and ends the process. Colyseus's
 * own code paths call `leave`, so the guard sits here, once, at the transport:
 * the reason is truncated, and a close that still fails terminates the socket.
 */
export function guardCloseReasons(): void {
  if (installed) return;
  installed = true;
  const leave = WebSocketClient.prototype.leave;
  WebSocketClient.prototype.leave = function (this: WebSocketClient, code?: number, reason?: string) {
    try {
      leave.call(this, code, closeReason(reason));
    } catch (err) {
      logger.warn({ err, code }, "closing a client failed; terminating its socket");
      this.ref.terminate();
    }
  };
}
