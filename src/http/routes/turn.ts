import { z } from "zod";
import type { Services } from "../../services";
import type { Api } from "../api";
import { principalOf, requireAuth } from "../auth-middleware";

/** POST /api/turn/credentials: short-lived TURN credentials for WebRTC calls. */
export function registerTurnRoutes(api: Api, services: Services) {
  api.route({
    method: "post",
    path: "/api/turn/credentials",
    summary: "TURN credentials for the signed-in user (coturn use-auth-secret scheme)",
    tags: ["video"],
    security: ["bearer"],
    before: [requireAuth(services.auth)],
    responses: {
      200: {
        description: "Credentials valid for ttl seconds",
        schema: z.object({
          username: z.string(),
          credential: z.string(),
          ttl: z.number().int(),
          uris: z.array(z.string()),
        }),
      },
      503: { description: "TURN_NOT_CONFIGURED" },
    },
    handler: (req, res) => res.json(services.turn.credentials(principalOf(req).userId)),
  });
}
