import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { pinoHttp } from "pino-http";
import { httpRequestDuration } from "../metrics";
import { assignRequestId } from "./request-id";

/**
 * Colyseus refuses matchmaking with 52x codes the SDK reads (they must stay).
 * Those caused by the caller (unknown room, bad criteria or room id, expired
 * seat, failed auth) are client errors for logs and metrics; 523 (an exception
 * in onCreate/onJoin) and 526 stay server errors.
 */
const COLYSEUS_CLIENT_ERRORS = new Set([520, 521, 522, 524, 525]);

/** "2xx".."5xx", with Colyseus' client-caused 52x counted as "4xx". */
export function statusClass(status: number): string {
  return COLYSEUS_CLIENT_ERRORS.has(status) ? "4xx" : `${Math.floor(status / 100)}xx`;
}

/** A true server error: 5xx, except 503 (a dependency unavailable or not configured, by design) and expected answers. */
function isServerError(res: ServerResponse): boolean {
  const locals = (res as Partial<Response>).locals;
  return statusClass(res.statusCode) === "5xx" && res.statusCode !== 503 && !locals?.expectedError;
}

/** Request id, one structured log line per request, and the duration histogram. */
export function observability(logger: Logger): RequestHandler[] {
  const log = pinoHttp({
    logger,
    genReqId: assignRequestId,
    // Probes and scrapes would drown the log.
    autoLogging: { ignore: (req) => req.url === "/health" || req.url === "/metrics" },
    // Only true server errors are errors; client errors and expected 503s are warnings without a stack.
    customLogLevel: (_req, res, err) => (err || isServerError(res) ? "error" : res.statusCode >= 400 ? "warn" : "info"),
    customErrorObject: (_req: IncomingMessage, res: ServerResponse, _err: Error, value: Record<string, unknown>) => {
      if (isServerError(res) || (res as { err?: unknown }).err) return value;
      return { ...value, err: undefined };
    },
    serializers: {
      // The query string can carry signed-URL signatures: log the path only.
      res: (res) => ({ statusCode: res.statusCode }),
      req: (req) => ({
        id: req.id,
        method: req.method,
        url: String(req.url).split("?")[0],
        headers: req.headers,
        remoteAddress: req.remoteAddress,
      }),
    },
  });
  const timing: RequestHandler = (req, res, next) => {
    const end = httpRequestDuration.startTimer({ method: req.method });
    res.once("finish", () => {
      // The route template, not the URL, keeps label cardinality bounded.
      const route =
        res.locals.route ?? (req.route?.path ? `${req.baseUrl}${req.route.path}` : req.baseUrl || "unmatched");
      end({ route, status: String(res.statusCode), status_class: statusClass(res.statusCode) });
    });
    next();
  };
  return [log, timing];
}
