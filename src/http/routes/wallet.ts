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
    summary: "Start a Stripe Checkout for a token pack; tokens are credited when Stripe confirms payment",
    tags: ["wallet"],
    security: ["bearer"],
    before: [signedIn],
    body: z.object({ pack: z.string().max(32) }),
    responses: {
      200: {
        description: "Checkout created",
        schema: z.object({ checkoutUrl: z.url(), checkoutSessionId: z.string() }),
      },
      404: { description: "No such pack" },
      503: { description: "BILLING_NOT_CONFIGURED" },
    },
    handler: async (req, res) => {
      res.json(await services.payments.purchase(principalOf(req).userId, req.valid.body.pack));
    },
  });

  api.route({
    method: "post",
    path: "/api/payments/tip",
    summary: "Tip a user, or a live stream's owner. Send Idempotency-Key to make retries safe",
    tags: ["wallet"],
    security: ["bearer"],
    before: [signedIn],
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
      402: { description: "INSUFFICIENT_FUNDS" },
      404: { description: "No such user or stream" },
    },
    handler: async (req, res) => {
      const key = req.get("Idempotency-Key");
      if (key !== undefined && !/^[\w.:-]{8,100}$/.test(key)) {
        throw badRequest("INVALID_IDEMPOTENCY_KEY", "Idempotency-Key: 8–100 characters of A-Z a-z 0-9 _ . : -");
      }
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
