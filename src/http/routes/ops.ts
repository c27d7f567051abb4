import swaggerUi from "swagger-ui-express";
import { z } from "zod";
import { registry as metricsRegistry } from "../../metrics";
import { checkReadiness, type HealthDependencies } from "../../services/health";
import type { Api } from "../api";
import { buildDocument } from "../openapi";

const Liveness = z.object({ status: z.literal("ok"), uptimeSec: z.number() }).openapi("Liveness");
const Readiness = z
  .object({
    status: z.enum(["ready", "unavailable"]),
    checks: z.record(z.string(), z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() })),
  })
  .openapi("Readiness");

/** Health, readiness, metrics and the API documentation. */
export function registerOpsRoutes(api: Api, deps: HealthDependencies, version: string): void {
  api.route({
    method: "get",
    path: "/health",
    summary: "Liveness: the process is up and serving HTTP",
    tags: ["operations"],
    responses: { 200: { description: "Alive", schema: Liveness } },
    handler: (_req, res) => res.json({ status: "ok", uptimeSec: Math.round(process.uptime()) }),
  });

  api.route({
    method: "get",
    path: "/health/ready",
    summary: "Readiness: the database and (when configured) Redis answer",
    tags: ["operations"],
    responses: {
      200: { description: "Ready", schema: Readiness },
      503: { description: "A dependency is down; the failing check is named", schema: Readiness },
    },
    handler: async (_req, res) => {
      const report = await checkReadiness(deps);
      res
        .status(report.ready ? 200 : 503)
        .json({ status: report.ready ? "ready" : "unavailable", checks: report.checks });
    },
  });

  api.route({
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics of this process",
    tags: ["operations"],
    responses: { 200: { description: "Prometheus text format", schema: z.string(), contentType: "text/plain" } },
    handler: async (_req, res) => {
      // Readiness as gauges, current at every scrape (bounded: each probe times out after 2 s).
      await checkReadiness(deps);
      res.type(metricsRegistry.contentType).send(await metricsRegistry.metrics());
    },
  });

  let document: unknown;
  api.route({
    method: "get",
    path: "/docs/openapi.json",
    summary: "This OpenAPI 3.1 document",
    tags: ["operations"],
    responses: { 200: { description: "OpenAPI document", schema: z.record(z.string(), z.unknown()) } },
    handler: (_req, res) => res.json((document ??= buildDocument(api.registry, version))),
  });

  api.app.use("/docs", swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: "/docs/openapi.json" } }));
}
