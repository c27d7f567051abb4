import { z } from "zod";
import type { Config } from "../../config";
import type { Services } from "../../services";
import { DEMO_BALANCE, DemoTokens } from "../../services/demo-tokens";
import type { Api } from "../api";
import { principalOf, requireAuth } from "../auth-middleware";

/**
 * POST /api/dev/demo-tokens: a local demo is playable without Stripe. Only
 * registered outside production (NODE_ENV=production answers 404).
 */
export function registerDemoRoutes(api: Api, services: Services, config: Pick<Config, "isProduction">) {
  if (config.isProduction) return;
  const demo = new DemoTokens(services.wallet, config.isProduction);
  api.route({
    method: "post",
    path: "/api/dev/demo-tokens",
    summary: `Development only: top the wallet up to ${DEMO_BALANCE} demo tokens (absent in production)`,
    tags: ["wallet"],
    security: ["bearer"],
    before: [requireAuth(services.auth)],
    responses: {
      200: {
        description: "Topped up (granted 0 when the balance was already there)",
        schema: z.object({ granted: z.number().int(), balance: z.number().int() }),
      },
    },
    handler: async (req, res) => res.json(await demo.topUp(principalOf(req).userId)),
  });
}
