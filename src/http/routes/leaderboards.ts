import { z } from "zod";
import { OPERATORS, SORT_ORDERS } from "../../entities";
import type { Services } from "../../services";
import type { Api } from "../api";
import { optionalAuth, principalOf, requireAuth, requireRole } from "../auth-middleware";
import { CleanText } from "../schemas";

const Score = z.number().int().min(-1e15).max(1e15);
const Period = z.string().max(40).default("current").openapi({
  description: "`current` (default), `previous`, or the ISO start of a period",
});
const Limit = z.coerce.number().int().min(1).max(100).default(10);

const BoardSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    sortOrder: z.enum(SORT_ORDERS),
    operator: z.enum(OPERATORS),
    resetSchedule: z.string().nullable(),
    authoritative: z.boolean(),
    periodStart: z.iso.datetime().nullable().openapi({ description: "null on boards that never reset" }),
    periodEnd: z.iso.datetime().nullable(),
  })
  .openapi("Leaderboard");
const RecordSchema = z
  .object({
    rank: z.number().int(),
    userId: z.uuid(),
    displayName: z.string(),
    score: z.number().int(),
    subscore: z.number().int(),
    numScore: z.number().int(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("LeaderboardRecord");
const PeriodBounds = { periodStart: z.iso.datetime().nullable(), periodEnd: z.iso.datetime().nullable() };
const BoardId = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "a slug: lowercase letters, digits, dashes")
  .max(64);
const BoardParams = z.object({ id: BoardId });
const UserParams = z.object({ id: BoardId, userId: z.uuid() });
const AroundParams = z.object({ id: BoardId, userId: z.union([z.uuid(), z.literal("me")]) });

/** Leaderboards: definitions (admin), ranked pages, around a user, one record; players submit to open boards. */
export function registerLeaderboardRoutes(api: Api, services: Services) {
  const admin = [requireAuth(services.auth), requireRole("admin")];
  const { leaderboards } = services;
  const tags = ["leaderboards"];
  const notFound = { description: "LEADERBOARD_NOT_FOUND" };

  api.route({
    method: "get",
    path: "/api/leaderboards",
    summary: "Leaderboard definitions with their current period",
    tags,
    responses: { 200: { description: "Definitions", schema: z.object({ leaderboards: z.array(BoardSchema) }) } },
    handler: async (_req, res) => res.json({ leaderboards: await leaderboards.list() }),
  });

  api.route({
    method: "post",
    path: "/api/leaderboards",
    summary: "Create a leaderboard (admin); only the title can change later",
    tags,
    security: ["bearer"],
    before: admin,
    body: z.object({
      id: BoardId,
      title: CleanText(1, 120),
      sortOrder: z.enum(SORT_ORDERS),
      operator: z.enum(OPERATORS),
      resetSchedule: z.string().max(120).nullable().openapi({ description: "5-field cron in UTC; null: no reset" }),
      authoritative: z.boolean(),
    }),
    responses: {
      201: { description: "The new leaderboard", schema: BoardSchema },
      409: { description: "LEADERBOARD_EXISTS" },
    },
    handler: async (req, res) => res.status(201).json(await leaderboards.create(req.valid.body)),
  });

  api.route({
    method: "delete",
    path: "/api/leaderboards/:id",
    summary: "Delete a leaderboard and all its records (admin)",
    tags,
    security: ["bearer"],
    before: admin,
    params: BoardParams,
    responses: { 204: { description: "Deleted" }, 404: notFound },
    handler: async (req, res) => {
      await leaderboards.delete(req.valid.params.id);
      res.status(204).end();
    },
  });

  api.route({
    method: "get",
    path: "/api/leaderboards/:id/records",
    summary: "A page of ranked records; keyset cursors in both directions",
    tags,
    params: BoardParams,
    query: z.object({ limit: Limit, cursor: z.string().max(1000).optional(), period: Period }),
    responses: {
      200: {
        description: "Records in rank order",
        schema: z.object({
          records: z.array(RecordSchema),
          nextCursor: z.string().nullable(),
          prevCursor: z.string().nullable(),
          ...PeriodBounds,
        }),
      },
      404: notFound,
    },
    handler: async (req, res) => res.json(await leaderboards.records(req.valid.params.id, req.valid.query)),
  });

  api.route({
    method: "get",
    path: "/api/leaderboards/:id/records/around/:userId",
    summary: "A user's record with up to `limit` records above and below (`me`: the caller)",
    tags,
    security: ["bearer"],
    before: [optionalAuth(services.auth)],
    params: AroundParams,
    query: z.object({ limit: Limit, period: Period }),
    responses: {
      200: {
        description: "Records in rank order",
        schema: z.object({ records: z.array(RecordSchema), ...PeriodBounds }),
      },
      401: { description: "`me` without a bearer token" },
      404: { description: "LEADERBOARD_NOT_FOUND, RECORD_NOT_FOUND" },
    },
    handler: async (req, res) => {
      const { id, userId } = req.valid.params;
      const owner = userId === "me" ? principalOf(req).userId : userId;
      res.json(await leaderboards.around(id, owner, req.valid.query));
    },
  });

  api.route({
    method: "get",
    path: "/api/leaderboards/:id/records/:userId",
    summary: "One user's record with its rank",
    tags,
    params: UserParams,
    query: z.object({ period: Period }),
    responses: {
      200: { description: "The record", schema: z.object({ record: RecordSchema, ...PeriodBounds }) },
      404: { description: "LEADERBOARD_NOT_FOUND, RECORD_NOT_FOUND" },
    },
    handler: async (req, res) => {
      const { id, userId } = req.valid.params;
      res.json(await leaderboards.record(id, userId, req.valid.query.period));
    },
  });

  api.route({
    method: "post",
    path: "/api/leaderboards/:id/records",
    summary: "Submit the caller's score to a non-authoritative board (the board's operator applies)",
    tags,
    security: ["bearer"],
    before: [requireAuth(services.auth)],
    params: BoardParams,
    body: z.object({ score: Score, subscore: Score.optional() }),
    responses: {
      200: { description: "The caller's record after the write", schema: RecordSchema },
      403: { description: "LEADERBOARD_AUTHORITATIVE: the game alone writes this board" },
      404: notFound,
    },
    handler: async (req, res) => {
      const { score, subscore } = req.valid.body;
      res.json(await leaderboards.submitAsPlayer(req.valid.params.id, principalOf(req).userId, score, subscore));
    },
  });
}
