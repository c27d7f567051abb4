import type { IncomingMessage, Server, ServerResponse } from "node:http";
import express, { type RequestHandler } from "express";
import { corsHeadersFor } from "./cors";
import { errorHandler } from "./errors";

const MATCHMAKE_PATH = /^\/matchmake(\/|\?|$)/;
const MATCHMAKE_ROUTE = "/matchmake/:method/:roomName";

/**
 * Colyseus answers `/matchmake/*` from its own 'request' listener, prepended
 * at listen time, before Express sees anything: our request id, request log
 * and rate limits would never run there. This puts `handlers` (Express
 * middleware) in front of every matchmaking request by wrapping the server's
 * 'request' event, whatever order the listeners were added in; a request they
 * let through goes on to Colyseus untouched. Preflights go straight through
 * (Colyseus answers them with the CORS policy).
 */
export function gateMatchmaking(server: Server, options: { trustProxy: number; handlers: RequestHandler[] }): void {
  const gate = express();
  gate.disable("x-powered-by");
  gate.set("trust proxy", options.trustProxy);
  gate.use(sdkReadableErrors, ...options.handlers, errorHandler);

  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = function (event: string | symbol, ...args: unknown[]): boolean {
    const [req, res] = args as [IncomingMessage, ServerResponse];
    if (event !== "request" || req.method === "OPTIONS" || !MATCHMAKE_PATH.test(req.url ?? "")) {
      return emit(event, ...args);
    }
    // Our answers (429, 503) need the CORS headers Colyseus would have set, or browsers cannot read them.
    for (const [name, value] of Object.entries(corsHeadersFor(req))) res.setHeader(name, value);
    const pass = () => emit(event, req, res);
    (gate as unknown as { handle: (q: unknown, s: unknown, done: () => void) => void }).handle(req, res, pass);
    return true;
  } as typeof server.emit;
}

/**
 * @colyseus/sdk builds its MatchMakeError from a top-level `message`: repeat
 * the envelope's message there, so a 429 reads as text, not "[object Object]".
 */
const sdkReadableErrors: RequestHandler = (_req, res, next) => {
  res.locals.route = MATCHMAKE_ROUTE;
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
    return json(typeof message === "string" ? { ...(body as object), message } : body);
  };
  next();
};
