import { Counter } from "prom-client";
import type Stripe from "stripe";
import type { DataSource } from "typeorm";
import { Purchase, TokenPack } from "../entities";
import { registry } from "../metrics";
import { AppError, notFound } from "./errors";
import type { WalletService } from "./wallet";

const purchases = new Counter({
  name: "payments_checkouts_created_total",
  help: "Stripe Checkout sessions created, by pack",
  labelNames: ["pack"] as const,
  registers: [registry],
});
const credits = new Counter({
  name: "payments_credits_total",
  help: "Purchases credited to wallets, by pack",
  labelNames: ["pack"] as const,
  registers: [registry],
});
const duplicates = new Counter({
  name: "payments_webhook_duplicates_total",
  help: "Webhook deliveries ignored because their event or purchase was already handled",
  registers: [registry],
});

export interface PaymentsConfig {
  /** Absent when STRIPE_SECRET_KEY is not set: purchases answer 503. */
  stripe?: Stripe;
  webhookSecret?: string;
  successUrl: string;
  cancelUrl: string;
}

export type WebhookOutcome = "credited" | "duplicate" | "ignored" | "closed";

const notConfigured = () => new AppError(503, "BILLING_NOT_CONFIGURED", "Payments are not configured on this server");

/**
 * Token packs sold through Stripe Checkout. The purchase records what was
 * sold at checkout time; the verified webhook credits exactly that, once,
 * whatever the number or order of deliveries.
 */
export class PaymentsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly wallet: WalletService,
    private readonly config: PaymentsConfig,
  ) {}

  packs() {
    return this.dataSource.getRepository(TokenPack).find({ where: { active: true }, order: { priceCents: "ASC" } });
  }

  async purchase(userId: string, packId: string): Promise<{ checkoutUrl: string; checkoutSessionId: string }> {
    const { stripe } = this.config;
    if (!stripe) throw notConfigured();
    const pack = await this.dataSource.getRepository(TokenPack).findOne({ where: { id: packId, active: true } });
    if (!pack) throw notFound("No such token pack", "PACK_NOT_FOUND");
    let session: Stripe.Checkout.Session;
    try {
      session = await stripe.checkout.sessions.create({
        mode: "payment",
        client_reference_id: userId,
        metadata: { pack: pack.id, userId },
        line_items: [
          {
            quantity: 1,
            price_data: {
              currency: pack.currency,
              unit_amount: pack.priceCents,
              product_data: { name: `${pack.name}: ${pack.tokens} tokens` },
            },
          },
        ],
        success_url: this.config.successUrl,
        cancel_url: this.config.cancelUrl,
      });
    } catch (err) {
      throw new AppError(502, "PAYMENT_PROVIDER_ERROR", "Could not start checkout; try again", undefined, undefined, {
        cause: err,
      });
    }
    await this.dataSource.getRepository(Purchase).insert({
      userId,
      packId: pack.id,
      tokens: pack.tokens,
      priceCents: pack.priceCents,
      currency: pack.currency,
      checkoutSessionId: session.id,
    });
    purchases.inc({ pack: pack.id });
    return { checkoutUrl: session.url!, checkoutSessionId: session.id };
  }

  /** Verifies Stripe-Signature over the raw body (400 on a bad or stale signature). */
  verifyWebhook(rawBody: Buffer, signature: string | undefined): Stripe.Event {
    const { stripe, webhookSecret } = this.config;
    if (!stripe || !webhookSecret) throw notConfigured();
    if (!signature) throw new AppError(400, "INVALID_SIGNATURE", "Missing Stripe-Signature");
    try {
      return stripe.webhooks.constructEvent(rawBody, signature, webhookSecret);
    } catch (err) {
      throw new AppError(400, "INVALID_SIGNATURE", "Stripe signature verification failed", undefined, undefined, {
        cause: err,
      });
    }
  }

  /**
   * Paid checkouts credit the recorded pack; expired or failed ones close a
   * still-pending purchase (never undoing a credit). Unknown sessions and other
   * event types change nothing. The event id is recorded in the same
   * transaction as its effect, so a redelivery finds it and does nothing.
   */
  async handleEvent(event: Stripe.Event): Promise<WebhookOutcome> {
    const type = event.type;
    const paid =
      (type === "checkout.session.completed" && event.data.object.payment_status === "paid") ||
      type === "checkout.session.async_payment_succeeded";
    const closed = type === "checkout.session.expired" || type === "checkout.session.async_payment_failed";
    if (!paid && !closed) return "ignored";
    const sessionId = (event.data.object as Stripe.Checkout.Session).id;

    return this.dataSource.transaction(async (m) => {
      const purchase = await m.findOne(Purchase, {
        where: { checkoutSessionId: sessionId },
        lock: { mode: "pessimistic_write" },
      });
      if (!purchase) return "ignored";
      const recorded = await m.query(
        `INSERT INTO stripe_events (event_id, type) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id`,
        [event.id, type],
      );
      if (recorded.length === 0 || (paid && purchase.status === "paid")) {
        duplicates.inc();
        return "duplicate";
      }
      if (purchase.status === "paid") return "ignored"; // a late expiry cannot undo a credit
      if (closed) {
        if (purchase.status === "pending") {
          await m.update(
            Purchase,
            { id: purchase.id },
            { status: type === "checkout.session.expired" ? "expired" : "failed" },
          );
        }
        return "closed";
      }
      await this.wallet.apply(
        [
          {
            userId: purchase.userId,
            delta: purchase.tokens,
            reason: "purchase",
            refType: "purchase",
            refId: purchase.id,
            idempotencyKey: `purchase:${purchase.id}`,
          },
        ],
        m,
      );
      await m.update(Purchase, { id: purchase.id }, { status: "paid", completedAt: new Date() });
      credits.inc({ pack: purchase.packId });
      return "credited";
    });
  }
}
