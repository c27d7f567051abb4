import { z } from "zod";
import type { Services } from "../../services";
import { HiveEventSchema } from "../../services/moderation";
import type { Api } from "../api";

/** For the OpenAPI document: the payments service checks the verified event's shape itself. */
const StripeEventSchema = z.object({
  id: z.string(),
  type: z.string(),
  data: z.object({ object: z.looseObject({ id: z.string() }) }),
});

/** Provider callbacks: raw bodies, verified signatures. */
export function registerWebhookRoutes(api: Api, services: Services) {
  api.route({
    method: "post",
    path: "/api/webhooks/stripe",
    summary: "Stripe events (Stripe-Signature verified over the raw body); paid checkouts credit their pack once",
    tags: ["webhooks"],
    rawBody: {
      contentType: "application/json",
      limitBytes: 512 * 1024,
      schema: StripeEventSchema,
    },
    responses: {
      200: { description: "Acknowledged", schema: z.object({ received: z.literal(true), outcome: z.string() }) },
      400: { description: "Bad or stale signature" },
      503: { description: "BILLING_NOT_CONFIGURED" },
    },
    handler: async (req, res) => {
      const event = services.payments.verifyWebhook(req.body as Buffer, req.get("Stripe-Signature"));
      const outcome = await services.payments.handleEvent(event);
      req.log.info({ eventId: event.id, type: event.type, outcome }, "stripe webhook");
      res.json({ received: true, outcome });
    },
  });

  api.route({
    method: "post",
    path: "/api/webhooks/hive",
    summary:
      "AI moderation verdicts (X-Hive-Signature: sha256=<hex HMAC-SHA256 of the raw body>); a violation ends the call, 3 in 24 h ban for 24 h",
    tags: ["webhooks"],
    rawBody: { contentType: "application/json", limitBytes: 64 * 1024, schema: HiveEventSchema },
    responses: {
      200: {
        description: "Acknowledged; a redelivered event id answers duplicate and changes nothing",
        schema: z.object({
          received: z.literal(true),
          outcome: z.enum(["recorded", "violation", "banned", "duplicate"]),
        }),
      },
      400: { description: "Not a verdict" },
      401: { description: "INVALID_SIGNATURE" },
      503: { description: "MODERATION_NOT_CONFIGURED" },
    },
    handler: async (req, res) => {
      const { outcome } = await services.moderation.handleHiveWebhook(req.body as Buffer, req.get("X-Hive-Signature"));
      res.json({ received: true, outcome });
    },
  });
}
