import { z } from "zod";
import type { Services } from "../../services";
import { AppError } from "../../services/errors";
import { HiveEventSchema } from "../../services/moderation";
import type { Api } from "../api";

/** Ids are stored: present, and without NUL (PostgreSQL text cannot hold it). */
const StripeId = z.string().regex(/^[^\0]+$/);
const StripeEventSchema = z.object({
  id: StripeId,
  type: StripeId,
  data: z.object({ object: z.looseObject({ id: StripeId }) }),
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
      // Signed is not well-formed: an event without data.object or its id is refused, not dereferenced.
      const shape = StripeEventSchema.safeParse(event);
      if (!shape.success) {
        const details = shape.error.issues.map((i) => ({ in: "body", path: i.path.join("."), message: i.message }));
        throw new AppError(400, "VALIDATION_FAILED", "Not a Stripe event with data.object.id", details);
      }
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
