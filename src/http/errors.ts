import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import { AppError } from "../services/errors";
import type { MessageParams } from "../services/i18n-messages";
import { isUnavailable, unavailable } from "../services/unavailable";

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: unknown };
}

declare module "express-serve-static-core" {
  interface Locals {
    /** Set when the answer is an expected 5xx (503 UNAVAILABLE, *_NOT_CONFIGURED): logged at warn, no stack. */
    expectedError?: boolean;
    /** The metrics' route label, for requests answered outside an Express route (/matchmake). */
    route?: string;
  }
}

export function errorBody(requestId: unknown, code: string, message: string, details?: unknown): ErrorBody {
  const body: ErrorBody = { error: { code, message, requestId: String(requestId ?? "") } };
  if (details !== undefined) body.error.details = details;
  return body;
}

/**
 * Answers the error envelope. The `code` is stable; the `message` is `error.<code>` in the
 * request's language (see language.ts), filled from `params`, with `message` (English, in code)
 * as the last fallback.
 */
export function sendError(
  req: Request,
  res: Response,
  status: number,
  code: string,
  message: string,
  details?: unknown,
  params?: MessageParams,
) {
  const text = req.translate ? req.translate(`error.${code}`, params, message) : message;
  res.status(status).json(errorBody(req.id, code, text, details));
}

export const notFoundHandler: RequestHandler = (req, res) => {
  const { method, path } = req;
  sendError(req, res, 404, "NOT_FOUND", `No route for ${method} ${path}`, undefined, { method, path });
};

/** body-parser's error types, answered with the contract's codes. */
const PARSER_ERRORS: Record<string, [number, string, string]> = {
  "entity.parse.failed": [400, "MALFORMED_JSON", "Request body is not valid JSON"],
  "entity.too.large": [413, "PAYLOAD_TOO_LARGE", "Request body is too large"],
  "encoding.unsupported": [415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported content encoding"],
  "charset.unsupported": [415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported charset"],
  "request.aborted": [400, "REQUEST_ABORTED", "Request aborted"],
};

/**
 * Turns anything thrown into the error envelope. Bodies never carry stacks, in
 * any mode. Logging is left to the request log line (observability): a true 5xx
 * is attached there as `res.err` (one error line, with its stack); expected
 * answers (4xx, 503 for an unavailable or unconfigured dependency) carry none.
 */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (res.headersSent) {
    req.log?.warn({ err }, "error after response started");
    res.destroy();
    return;
  }
  if (!(err instanceof AppError) && isUnavailable(err)) {
    req.log?.warn({ cause: err?.message }, "a dependency is unavailable");
    err = unavailable();
  }
  if (err instanceof AppError) {
    for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
    if (err.status >= 500) res.locals.expectedError = true;
    return sendError(req, res, err.status, err.code, err.message, err.details, err.params);
  }
  const parser = parserError(err);
  if (parser) return sendError(req, res, ...parser);
  (res as { err?: unknown }).err = err;
  sendError(req, res, 500, "INTERNAL", "Internal server error");
};

/** Errors of the parsers in front of our handlers (body, URL) that the client caused. */
function parserError(err: unknown): [number, string, string] | undefined {
  const e = err as { type?: unknown; status?: unknown } | undefined;
  if (typeof e?.type === "string" && PARSER_ERRORS[e.type]) return PARSER_ERRORS[e.type];
  // The router could not percent-decode a path parameter (e.g. /api/streams/%E0%A4%A).
  if (err instanceof URIError) return [400, "MALFORMED_URL", "The URL has malformed percent-encoding"];
  // Any other body-parser / http-errors client error (e.g. a corrupt gzip stream) is still the client's.
  const status = typeof e?.status === "number" ? e.status : 0;
  if (status >= 400 && status < 500 && (err as { expose?: unknown }).expose === true)
    return [status, "BAD_REQUEST", "The request could not be read"];
  return undefined;
}
