import { z } from "zod";
import type { Services } from "../../services";
import type { Api } from "../api";
import { requireAuth, requireRole } from "../auth-middleware";

const ProviderStatusSchema = z
  .object({
    enabled: z.boolean().openapi({ description: "configured on the answering process" }),
    queued: z.number().int().openapi({ description: "outbox rows waiting (being retried included)" }),
    sent: z.number().int(),
    failed: z.number().int().openapi({ description: "events the provider refused (400): dropped, never retried" }),
    dropped: z.number().int().openapi({ description: "oldest events trimmed while the outbox was full" }),
    lastError: z.string().nullable(),
    lastErrorAt: z.iso.datetime().nullable(),
  })
  .openapi("AnalyticsProviderStatus");

/** The analytics outbox's state per provider (admin). */
export function registerAnalyticsRoutes(api: Api, services: Services) {
  api.route({
    method: "get",
    path: "/api/analytics/status",
    summary: "Per analytics provider: queued, sent, failed, dropped and the last error (totals of every process)",
    tags: ["analytics"],
    security: ["bearer"],
    before: [requireAuth(services.auth), requireRole("admin")],
    responses: {
      200: {
        description: "Status by provider",
        schema: z.object({
          providers: z.object({
            posthog: ProviderStatusSchema,
            mixpanel: ProviderStatusSchema,
            plausible: ProviderStatusSchema,
            ga4: ProviderStatusSchema,
          }),
        }),
      },
    },
    handler: async (_req, res) => {
      res.json({ providers: await services.analytics.status() });
    },
  });
}
