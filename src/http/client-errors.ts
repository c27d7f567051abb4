import { randomUUID } from "node:crypto";
import { type Server, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { errorBody } from "./errors";

/**
 * Requests Node's HTTP parser rejects before any handler runs (a URL or
 * headers over the 16 KB limit: 431; an unparsable request line: 400).
 * Node answers those with an empty body; this sends the error envelope instead.
 */
export function answerClientErrorsWithEnvelope(server: Server, logger: Logger): void {
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing to answer on a connection the peer reset or that is mid-response.
    if (err.code === "ECONNRESET" || !socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
    const status = tooLarge ? 431 : 400;
    const requestId = randomUUID();
    const body = JSON.stringify(
      tooLarge
        ? errorBody(requestId, "HEADERS_TOO_LARGE", "The URL or headers exceed 16 KB")
        : errorBody(requestId, "BAD_REQUEST", "The request could not be parsed"),
    );
    logger.info({ requestId, status, parser: err.code }, "request rejected by the HTTP parser");
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
