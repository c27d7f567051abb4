import { z } from "zod";
import type { Services } from "../../services";
import type { BadgeDefinition, BadgeView, Repeatable } from "../../services/badges";
import { criterionSchema } from "../../services/progress-rules";
import type { Api } from "../api";
import { optionalAuth, principalOf, requireAuth, requireRole } from "../auth-middleware";
import { CleanText, UserIdParams } from "../schemas";

const BadgeId = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "a slug: lowercase letters, digits, dashes")
  .max(64);
/** On the wire a badge is earned once (`false`) or once per UTC day (`"daily"`). */
const RepeatableField = z
  .union([z.literal(false), z.literal("daily")])
  .openapi({ description: '`false`: earned once; `"daily"`: earned again each UTC day the criteria hold' });
const Criteria = criterionSchema.openapi("BadgeCriteria", {
  description:
    "`scope` round: one event's metric compared with `threshold` by `op`; total: the metric summed over all events; " +
    "day: summed within one UTC day; streak: consecutive UTC days with the metric above zero (`threshold` days). " +
    "Sums and streaks take `op` gte",
});
const Reward = z.number().int().min(0).max(100_000).openapi({ description: "Tokens credited with the award" });

const BadgeSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    icon: z.string(),
    reward: z.number().int(),
    hidden: z.boolean().openapi({ description: "Listed only to users who earned it" }),
    repeatable: RepeatableField,
  })
  .openapi("Badge");
const DefinitionSchema = BadgeSchema.extend({
  criteria: Criteria,
  active: z.boolean().openapi({ description: "Inactive badges are not listed and do not advance" }),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
}).openapi("BadgeDefinition");
const EarnedSchema = z
  .object({
    badgeId: z.string(),
    name: z.string(),
    awardedAt: z.iso.datetime(),
    period: z.string().openapi({ description: "`all`, or the UTC day (YYYY-MM-DD) of a daily badge" }),
    onChain: z
      .object({
        status: z.enum(["pending", "submitted", "accepted", "failed"]),
        txHash: z.string().nullable(),
      })
      .nullable()
      .openapi({ description: "The award's StarkNet mint (with minting configured and a linked wallet), or null" }),
  })
  .openapi("EarnedBadge");
const ProgressSchema = z
  .object({
    badgeId: z.string(),
    name: z.string(),
    scope: z.enum(["round", "total", "day", "streak"]),
    target: z.number().int(),
    value: z.number().int().openapi({
      description: "round: best value in the period; total, day: the sum; streak: the current run of UTC days",
    }),
    period: z.string().openapi({ description: "`all`, or today (UTC) for daily badges and day scopes" }),
    earned: z.boolean().openapi({ description: "Awarded in the period a new award would go to" }),
    awardedAt: z.iso.datetime().nullable(),
  })
  .openapi("BadgeProgress");

const fromWire = (r: false | "daily" | undefined): Repeatable | undefined =>
  r === undefined ? undefined : r === "daily" ? "daily" : "never";
const toWire = <T extends BadgeView | BadgeDefinition>(b: T) => ({
  ...b,
  repeatable: b.repeatable === "daily" ? ("daily" as const) : false,
});

/** Badges: definitions (admin edits), the list players see, a user's awards, the caller's progress. */
export function registerBadgeRoutes(api: Api, services: Services) {
  const { badges } = services;
  const admin = [requireAuth(services.auth), requireRole("admin")];
  const tags = ["badges"];
  const editable = {
    name: CleanText(1, 80),
    description: CleanText(0, 300),
    icon: CleanText(0, 200).openapi({ description: "An image URL or asset path" }),
    criteria: Criteria,
    reward: Reward,
    repeatable: RepeatableField,
    hidden: z.boolean(),
    active: z.boolean(),
  };

  api.route({
    method: "get",
    path: "/api/badges",
    summary: "Active badge definitions; hidden ones only once the caller earned them",
    tags,
    security: ["bearer"],
    before: [optionalAuth(services.auth)],
    responses: { 200: { description: "Definitions", schema: z.object({ badges: z.array(BadgeSchema) }) } },
    handler: async (req, res) =>
      res.json({ badges: (await badges.list(req.principal?.userId, req.language)).map(toWire) }),
  });

  api.route({
    method: "post",
    path: "/api/badges",
    summary: "Create a badge (admin); the id never changes",
    tags,
    security: ["bearer"],
    before: admin,
    body: z.object({
      id: BadgeId,
      ...editable,
      description: editable.description.optional(),
      icon: editable.icon.optional(),
      repeatable: RepeatableField.default(false),
      hidden: z.boolean().default(false),
      active: z.boolean().default(true),
    }),
    responses: {
      201: { description: "The new badge", schema: DefinitionSchema },
      409: { description: "BADGE_EXISTS" },
    },
    handler: async (req, res) => {
      const { repeatable, ...input } = req.valid.body;
      res.status(201).json(toWire(await badges.create({ ...input, repeatable: fromWire(repeatable) })));
    },
  });

  api.route({
    method: "put",
    path: "/api/badges/:id",
    summary: "Edit a badge (admin): new criteria or repeatability restart everyone's progress towards it",
    tags,
    security: ["bearer"],
    before: admin,
    params: z.object({ id: BadgeId }),
    body: z.object(editable).partial(),
    responses: {
      200: { description: "The badge after the edit", schema: DefinitionSchema },
      404: { description: "BADGE_NOT_FOUND" },
    },
    handler: async (req, res) => {
      const { repeatable, ...patch } = req.valid.body;
      res.json(toWire(await badges.update(req.valid.params.id, { ...patch, repeatable: fromWire(repeatable) })));
    },
  });

  api.route({
    method: "get",
    path: "/api/users/:id/badges",
    summary: "The badges a user earned, newest first",
    tags,
    params: UserIdParams,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(50),
      cursor: z
        .string()
        .regex(/^\d{1,18}$/)
        .optional()
        .openapi({ description: "nextCursor of the previous page" }),
    }),
    responses: {
      200: {
        description: "Earned badges",
        schema: z.object({ badges: z.array(EarnedSchema), nextCursor: z.string().nullable() }),
      },
      404: { description: "USER_NOT_FOUND" },
    },
    handler: async (req, res) =>
      res.json(await badges.earned(req.valid.params.id, { ...req.valid.query, lang: req.language })),
  });

  api.route({
    method: "get",
    path: "/api/users/me/badges/progress",
    summary: "The caller's progress towards every badge they can see",
    tags,
    security: ["bearer"],
    before: [requireAuth(services.auth)],
    responses: {
      200: { description: "Progress", schema: z.object({ progress: z.array(ProgressSchema) }) },
    },
    handler: async (req, res) => res.json({ progress: await badges.progress(principalOf(req).userId, req.language) }),
  });
}
