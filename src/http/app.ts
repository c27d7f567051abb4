import type { Application } from "express";
import helmet from "helmet";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Config } from "../config";
import type { Services } from "../services";
import type { HealthDependencies } from "../services/health";
import { Api } from "./api";
import { installCorsPolicy } from "./cors";
import { errorHandler, notFoundHandler } from "./errors";
import { mountMonitor } from "./monitor";
import { observability } from "./observability";
import { createRegistry } from "./openapi";
import { createRateLimiter } from "./rate-limit";
import { registerAssetRoutes } from "./routes/assets";
import { registerAuthRoutes } from "./routes/auth";
import { registerGameRoutes } from "./routes/games";
import { registerMatchRoutes } from "./routes/matches";
import { registerModerationRoutes } from "./routes/moderation";
import { registerOpsRoutes } from "./routes/ops";
import { registerPlayRoutes } from "./routes/play";
import { registerStreamRoutes } from "./routes/streams";
import { registerTurnRoutes } from "./routes/turn";
import { registerUserRoutes } from "./routes/users";
import { registerWalletRoutes } from "./routes/wallet";
import { registerWebhookRoutes } from "./routes/webhooks";

export interface HttpDependencies extends HealthDependencies {
  config: Config;
  logger: Logger;
  redis?: Redis;
  services: Services;
  version: string;
}

const UNLIMITED_PATHS = new Set(["/health", "/health/ready", "/metrics"]);

/** Assembles the Express side app on the app Colyseus' transport hands us. */
export function configureHttp(app: Application, deps: HttpDependencies): Api {
  const { config } = deps;
  app.disable("x-powered-by");
  app.set("trust proxy", config.TRUST_PROXY);
  installCorsPolicy(config.CORS_ORIGINS);

  app.use(observability(deps.logger));
  app.use(
    helmet({
      // Swagger UI at /docs loads its own inline styles.
      contentSecurityPolicy: { directives: { "style-src": ["'self'", "'unsafe-inline'"] } },
      crossOriginResourcePolicy: { policy: "cross-origin" },
    }),
  );
  app.use(
    createRateLimiter({
      name: "global",
      windowSec: config.RATE_LIMIT_WINDOW_SEC,
      max: config.RATE_LIMIT_MAX,
      redis: deps.redis,
      redisKeyPrefix: config.REDIS_KEY_PREFIX,
      skip: (req) => UNLIMITED_PATHS.has(req.path),
    }),
  );

  // Stricter per-IP budget where passwords are guessed.
  const authLimiter = createRateLimiter({
    name: "auth",
    windowSec: config.RATE_LIMIT_WINDOW_SEC,
    max: config.AUTH_RATE_LIMIT_MAX,
    redis: deps.redis,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
  });
  app.use("/api/auth", authLimiter);

  const api = new Api(app, createRegistry(), config.JSON_BODY_LIMIT_KB * 1024);
  registerOpsRoutes(api, deps, deps.version);
  registerAuthRoutes(api, deps.services, config);
  registerUserRoutes(api, deps.services);
  registerWalletRoutes(api, deps.services);
  registerWebhookRoutes(api, deps.services);
  registerGameRoutes(api, deps.services);
  registerPlayRoutes(api, deps.services);
  registerAssetRoutes(api, deps.services, config.ASSET_ACCEL_REDIRECT_PREFIX);
  registerTurnRoutes(api, deps.services);
  registerMatchRoutes(api, deps.services);
  registerStreamRoutes(api, deps.services);
  registerModerationRoutes(api, deps.services);
  mountMonitor(api, deps.services.auth, { secure: config.isProduction, before: [authLimiter] });

  app.use(notFoundHandler);
  app.use(errorHandler({ exposeStack: config.NODE_ENV === "development" }));
  return api;
}
