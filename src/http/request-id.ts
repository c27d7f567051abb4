import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

const VALID_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * The request's id: the caller's X-Request-Id when it looks like an id (so a
 * trace crosses services), otherwise a fresh UUID. Echoed on every response.
 * Used as pino-http's genReqId, so logs and responses carry the same id.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers["x-request-id"];
  const id = typeof given === "string" && VALID_ID.test(given) ? given : randomUUID();
  res.setHeader("X-Request-Id", id);
  return id;
}
