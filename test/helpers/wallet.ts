import { randomUUID } from "node:crypto";
import Stripe from "stripe";
import { STRIPE_WEBHOOK_SECRET, type TestApp } from "./app";

/** Credits a wallet directly through the service (as an admin adjustment). */
export async function fund(t: TestApp, userId: string, tokens: number) {
  await t.app.services.wallet.apply([
    { userId, delta: tokens, reason: "adjustment", idempotencyKey: `fund:${randomUUID()}` },
  ]);
}

const stripe = new Stripe("sk_test_signing_only");

export function checkoutEvent(
  type: string,
  session: Record<string, unknown>,
  id = `evt_${randomUUID().replace(/-/g, "")}`,
) {
  return {
    id,
    object: "event",
    type,
    api_version: "2025-01-01",
    created: Math.floor(Date.now() / 1000),
    data: { object: { object: "checkout.session", ...session } },
  };
}

/** Delivers an event the way Stripe does: raw JSON with a Stripe-Signature header. */
export function deliver(
  t: TestApp,
  event: object,
  options: { secret?: string; timestamp?: number; signature?: string } = {},
) {
  const payload = JSON.stringify(event);
  const signature =
    options.signature ??
    stripe.webhooks.generateTestHeaderString({
      payload,
      secret: options.secret ?? STRIPE_WEBHOOK_SECRET,
      timestamp: options.timestamp,
    });
  return t.fetch("/api/webhooks/stripe", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Stripe-Signature": signature },
    body: payload,
  });
}
