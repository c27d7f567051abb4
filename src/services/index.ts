import type { Presence } from "@colyseus/core";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import { createAttemptCounter } from "./attempt-counter";
import { AuthService } from "./auth";
import { AuthStateCache } from "./auth-state";
import { LogNotifier, type Notifier, WebhookNotifier } from "./notifier";
import { UserService } from "./users";
import { VerificationService } from "./verification";

export interface ServiceDependencies {
  config: Config;
  dataSource: DataSource;
  presence: Presence;
  redis?: Redis;
  logger: Logger;
}

/** Every service, wired once at start; HTTP routes and rooms receive this. */
export interface Services {
  auth: AuthService;
  users: UserService;
  verification: VerificationService;
  authState: AuthStateCache;
  notifier: Notifier;
}

export function createServices(deps: ServiceDependencies): Services {
  const { config, dataSource, presence, redis } = deps;
  const authState = new AuthStateCache(dataSource, presence);
  const auth = new AuthService({
    dataSource,
    jwtSecret: config.JWT_SECRET,
    authState,
    loginFailures: createAttemptCounter(redis, `${config.REDIS_KEY_PREFIX}attempts:`),
  });
  const notifier = config.NOTIFIER_WEBHOOK_URL
    ? new WebhookNotifier(config.NOTIFIER_WEBHOOK_URL, config.NOTIFIER_WEBHOOK_TOKEN)
    : new LogNotifier(deps.logger.child({ module: "notifier" }));
  return {
    auth,
    users: new UserService(dataSource, auth, authState),
    verification: new VerificationService(dataSource, notifier, config.JWT_SECRET),
    authState,
    notifier,
  };
}

/** Start-up work that needs the services: subscriptions, the operator account. */
export async function startServices(services: Services, config: Config): Promise<void> {
  await services.authState.start();
  if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
    await services.users.ensureAdmin(config.ADMIN_EMAIL, config.ADMIN_PASSWORD);
  }
}
