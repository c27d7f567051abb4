import { z } from "zod";
import type { Services } from "../../services";
import type { Api } from "../api";

const Mode = z.enum(["solo", "versus"]);
const ScoreSchema = z
  .object({
    userId: z.uuid(),
    displayName: z.string(),
    score: z.number().int().openapi({ description: "Sum of the player's hits' points" }),
    hits: z.number().int(),
    misses: z.number().int(),
    rank: z.number().int().openapi({ description: "1..n: score, then hits, then user id" }),
    flagged: z.boolean().openapi({ description: "Kept off the leaderboards (e.g. whacking too fast)" }),
  })
  .openapi("WhackScore");
const AuditSchema = z
  .object({
    roundId: z.uuid(),
    mode: Mode,
    startedAt: z.iso.datetime(),
    endedAt: z.iso.datetime(),
    seedHash: z.string().openapi({ description: "sha256 (hex) of the UTF-8 bytes of `seed`, public from the start" }),
    seed: z.string().openapi({ description: "The round's PRNG seed (64 hex characters), revealed at the end" }),
    moles: z.array(
      z.object({
        moleId: z.number().int(),
        hole: z.number().int(),
        kind: z.enum(["normal", "golden", "bomb"]),
        spawnAt: z.iso.datetime(),
        despawnAt: z.iso.datetime(),
      }),
    ),
    hits: z.array(
      z.object({ moleId: z.number().int(), userId: z.uuid(), at: z.iso.datetime(), points: z.number().int() }),
    ),
    scores: z.array(ScoreSchema),
  })
  .openapi("WhackRoundAudit");
const UserRoundSchema = z
  .object({
    roundId: z.uuid(),
    mode: Mode,
    endedAt: z.iso.datetime(),
    score: z.number().int(),
    hits: z.number().int(),
    misses: z.number().int(),
    rank: z.number().int().openapi({ description: "The user's rank in the round (1 = best)" }),
    players: z.number().int().openapi({ description: "How many played the round" }),
    flagged: z.boolean().openapi({ description: "The user's result was kept off the leaderboards" }),
    endReason: z.string().openapi({
      description:
        "Why the round ended for the user: their own early end (`left`, `session_ended`, …), else the round's (`time_up`, `server_lost`, …)",
    }),
  })
  .openapi("WhackUserRound");

/** Whack-a-mole results: the audit of a finished round, a user's rounds. */
export function registerWhackRoutes(api: Api, services: Services) {
  const tags = ["whack"];

  api.route({
    method: "get",
    path: "/api/whack/rounds/:roundId",
    summary: "Audit of a finished round: seed (sha256(seed) = seedHash), every mole, every hit, the scores",
    tags,
    params: z.object({ roundId: z.uuid() }),
    responses: {
      200: { description: "The round", schema: AuditSchema },
      404: { description: "ROUND_NOT_FOUND: unknown, or still playing (its seed is secret until the end)" },
    },
    handler: async (req, res) => res.json(await services.whack.audit(req.valid.params.roundId)),
  });

  api.route({
    method: "get",
    path: "/api/users/:id/scores",
    summary: "A user's finished whack rounds, newest first (keyset pages)",
    tags,
    params: z.object({ id: z.uuid() }),
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(500).optional().openapi({ description: "nextCursor of the previous page" }),
    }),
    responses: {
      200: {
        description: "Rounds",
        schema: z.object({ rounds: z.array(UserRoundSchema), nextCursor: z.string().nullable() }),
      },
      404: { description: "USER_NOT_FOUND" },
    },
    handler: async (req, res) => res.json(await services.whack.userRounds(req.valid.params.id, req.valid.query)),
  });
}
