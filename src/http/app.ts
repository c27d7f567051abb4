import type { Application } from "express";
import helmet from "helmet";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Config } from "../config";
import type { HealthDependencies } from "../services/health";
import { Api } from "./api";
import { installCorsPolicy } from "./cors";
import { errorHandler, notFoundHandler } from "./errors";
import { mountMonitor } from "./monitor";
import { observability } from "./observability";
import { createRegistry } from "./openapi";
import { createRateLimiter } from "./rate-limit";
import { registerOpsRoutes } from "./routes/ops";

export interface HttpDependencies extends HealthDependencies {
  config: Config;
  logger: Logger;
  redis?: Redis;
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

  const api = new Api(app, createRegistry(), config.JSON_BODY_LIMIT_KB * 1024);
  registerOpsRoutes(api, deps, deps.version);
  mountMonitor(app, { email: config.ADMIN_EMAIL, password: config.ADMIN_PASSWORD });

  app.use(notFoundHandler);
  app.use(errorHandler({ exposeStack: config.NODE_ENV === "development" }));
  return api;
}
