import type { Server } from "node:http";
import type { Application } from "express";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Config } from "../config";
import type { Services } from "../services";
import type { HealthDependencies } from "../services/health";
import { Api } from "./api";
import { answerClientErrorsWithEnvelope } from "./client-errors";
import { installCorsPolicy } from "./cors";
import { errorHandler, notFoundHandler } from "./errors";
import { mountMonitor } from "./monitor";
import { observability } from "./observability";
import { createRegistry } from "./openapi";
import { negotiateLanguage, userLanguage } from "./language";
import { createLimits } from "./limits";
import { gateMatchmaking } from "./matchmake-gate";
import { securityHeaders } from "./security-headers";
import { mountWebClient } from "./web-client";
import { registerAnalyticsRoutes } from "./routes/analytics";
import { registerAssetRoutes } from "./routes/assets";
import { registerAuthRoutes } from "./routes/auth";
import { registerChallengeRoutes } from "./routes/challenges";
import { registerBadgeRoutes } from "./routes/badges";
import { registerStarknetRoutes } from "./routes/starknet";
import { registerDemoRoutes } from "./routes/demo";
import { registerGameRoutes } from "./routes/games";
import { registerI18nRoutes } from "./routes/i18n";
import { registerLeaderboardRoutes } from "./routes/leaderboards";
import { registerMatchRoutes } from "./routes/matches";
import { registerModerationRoutes } from "./routes/moderation";
import { registerOpsRoutes } from "./routes/ops";
import { registerPlayRoutes } from "./routes/play";
import { registerStreamRoutes } from "./routes/streams";
import { registerTurnRoutes } from "./routes/turn";
import { registerUserRoutes } from "./routes/users";
import { registerWalletRoutes } from "./routes/wallet";
import { registerWebhookRoutes } from "./routes/webhooks";
import { registerWhackRoutes } from "./routes/whack";

export interface HttpDependencies extends HealthDependencies {
  config: Config;
  logger: Logger;
  redis?: Redis;
  services: Services;
  version: string;
}

/**
 * Assembles the Express side app on the app Colyseus' transport hands us, and
 * puts the same limits and request log in front of Colyseus' own `/matchmake`
 * routes on `server` (the transport's HTTP server).
 */
export function configureHttp(app: Application, deps: HttpDependencies, server?: Server): Api {
  const { config } = deps;
  app.disable("x-powered-by");
  app.set("trust proxy", config.TRUST_PROXY);
  installCorsPolicy(config.CORS_ORIGINS);

  app.use(negotiateLanguage(deps.services.i18n));
  app.use(observability(deps.logger));
  app.use(securityHeaders({ publicUrlIsHttps: config.PUBLIC_URL?.startsWith("https:") ?? false }));
  const limits = createLimits(deps);
  app.use(limits.perIp, limits.perUser);
  app.use("/api/auth", limits.auth);
  app.use(userLanguage(deps.services.auth, deps.services.i18n));
  if (server) {
    answerClientErrorsWithEnvelope(server, deps.logger);
    gateMatchmaking(server, {
      trustProxy: config.TRUST_PROXY,
      handlers: [...observability(deps.logger), limits.perIp, limits.perUser],
    });
  }

  const api = new Api(app, createRegistry(), config.JSON_BODY_LIMIT_KB * 1024);
  registerOpsRoutes(api, deps, deps.version);
  registerAuthRoutes(api, deps.services, config);
  registerStarknetRoutes(api, deps.services, config);
  registerUserRoutes(api, deps.services);
  registerWalletRoutes(api, deps.services);
  registerWebhookRoutes(api, deps.services);
  registerGameRoutes(api, deps.services);
  registerPlayRoutes(api, deps.services);
  registerAssetRoutes(api, deps.services, config.ASSET_ACCEL_REDIRECT_PREFIX);
  registerTurnRoutes(api, deps.services);
  registerMatchRoutes(api, deps.services);
  registerStreamRoutes(api, deps.services);
  registerLeaderboardRoutes(api, deps.services);
  registerWhackRoutes(api, deps.services);
  registerModerationRoutes(api, deps.services);
  registerAnalyticsRoutes(api, deps.services);
  registerChallengeRoutes(api, deps.services);
  registerBadgeRoutes(api, deps.services);
  registerI18nRoutes(api, deps.services);
  mountMonitor(api, deps.services.auth, { secure: config.isProduction, before: [limits.auth] });
  registerDemoRoutes(api, deps.services, config);
  mountWebClient(api, {
    development: config.NODE_ENV === "development",
    publicUrlIsHttps: config.PUBLIC_URL?.startsWith("https:") ?? false,
    logger: deps.logger,
  });

  app.use(notFoundHandler);
  app.use(errorHandler);
  return api;
}
