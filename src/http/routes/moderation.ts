import { z } from "zod";
import { REPORT_REASONS } from "../../entities";
import type { Services } from "../../services";
import { MAX_BAN_HOURS } from "../../services/moderation";
import { CleanText } from "../../services/text";
import type { Api } from "../api";
import { principalOf, requireAuth, requireRole } from "../auth-middleware";

const REPORT_STATUSES = ["open", "dismissed", "warned", "banned"] as const;

const ReportSchema = z
  .object({
    id: z.uuid(),
    reporterId: z.uuid(),
    reportedUserId: z.uuid(),
    sessionId: z.uuid().nullable(),
    reason: z.enum(REPORT_REASONS),
    details: z.string().nullable(),
    status: z.enum(REPORT_STATUSES),
    moderatorId: z.uuid().nullable(),
    resolvedAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi("Report");

/** Blocks (any user), abuse reports, and the moderators' queue of reports. */
export function registerModerationRoutes(api: Api, services: Services) {
  const signedIn = requireAuth(services.auth);
  const moderators = [signedIn, requireRole("moderator", "admin")];
  const tags = ["moderation"];

  api.route({
    method: "get",
    path: "/api/blocks",
    summary: "The users the caller blocked, newest first",
    tags,
    security: ["bearer"],
    before: [signedIn],
    responses: {
      200: {
        description: "Blocked users",
        schema: z.object({ blocks: z.array(z.object({ userId: z.uuid(), createdAt: z.iso.datetime() })) }),
      },
    },
    handler: async (req, res) => {
      res.json({ blocks: await services.blocks.list(principalOf(req).userId) });
    },
  });

  api.route({
    method: "post",
    path: "/api/blocks",
    summary: "Block a user: the two are never matched again (idempotent)",
    tags,
    security: ["bearer"],
    before: [signedIn],
    body: z.object({ userId: z.uuid() }),
    responses: { 204: { description: "Blocked" }, 404: { description: "No such user" } },
    handler: async (req, res) => {
      await services.blocks.block(principalOf(req).userId, req.valid.body.userId);
      res.status(204).end();
    },
  });

  api.route({
    method: "delete",
    path: "/api/blocks/:userId",
    summary: "Unblock a user (idempotent)",
    tags,
    security: ["bearer"],
    before: [signedIn],
    params: z.object({ userId: z.uuid() }),
    responses: { 204: { description: "Not blocked any more" } },
    handler: async (req, res) => {
      await services.blocks.unblock(principalOf(req).userId, req.valid.params.userId);
      res.status(204).end();
    },
  });

  api.route({
    method: "post",
    path: "/api/reports",
    summary: "Report a user, optionally for a call the two had",
    tags,
    security: ["bearer"],
    before: [signedIn],
    body: z.object({
      reportedUserId: z.uuid(),
      sessionId: z.uuid().optional().openapi({ description: "The callId of a call between the two users" }),
      reason: z.enum(REPORT_REASONS),
      details: CleanText(0, 2000).optional(),
    }),
    responses: {
      201: { description: "Reported", schema: z.object({ report: ReportSchema }) },
      404: { description: "No such user" },
    },
    handler: async (req, res) => {
      res.status(201).json({ report: await services.moderation.report(principalOf(req).userId, req.valid.body) });
    },
  });

  api.route({
    method: "get",
    path: "/api/reports",
    summary: "Reports, newest first (moderators and admins; cursor pagination)",
    tags,
    security: ["bearer"],
    before: moderators,
    query: z.object({
      status: z.enum(REPORT_STATUSES).optional(),
      before: z.uuid().optional().openapi({ description: "nextCursor of the previous page" }),
      limit: z.coerce.number().int().min(1).max(100).default(20),
    }),
    responses: {
      200: {
        description: "A page of reports; pass nextCursor back as before for the next",
        schema: z.object({ reports: z.array(ReportSchema), nextCursor: z.uuid().nullable() }),
      },
      403: { description: "Not a moderator" },
    },
    handler: async (req, res) => {
      res.json(await services.moderation.listReports(req.valid.query));
    },
  });

  api.route({
    method: "post",
    path: "/api/reports/:id/moderate",
    summary:
      "Resolve a report: dismiss, warn the user, or ban them (ends their live call, keeps them out of the queue)",
    tags,
    security: ["bearer"],
    before: moderators,
    params: z.object({ id: z.uuid() }),
    body: z.object({
      action: z.enum(["dismiss", "warn", "ban"]),
      durationHours: z.number().int().min(1).max(MAX_BAN_HOURS).optional().openapi({ description: "Required for ban" }),
    }),
    responses: {
      200: {
        description: "Resolved",
        schema: z.object({ report: ReportSchema, ban: z.object({ expiresAt: z.iso.datetime() }).optional() }),
      },
      403: { description: "Not a moderator" },
      404: { description: "No such report" },
      409: { description: "REPORT_RESOLVED" },
    },
    handler: async (req, res) => {
      res.json(await services.moderation.moderate(req.valid.params.id, principalOf(req).userId, req.valid.body));
    },
  });
}
