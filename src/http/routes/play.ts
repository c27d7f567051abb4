import { z } from "zod";
import type { Services } from "../../services";
import { unauthorized } from "../../services/errors";
import type { Api } from "../api";
import { bearerToken, principalOf, requireAuth } from "../auth-middleware";

const Grant = { sessionToken: z.string(), expiresAt: z.iso.datetime() };

/** /api/play/*: the HTTP door to play sessions (the room is the other door). */
export function registerPlayRoutes(api: Api, services: Services) {
  const tags = ["play"];
  const sessionToken = (req: Parameters<typeof bearerToken>[0]) => {
    const token = bearerToken(req);
    if (!token) throw unauthorized("Send Authorization: Bearer <sessionToken>", "SESSION_TOKEN_REQUIRED");
    return token;
  };

  api.route({
    method: "post",
    path: "/api/play/start",
    summary: "Start a play session (paid games charge the first minute)",
    tags,
    security: ["bearer"],
    before: [requireAuth(services.auth)],
    body: z.object({ gameId: z.uuid() }),
    responses: {
      201: {
        description: "Started; join roomId with the SDK to get pushes",
        schema: z.object({ sessionId: z.uuid(), heartbeatIntervalSec: z.number(), roomId: z.string(), ...Grant }),
      },
      402: { description: "The wallet cannot pay the first minute" },
      409: { description: "A live session exists (its id in details.sessionId)" },
    },
    handler: async (req, res) => {
      res.status(201).json(await services.play.start(principalOf(req).userId, req.valid.body.gameId));
    },
  });

  api.route({
    method: "post",
    path: "/api/play/heartbeat",
    summary: "Keep the session alive: bills elapsed time and returns a new session token",
    tags,
    security: ["sessionToken"],
    responses: {
      200: { description: "A fresh token", schema: z.object(Grant) },
      401: { description: "The session ended or the token is invalid" },
      402: { description: "Out of tokens: the session ended" },
    },
    handler: async (req, res) => res.json(await services.play.heartbeatByToken(sessionToken(req))),
  });

  api.route({
    method: "post",
    path: "/api/play/stop",
    summary: "End the session",
    tags,
    security: ["sessionToken"],
    responses: {
      200: {
        description: "Ended",
        schema: z.object({ sessionId: z.uuid(), durationSec: z.number(), charged: z.number() }),
      },
    },
    handler: async (req, res) => res.json(await services.play.stopByToken(sessionToken(req))),
  });
}
