import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import { AppError } from "../services/errors";

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; details?: unknown; stack?: string };
}

export function sendError(
  req: Request,
  res: Response,
  status: number,
  code: string,
  message: string,
  details?: unknown,
) {
  const body: ErrorBody = { error: { code, message, requestId: String(req.id ?? "") } };
  if (details !== undefined) body.error.details = details;
  res.status(status).json(body);
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendError(req, res, 404, "NOT_FOUND", `No route for ${req.method} ${req.path}`);
};

/** body-parser's error types, answered with the contract's codes. */
const PARSER_ERRORS: Record<string, [number, string, string]> = {
  "entity.parse.failed": [400, "MALFORMED_JSON", "Request body is not valid JSON"],
  "entity.too.large": [413, "PAYLOAD_TOO_LARGE", "Request body is too large"],
  "encoding.unsupported": [415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported content encoding"],
  "charset.unsupported": [415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported charset"],
  "request.aborted": [400, "REQUEST_ABORTED", "Request aborted"],
};

/** Turns anything thrown into the error envelope; stacks only in development. */
export function errorHandler(options: { exposeStack: boolean }): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      req.log?.warn({ err }, "error after response started");
      res.destroy();
      return;
    }
    if (err instanceof AppError) {
      for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
      if (err.status >= 500) req.log?.error({ err }, err.message);
      return sendError(req, res, err.status, err.code, err.message, err.details);
    }
    const parser = typeof err?.type === "string" ? PARSER_ERRORS[err.type] : undefined;
    if (parser) return sendError(req, res, ...parser);
    req.log?.error({ err }, "unhandled error");
    const body: ErrorBody = {
      error: { code: "INTERNAL", message: "Internal server error", requestId: String(req.id ?? "") },
    };
    if (options.exposeStack && err instanceof Error) body.error.stack = err.stack;
    res.status(500).json(body);
  };
}
