import { Counter } from "prom-client";
import type Stripe from "stripe";
import type { DataSource, EntityManager } from "typeorm";
import { z } from "zod";
import { Purchase, TokenPack } from "../entities";
import { registry } from "../metrics";
import { AppError, badRequest, notFound } from "./errors";
import type { DomainLog } from "./domain-log";
import type { WalletService } from "./wallet";

const checkoutsCreated = new Counter({
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
const deferred = new Counter({
  name: "payments_webhook_deferred_total",
  help: "Paid webhook events kept because their purchase row did not exist yet",
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
  /** Where a credited purchase's purchase_completed goes (absent: not recorded). */
  domainLog?: DomainLog;
}

export type WebhookOutcome = "credited" | "duplicate" | "ignored" | "closed" | "deferred";

const notConfigured = () => new AppError(503, "BILLING_NOT_CONFIGURED", "Payments are not configured on this server");
const keyReused = () =>
  new AppError(422, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used for a different request");

/** What a signed event must carry before we act on it (a signature proves origin, not shape). */
/** Ids are stored: present, and without NUL (PostgreSQL text cannot hold it). */
const StripeId = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^\0]+$/, "no NUL characters");
const EventShape = z.object({
  id: StripeId,
  type: StripeId,
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});
const CheckoutSessionShape = z.object({ id: StripeId });

/**
 * Token packs sold through Stripe Checkout. The purchase records what was
 * sold at checkout time; the verified webhook credits exactly that, once,
 * whatever the number or order of deliveries, even when it arrives before the
 * purchase row exists.
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

  /**
   * A checkout for a pack. `idempotencyKey` (the client's Idempotency-Key) makes
   * retries return the same checkout: it is kept on the purchase, and passed to
   * Stripe as its own idempotency key so concurrent retries get one session.
   */
  async purchase(
    userId: string,
    packId: string,
    idempotencyKey: string,
  ): Promise<{ checkoutUrl: string; checkoutSessionId: string }> {
    const { stripe } = this.config;
    if (!stripe) throw notConfigured();
    const purchases = this.dataSource.getRepository(Purchase);
    const earlier = await purchases.findOne({ where: { userId, idempotencyKey } });
    if (earlier) return replayedCheckout(earlier, packId);
    const pack = await this.dataSource.getRepository(TokenPack).findOne({ where: { id: packId, active: true } });
    if (!pack) throw notFound("No such token pack", "PACK_NOT_FOUND");
    let session: Stripe.Checkout.Session;
    try {
      session = await stripe.checkout.sessions.create(
        {
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
        },
        { idempotencyKey: `checkout:${userId}:${idempotencyKey}` },
      );
    } catch (err) {
      throw stripeFailure(err);
    }
    const row = await this.dataSource.transaction(async (m) => {
      await lockCheckoutSession(m, session.id);
      const inserted = await m
        .createQueryBuilder()
        .insert()
        .into(Purchase)
        .values({
          userId,
          packId: pack.id,
          tokens: pack.tokens,
          priceCents: pack.priceCents,
          currency: pack.currency,
          checkoutSessionId: session.id,
          checkoutUrl: session.url,
          idempotencyKey,
        })
        .orIgnore()
        .returning("*")
        .execute();
      // Nothing inserted: a concurrent retry with the same key got there first.
      if (inserted.raw.length === 0) return m.findOneOrFail(Purchase, { where: { userId, idempotencyKey } });
      const purchase = await m.findOneOrFail(Purchase, { where: { checkoutSessionId: session.id } });
      await this.applyDeferredEvent(m, purchase);
      return purchase;
    });
    if (row.checkoutSessionId === session.id) checkoutsCreated.inc({ pack: pack.id });
    return replayedCheckout(row, packId);
  }

  /** Verifies Stripe-Signature over the raw body (400 on a bad or stale signature). */
  verifyWebhook(rawBody: Buffer, signature: string | undefined): Stripe.Event {
    const { stripe, webhookSecret } = this.config;
    if (!stripe || !webhookSecret) throw notConfigured();
    if (!signature) throw new AppError(400, "INVALID_SIGNATURE", "Missing Stripe-Signature");
    let event: Stripe.Event;
    try {
      event = stripe.webhooks.constructEvent(rawBody, signature, webhookSecret);
    } catch (err) {
      throw new AppError(400, "INVALID_SIGNATURE", "Stripe signature verification failed", undefined, undefined, {
        cause: err,
      });
    }
    if (!EventShape.safeParse(event).success) {
      throw badRequest("INVALID_EVENT", "A Stripe event needs an id, a type and data.object");
    }
    return event;
  }

  /**
   * Paid checkouts credit the recorded pack; expired or failed ones close a
   * still-pending purchase (never undoing a credit). A paid event whose session
   * has no purchase yet is kept and applied when the purchase is recorded
   * ("deferred"); other unknown sessions and event types change nothing. The
   * event id is recorded in the same transaction as its effect, so a
   * redelivery finds it and does nothing.
   */
  async handleEvent(event: Stripe.Event): Promise<WebhookOutcome> {
    const type = event.type;
    const object = event.data.object as unknown as Record<string, unknown>;
    const paid =
      (type === "checkout.session.completed" && object.payment_status === "paid") ||
      type === "checkout.session.async_payment_succeeded";
    const closed = type === "checkout.session.expired" || type === "checkout.session.async_payment_failed";
    if (!paid && !closed) return "ignored";
    const session = CheckoutSessionShape.safeParse(object);
    if (!session.success) throw badRequest("INVALID_EVENT", "A checkout.session event needs data.object.id");
    const sessionId = session.data.id;

    return this.dataSource.transaction(async (m) => {
      // Serialises with the purchase's INSERT: one of the two sees the other.
      await lockCheckoutSession(m, sessionId);
      const purchase = await m.findOne(Purchase, {
        where: { checkoutSessionId: sessionId },
        lock: { mode: "pessimistic_write" },
      });
      if (!purchase) {
        if (!paid) return "ignored";
        await m.query(
          `INSERT INTO stripe_deferred_events (checkout_session_id, event_id, type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
          [sessionId, event.id, type],
        );
        deferred.inc();
        return "deferred";
      }
      return this.applyEvent(m, purchase, { id: event.id, type, paid });
    });
  }

  private async applyEvent(
    m: EntityManager,
    purchase: Purchase,
    event: { id: string; type: string; paid: boolean },
  ): Promise<WebhookOutcome> {
    const recorded = await m.query(
      `INSERT INTO stripe_events (event_id, type) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING event_id`,
      [event.id, event.type],
    );
    if (recorded.length === 0 || (event.paid && purchase.status === "paid")) {
      duplicates.inc();
      return "duplicate";
    }
    if (purchase.status === "paid") return "ignored"; // a late expiry cannot undo a credit
    if (!event.paid) {
      if (purchase.status === "pending") {
        await m.update(
          Purchase,
          { id: purchase.id },
          { status: event.type === "checkout.session.expired" ? "expired" : "failed" },
        );
      }
      return "closed";
    }
    // Money received is credited, even after an expiry (a delayed payment method can succeed late).
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
    await this.config.domainLog?.record(
      m,
      "purchase_completed",
      { purchaseId: purchase.id, userId: purchase.userId, packId: purchase.packId, tokens: purchase.tokens },
      { userId: purchase.userId },
    );
    credits.inc({ pack: purchase.packId });
    return "credited";
  }

  /** A paid event that arrived before this purchase row: applied now, in the row's transaction. */
  private async applyDeferredEvent(m: EntityManager, purchase: Purchase): Promise<void> {
    const rows: Array<{ event_id: string; type: string }> = await m.query(
      `SELECT event_id, type FROM stripe_deferred_events WHERE checkout_session_id = $1`,
      [purchase.checkoutSessionId],
    );
    if (!rows.length) return;
    await m.query(`DELETE FROM stripe_deferred_events WHERE checkout_session_id = $1`, [purchase.checkoutSessionId]);
    await this.applyEvent(m, purchase, { id: rows[0].event_id, type: rows[0].type, paid: true });
  }
}

/** The checkout of an earlier purchase with the same key, if the request matches it. */
function replayedCheckout(purchase: Purchase, packId: string) {
  if (purchase.packId !== packId) throw keyReused();
  if (!purchase.checkoutUrl) throw keyReused(); // recorded before keys were kept: cannot be replayed
  return { checkoutUrl: purchase.checkoutUrl, checkoutSessionId: purchase.checkoutSessionId };
}

function lockCheckoutSession(m: EntityManager, sessionId: string) {
  return m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`checkout:${sessionId}`]);
}

function stripeFailure(err: unknown): AppError {
  const stripeError = err as { type?: string; statusCode?: number };
  if (stripeError.type === "StripeIdempotencyError") return keyReused();
  if (stripeError.statusCode === 409) {
    return new AppError(409, "IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is in progress; retry");
  }
  return new AppError(502, "PAYMENT_PROVIDER_ERROR", "Could not start checkout; try again", undefined, undefined, {
    cause: err,
  });
}
