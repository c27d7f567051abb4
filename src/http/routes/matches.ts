import { z } from "zod";
import type { Services } from "../../services";
import type { Api } from "../api";
import { principalOf, requireAuth } from "../auth-middleware";
import { CleanText, MessagePageQuery, TimePageQuery } from "../schemas";

const Partner = z
  .object({
    id: z.uuid(),
    displayName: z.string(),
    role: z.string(),
    isGuest: z.boolean(),
    createdAt: z.iso.datetime(),
  })
  .openapi("MatchPartner");
const MatchSchema = z
  .object({ id: z.uuid(), callId: z.uuid(), partner: Partner, createdAt: z.iso.datetime() })
  .openapi("Match");
const MatchMessageSchema = z
  .object({
    id: z.string(),
    matchId: z.uuid(),
    fromUserId: z.uuid(),
    text: z.string(),
    createdAt: z.iso.datetime(),
  })
  .openapi("MatchMessage");
const ChoiceOutcomeSchema = z
  .object({
    callId: z.uuid(),
    choice: z.enum(["MATCH", "PASS"]).openapi({ description: "The standing choice: the first one sent" }),
    result: z.enum(["pending", "mutual", "non_mutual"]),
    matchId: z.uuid().optional(),
  })
  .openapi("ChoiceOutcome");
const MatchIdParams = z.object({ id: z.uuid() });

/** The double opt-in after a call, mutual matches and their chat. */
export function registerMatchRoutes(api: Api, services: Services) {
  const signedIn = requireAuth(services.auth);

  api.route({
    method: "post",
    path: "/api/sessions/:callId/choice",
    summary: "MATCH or PASS after a call (same as the room's `choice`); the first choice stands",
    tags: ["video"],
    security: ["bearer"],
    before: [signedIn],
    params: z.object({ callId: z.uuid() }),
    body: z.object({ choice: z.enum(["MATCH", "PASS"]) }),
    responses: {
      200: { description: "The standing choice and the outcome so far", schema: ChoiceOutcomeSchema },
      403: { description: "NOT_PARTICIPANT" },
      404: { description: "CALL_NOT_FOUND" },
      409: { description: "CHOICE_NOT_OPEN (the call is not over) or CHOICE_CLOSED" },
    },
    handler: async (req, res) => {
      const { callId } = req.valid.params;
      res.json(await services.calls.chooseByHttp(callId, principalOf(req).userId, req.valid.body.choice));
    },
  });

  api.route({
    method: "get",
    path: "/api/matches",
    summary: "The signed-in user's mutual matches, newest first, with each partner's profile",
    tags: ["video"],
    security: ["bearer"],
    before: [signedIn],
    query: TimePageQuery,
    responses: {
      200: {
        description: "A page of matches",
        schema: z.object({ matches: z.array(MatchSchema), nextCursor: z.string().nullable() }),
      },
    },
    handler: async (req, res) => {
      res.json(await services.matches.list(principalOf(req).userId, req.valid.query));
    },
  });

  api.route({
    method: "get",
    path: "/api/matches/:id/messages",
    summary: "A match's chat, newest first (participants only)",
    tags: ["video"],
    security: ["bearer"],
    before: [signedIn],
    params: MatchIdParams,
    query: MessagePageQuery,
    responses: {
      200: {
        description: "A page of messages",
        schema: z.object({ messages: z.array(MatchMessageSchema), nextCursor: z.string().nullable() }),
      },
      403: { description: "NOT_PARTICIPANT" },
      404: { description: "MATCH_NOT_FOUND" },
    },
    handler: async (req, res) => {
      res.json(await services.matches.messages(req.valid.params.id, principalOf(req).userId, req.valid.query));
    },
  });

  api.route({
    method: "post",
    path: "/api/matches/:id/messages",
    summary: "Send a chat message to a match; it is also pushed to the match_chat room",
    tags: ["video"],
    security: ["bearer"],
    before: [signedIn],
    params: MatchIdParams,
    body: z.object({ text: CleanText(1, 1000) }),
    responses: {
      201: { description: "Sent", schema: MatchMessageSchema },
      403: { description: "NOT_PARTICIPANT or BLOCKED" },
      404: { description: "MATCH_NOT_FOUND" },
    },
    handler: async (req, res) => {
      const message = await services.matches.post(req.valid.params.id, principalOf(req).userId, req.valid.body.text);
      res.status(201).json(message);
    },
  });
}
