import http from "node:http";
import express, { type RequestHandler } from "express";
import { z } from "zod";
import { Api } from "../../src/http/api";
import { errorHandler, notFoundHandler } from "../../src/http/errors";
import { observability } from "../../src/http/observability";
import { createRegistry } from "../../src/http/openapi";
import { createLogger } from "../../src/logger";
import { listenOnLoopback } from "./listen";

/**
 * A bare Express app built from the server's own HTTP pieces (route helper,
 * validation, error envelope) with one JSON route, for the body rules that
 * need a route taking input. Returns its base URL and a close function.
 */
export async function startHttpFixture(options: { before?: RequestHandler[]; limitBytes?: number } = {}) {
  const app = express();
  app.use(observability(createLogger("silent")));
  for (const mw of options.before ?? []) app.use(mw);
  const api = new Api(app, createRegistry(), options.limitBytes ?? 1024);
  api.route({
    method: "post",
    path: "/echo/:id",
    summary: "Echo",
    tags: ["test"],
    params: z.object({ id: z.string().regex(/^\d+$/) }),
    query: z.object({ n: z.coerce.number().int().optional() }),
    body: z.object({ name: z.string().min(1).max(20), count: z.number().int().nonnegative() }),
    responses: { 200: { description: "ok" } },
    handler: (req, res) => res.json({ ...req.valid }),
  });
  api.route({
    method: "get",
    path: "/boom",
    summary: "Throws",
    tags: ["test"],
    responses: { 500: { description: "error" } },
    handler: () => {
      throw new Error("secret internal detail");
    },
  });
  app.use(notFoundHandler);
  app.use(errorHandler);
  return listenOnLoopback(http.createServer(app));
}
