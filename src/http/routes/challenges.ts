import { z } from "zod";
import type { Services } from "../../services";
import type { Api } from "../api";
import { principalOf, requireAuth } from "../auth-middleware";

const ChallengeSchema = z
  .object({
    id: z.string().openapi({ description: "`<UTC day>.<definition id>`", example: "2026-12-01.rounds-3" }),
    title: z.string(),
    description: z.string(),
    target: z.number().int(),
    progress: z.number().int(),
    completed: z.boolean(),
    claimed: z.boolean(),
    reward: z.number().int().openapi({ description: "Tokens credited on claim" }),
    endsAt: z.iso.datetime().openapi({ description: "The end of the challenge's UTC day" }),
  })
  .openapi("Challenge");
/** Any short string: a malformed or unknown id is a 404 CHALLENGE_NOT_FOUND from the service. */
const ChallengeParams = z.object({
  id: z.string().min(1).max(100).openapi({ example: "2026-12-01.rounds-3" }),
});

/** Daily challenges: today's set with the caller's progress, and claiming a completed one's reward. */
export function registerChallengeRoutes(api: Api, services: Services) {
  const signedIn = requireAuth(services.auth);
  const tags = ["challenges"];

  api.route({
    method: "get",
    path: "/api/challenges",
    summary: "Today's (UTC) challenges with the caller's progress",
    tags,
    security: ["bearer"],
    before: [signedIn],
    responses: {
      200: {
        description: "Today's challenges",
        schema: z.object({ day: z.iso.date(), challenges: z.array(ChallengeSchema) }),
      },
    },
    handler: async (req, res) => {
      res.json(await services.challenges.list(principalOf(req).userId, req.language));
    },
  });

  api.route({
    method: "post",
    path: "/api/challenges/:id/claim",
    summary: "Credit a completed challenge's reward (once), before its UTC day ends",
    tags,
    security: ["bearer"],
    before: [signedIn],
    params: ChallengeParams,
    responses: {
      200: { description: "Reward credited", schema: z.object({ balance: z.number().int() }) },
      403: { description: "VERIFICATION_REQUIRED: rewards go to accounts with a verified email or phone" },
      404: { description: "CHALLENGE_NOT_FOUND: no such challenge on that day (or a day still to come)" },
      409: { description: "NOT_COMPLETED, ALREADY_CLAIMED" },
      410: { description: "CHALLENGE_EXPIRED: its day is over" },
    },
    handler: async (req, res) => {
      res.json(await services.challenges.claim(principalOf(req).userId, req.valid.params.id));
    },
  });
}
