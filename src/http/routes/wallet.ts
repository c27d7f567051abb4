import type { Request } from "express";
import { z } from "zod";
import type { Services } from "../../services";
import { badRequest } from "../../services/errors";
import { MAX_DELTA } from "../../services/wallet";
import type { Api } from "../api";
import { principalOf, requireAuth } from "../auth-middleware";
import { CleanText } from "../schemas";

const Pack = z
  .object({
    id: z.string(),
    name: z.string(),
    tokens: z.number().int(),
    priceCents: z.number().int(),
    currency: z.string(),
  })
  .openapi("TokenPack");
const LedgerEntrySchema = z
  .object({
    id: z.string(),
    userId: z.uuid(),
    delta: z.number().int(),
    balanceAfter: z.number().int(),
    reason: z.string(),
    refType: z.string().nullable(),
    refId: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi("LedgerEntry");
/** Whole tokens, 1 to MAX_DELTA; strings and fractions are a 400, not coerced. */
const Amount = z.number().int().min(1).max(MAX_DELTA);
const Message = CleanText(0, 200);
const IDEMPOTENCY_KEY_PATTERN = /^[\w.:-]{8,100}$/;

/** Required on money routes: a retry with the same key returns the first result (Stripe's contract). */
const IdempotencyHeaders = z.object({
  "idempotency-key": z.string().regex(IDEMPOTENCY_KEY_PATTERN).openapi({
    description:
      "Required. A unique key per operation (8–100 characters of A-Z a-z 0-9 _ . : -, e.g. a UUID). A retry with the same key and body returns the first result; with a different body, 422 IDEMPOTENCY_KEY_REUSED",
  }),
});

/** The Idempotency-Key header: 400 IDEMPOTENCY_KEY_REQUIRED without it, INVALID_IDEMPOTENCY_KEY when malformed. */
function idempotencyKeyOf(req: Request): string {
  const key = req.get("Idempotency-Key");
  if (key === undefined || key === "") {
    throw badRequest("IDEMPOTENCY_KEY_REQUIRED", "Send an Idempotency-Key header (e.g. a UUID) so retries are safe");
  }
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw badRequest("INVALID_IDEMPOTENCY_KEY", "Idempotency-Key: 8–100 characters of A-Z a-z 0-9 _ . : -");
  }
  return key;
}

/** Balance, packs, purchases, tips, history. */
export function registerWalletRoutes(api: Api, services: Services) {
  const signedIn = requireAuth(services.auth);

  api.route({
    method: "get",
    path: "/api/tokens/balance",
    summary: "The signed-in user's token balance",
    tags: ["wallet"],
    security: ["bearer"],
    before: [signedIn],
    responses: { 200: { description: "Balance", schema: z.object({ balance: z.number().int() }) } },
    handler: async (req, res) => {
      res.json({ balance: await services.wallet.balance(principalOf(req).userId) });
    },
  });

  api.route({
    method: "get",
    path: "/api/tokens/packs",
    summary: "Token packs for sale",
    tags: ["wallet"],
    responses: { 200: { description: "Packs", schema: z.object({ packs: z.array(Pack) }) } },
    handler: async (_req, res) => {
      const packs = await services.payments.packs();
      res.json({
        packs: packs.map(({ id, name, tokens, priceCents, currency }) => ({ id, name, tokens, priceCents, currency })),
      });
    },
  });

  api.route({
    method: "post",
    path: "/api/tokens/purchase",
    summary:
      "Start a Stripe Checkout for a token pack; tokens are credited when Stripe confirms payment. A retry with the same Idempotency-Key returns the same checkout",
    tags: ["wallet"],
    security: ["bearer"],
    before: [signedIn],
    headers: IdempotencyHeaders,
    body: z.object({ pack: z.string().max(32) }),
    responses: {
      200: {
        description: "Checkout created",
        schema: z.object({ checkoutUrl: z.url(), checkoutSessionId: z.string() }),
      },
      400: { description: "IDEMPOTENCY_KEY_REQUIRED, INVALID_IDEMPOTENCY_KEY, or a bad body" },
      404: { description: "No such pack" },
      409: { description: "IDEMPOTENCY_KEY_IN_USE: a request with this key is still running; retry" },
      422: { description: "IDEMPOTENCY_KEY_REUSED: the key was used for another pack" },
      502: { description: "PAYMENT_PROVIDER_ERROR: Stripe failed; retry with the same key" },
      503: { description: "BILLING_NOT_CONFIGURED" },
    },
    handler: async (req, res) => {
      const key = idempotencyKeyOf(req);
      res.json(await services.payments.purchase(principalOf(req).userId, req.valid.body.pack, key));
    },
  });

  api.route({
    method: "post",
    path: "/api/payments/tip",
    summary: "Tip a user, or a live stream's owner. A retry with the same Idempotency-Key returns the first result",
    tags: ["wallet"],
    security: ["bearer"],
    before: [signedIn],
    headers: IdempotencyHeaders,
    body: z.object({
      toUserId: z.uuid().optional(),
      streamId: z.uuid().optional(),
      amount: Amount,
      message: Message.optional(),
    }),
    responses: {
      200: {
        description: "Tip sent",
        schema: z.object({
          tipId: z.string(),
          amount: z.number(),
          toUserId: z.uuid(),
          balance: z.number(),
          replayed: z.boolean(),
        }),
      },
      400: { description: "IDEMPOTENCY_KEY_REQUIRED, INVALID_IDEMPOTENCY_KEY, or a bad body" },
      402: { description: "INSUFFICIENT_FUNDS" },
      404: { description: "No such user or stream" },
      422: { description: "IDEMPOTENCY_KEY_REUSED: the key was used for a different amount or recipient" },
    },
    handler: async (req, res) => {
      const key = idempotencyKeyOf(req);
      res.json(await services.tips.tip(principalOf(req).userId, req.valid.body, key));
    },
  });

  api.route({
    method: "get",
    path: "/api/payments/history",
    summary: "The user's ledger entries, newest first (cursor pagination)",
    tags: ["wallet"],
    security: ["bearer"],
    before: [signedIn],
    query: z.object({
      cursor: z
        .string()
        .regex(/^\d{1,18}$/)
        .optional(),
      limit: z.coerce.number().int().min(1).max(100).default(20),
    }),
    responses: {
      200: {
        description: "A page of entries; pass nextCursor back as cursor for the next",
        schema: z.object({ entries: z.array(LedgerEntrySchema), nextCursor: z.string().nullable() }),
      },
    },
    handler: async (req, res) => {
      res.json(await services.wallet.history(principalOf(req).userId, req.valid.query));
    },
  });
}
