import type { RequestHandler } from "express";
import type { Logger } from "pino";
import { pinoHttp } from "pino-http";
import { httpRequestDuration } from "../metrics";
import { assignRequestId } from "./request-id";

/** Request id, one structured log line per request, and the duration histogram. */
export function observability(logger: Logger): RequestHandler[] {
  const log = pinoHttp({
    logger,
    genReqId: assignRequestId,
    // Probes and scrapes would drown the log.
    autoLogging: { ignore: (req) => req.url === "/health" || req.url === "/metrics" },
    customLogLevel: (_req, res, err) =>
      err || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "warn" : "info",
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
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : req.baseUrl || "unmatched";
      end({ route, status: String(res.statusCode) });
    });
    next();
  };
  return [log, timing];
}
