import type { Presence } from "@colyseus/core";
import type Stripe from "stripe";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import { leaderboardRankRebuilds } from "../metrics";
import { AnalyticsService } from "./analytics";
import { registerAnalyticsConsumer } from "./analytics-consumer";
import { configuredProviders } from "./analytics-providers";
import { createAttemptCounter } from "./attempt-counter";
import { AuthService } from "./auth";
import { AuthStateCache } from "./auth-state";
import { registerBadgeNotices } from "./badge-notices";
import { BadgeProgress, registerBadgeProgress } from "./badge-progress";
import { BadgeService } from "./badges";
import { BlockService } from "./blocks";
import { CallService } from "./calls";
import { ChallengeService, registerChallengeConsumer } from "./challenges";
import { DomainLog } from "./domain-log";
import { DomainEventPruner } from "./domain-log-pruner";
import { WalletInvariantCheck } from "./wallet-invariant-check";
import { DomainEvents } from "./events";
import { LogNotifier, type Notifier, WebhookNotifier } from "./notifier";
import { AssetAccess } from "./asset-access";
import { GameService } from "./games";
import { AgoraTokens } from "./agora";
import { HiveClient } from "./hive";
import { I18nService } from "./i18n";
import { LeaderboardService } from "./leaderboards";
import { RedisRankIndexes } from "./rank-redis";
import { MatchService } from "./matches";
import { MatchmakingService } from "./matchmaking";
import { ModerationService } from "./moderation";
import { PaymentsService } from "./payments";
import { PlaySessionService } from "./play-sessions";
import { ProcessLeases } from "./process-leases";
import type { RoomGateway } from "./room-gateway";
import { createStarknet, type StarknetService } from "./starknet";
import { StreamService } from "./streams";
import { Sweeper } from "./sweeper";
import { TipService } from "./tips";
import { TurnService } from "./turn";
import { UserService } from "./users";
import { VerificationService } from "./verification";
import { WalletService } from "./wallet";
import { WhackService } from "./whack";
import { createWhackSeats, type WhackSeats } from "./whack-seats";

export interface ServiceDependencies {
  config: Config;
  dataSource: DataSource;
  presence: Presence;
  redis?: Redis;
  logger: Logger;
  /** How services reach rooms (the matchmaker). */
  rooms: RoomGateway;
}

/** Every service, wired once at start; HTTP routes and rooms receive this. */
export interface Services {
  auth: AuthService;
  users: UserService;
  verification: VerificationService;
  authState: AuthStateCache;
  notifier: Notifier;
  events: DomainEvents;
  /** The typed domain-event log (outbox) and its dispatcher: consumers register on it. */
  domainLog: DomainLog;
  /** Deletes delivered domain events after DOMAIN_EVENT_RETENTION_HOURS (a pass per process, every minute). */
  domainEventPruner: DomainEventPruner;
  wallet: WalletService;
  /** Checks the wallet invariants every WALLET_INVARIANT_CHECK_SEC on one process; results as metrics. */
  walletInvariantCheck: WalletInvariantCheck;
  payments: PaymentsService;
  tips: TipService;
  play: PlaySessionService;
  games: GameService;
  assets: AssetAccess;
  turn: TurnService;
  blocks: BlockService;
  moderation: ModerationService;
  hive: HiveClient;
  matchmaking: MatchmakingService;
  calls: CallService;
  matches: MatchService;
  streams: StreamService;
  leaderboards: LeaderboardService;
  whack: WhackService;
  /** Which whack room each play session is seated in (one at a time). */
  whackSeats: WhackSeats;
  leases: ProcessLeases;
  sweeper: Sweeper;
  /** The analytics outbox: `track` inside a transaction, sent to every configured provider. */
  analytics: AnalyticsService;
  /** Daily challenges: today's set, progress from domain events, claims. */
  challenges: ChallengeService;
  /** Badge definitions, awards and progress (advanced by the `badges` domain-event consumer). */
  badges: BadgeService;
  /** Languages and translations: `i18n.text(lang, key, params)` for every user-facing text. */
  i18n: I18nService;
  /** Optional: StarkNet wallet sign-in and badge minting (503 STARKNET_NOT_CONFIGURED without the settings). */
  starknet: StarknetService;
}

export function createServices(deps: ServiceDependencies): Services {
  const { config, dataSource, presence, redis } = deps;
  const leases = new ProcessLeases(presence, config.REDIS_KEY_PREFIX, config.PROCESS_LEASE_TTL_SEC);
  const authState = new AuthStateCache(dataSource, presence);
  const domainLog = new DomainLog(dataSource, { logger: deps.logger.child({ module: "domain-log" }) });
  const auth = new AuthService({
    domainLog,
    dataSource,
    jwtSecret: config.JWT_SECRET,
    authState,
    loginFailures: createAttemptCounter(redis, `${config.REDIS_KEY_PREFIX}attempts:`),
  });
  const notifier = config.NOTIFIER_WEBHOOK_URL
    ? new WebhookNotifier(config.NOTIFIER_WEBHOOK_URL, config.NOTIFIER_WEBHOOK_TOKEN)
    : new LogNotifier(deps.logger.child({ module: "notifier" }));
  const events = new DomainEvents(presence, deps.logger.child({ module: "events" }));
  const i18n = new I18nService(dataSource, events, deps.logger.child({ module: "i18n" }));
  const wallet = new WalletService(dataSource);
  const games = new GameService(dataSource, config.ASSET_STORAGE_ROOT, config.ASSET_UPLOAD_LIMIT_MB * 1024 * 1024);
  const play = new PlaySessionService(
    dataSource,
    wallet,
    deps.rooms,
    presence,
    {
      sessionSecret: config.SESSION_JWT_SECRET,
      sessionTtlSec: config.SESSION_JWT_TTL_SEC,
      heartbeatIntervalSec: config.HEARTBEAT_INTERVAL_SEC,
      billingPeriodSec: config.PLAY_BILLING_PERIOD_SEC,
    },
    leases,
    events,
  );
  const blocks = new BlockService(dataSource);
  const moderation = new ModerationService({
    dataSource,
    events,
    presence,
    hiveWebhookSecret: config.HIVE_WEBHOOK_SECRET,
    logger: deps.logger.child({ module: "moderation" }),
  });
  const hive = new HiveClient(config.HIVE_API_URL, config.HIVE_API_KEY, deps.logger.child({ module: "hive" }));
  const stripe = config.STRIPE_SECRET_KEY ? createStripe(config.STRIPE_SECRET_KEY, config.STRIPE_API_URL) : undefined;
  const matchmaking = new MatchmakingService({
    dataSource,
    presence,
    regions: config.MATCH_REGIONS,
    repeatCooldownSec: config.MATCH_REPEAT_COOLDOWN_SEC,
    keyPrefix: config.REDIS_KEY_PREFIX,
    leases,
  });
  const calls = new CallService(
    dataSource,
    wallet,
    deps.rooms,
    hive,
    {
      durationSec: config.CALL_DURATION_SEC,
      choiceTimeoutSec: config.CHOICE_TIMEOUT_SEC,
      joinTimeoutSec: config.CALL_JOIN_TIMEOUT_SEC,
      reconnectSec: config.CALL_RECONNECT_SEC,
    },
    leases,
    domainLog,
    config.AGORA_APP_ID && config.AGORA_APP_CERTIFICATE
      ? new AgoraTokens(
          config.AGORA_APP_ID,
          config.AGORA_APP_CERTIFICATE,
          config.CALL_DURATION_SEC + config.CHOICE_TIMEOUT_SEC,
        )
      : undefined,
  );
  const streams = new StreamService(
    dataSource,
    events,
    presence,
    config.REDIS_KEY_PREFIX,
    leases,
    config.STREAM_OWNER_GRACE_SEC,
    domainLog,
  );
  const leaderboardLogger = deps.logger.child({ module: "leaderboards" });
  // Cluster mode: ranks live in Redis, shared by every process; otherwise in-process (the default).
  const leaderboards = new LeaderboardService(
    dataSource,
    events,
    leaderboardLogger,
    undefined,
    redis &&
      new RedisRankIndexes(redis, config.REDIS_KEY_PREFIX, {
        onRebuild: (mode) => leaderboardRankRebuilds.inc({ mode }),
        onApplyFailed: (err) => leaderboardLogger.error({ err }, "rank index update failed: rebuilt on next use"),
      }),
  );
  const whack = new WhackService(dataSource, leaderboards, {
    processId: leases.processId,
    domainLog,
    logger: deps.logger.child({ module: "whack" }),
  });
  const sweeper = new Sweeper({
    leases,
    calls,
    play,
    streams,
    matchmaking,
    whack,
    redis,
    keyPrefix: config.REDIS_KEY_PREFIX,
    logger: deps.logger.child({ module: "sweeper" }),
  });
  const analytics = new AnalyticsService(dataSource, configuredProviders(config), {
    idSecret: config.ANALYTICS_ID_SECRET,
    maxRows: config.ANALYTICS_OUTBOX_MAX_ROWS,
    retryBaseMs: config.ANALYTICS_RETRY_BASE_MS,
    logger: deps.logger.child({ module: "analytics" }),
  });
  // Registered on every process before dispatch starts: an event gets a delivery per consumer known when recorded.
  registerAnalyticsConsumer(domainLog, analytics);
  // Badge and challenge texts: the record's own wording in the default language, translations in the others.
  const recordText = (lang: string | undefined, key: string, own: string) => i18n.recordText(lang, key, own);
  const challenges = new ChallengeService(dataSource, wallet, domainLog, {
    texts: recordText,
    events,
    logger: deps.logger.child({ module: "challenges" }),
  });
  registerChallengeConsumer(domainLog, challenges);
  const badges = new BadgeService(dataSource, undefined, recordText);
  registerBadgeProgress(domainLog, new BadgeProgress(badges, wallet, domainLog));
  registerBadgeNotices(domainLog, badges, events);
  const starknet = createStarknet(config, {
    dataSource,
    auth,
    domainLog,
    logger: deps.logger.child({ module: "starknet" }),
  });
  return {
    auth,
    users: new UserService(dataSource, auth, authState),
    verification: new VerificationService(dataSource, notifier, config.JWT_SECRET),
    authState,
    notifier,
    events,
    domainLog,
    domainEventPruner: new DomainEventPruner(dataSource, {
      retentionHours: config.DOMAIN_EVENT_RETENTION_HOURS,
      logger: deps.logger.child({ module: "domain-log" }),
    }),
    wallet,
    walletInvariantCheck: new WalletInvariantCheck(dataSource, wallet, {
      intervalSec: config.WALLET_INVARIANT_CHECK_SEC,
      redis,
      keyPrefix: config.REDIS_KEY_PREFIX,
      logger: deps.logger.child({ module: "wallet-check" }),
    }),
    payments: new PaymentsService(dataSource, wallet, {
      stripe,
      webhookSecret: config.STRIPE_WEBHOOK_SECRET,
      successUrl: config.CHECKOUT_SUCCESS_URL,
      cancelUrl: config.CHECKOUT_CANCEL_URL,
      domainLog,
    }),
    tips: new TipService(dataSource, wallet, events, authState, domainLog),
    games,
    play,
    assets: new AssetAccess(play, games, config.SESSION_JWT_SECRET),
    turn: new TurnService(config.TURN_SHARED_SECRET, config.TURN_URIS, config.TURN_TTL_SEC),
    blocks,
    moderation,
    hive,
    matchmaking,
    calls,
    matches: new MatchService(dataSource, events, (a, b) => blocks.isBlockedEitherWay(a, b)),
    streams,
    leaderboards,
    whack,
    whackSeats: createWhackSeats(redis, config.REDIS_KEY_PREFIX),
    leases,
    sweeper,
    analytics,
    challenges,
    badges,
    i18n,
    starknet,
  };
}

/** The official SDK; STRIPE_API_URL points it at another host (a local fake in tests). */
function createStripe(secretKey: string, apiUrl?: string): Stripe {
  // Required here: the SDK takes a noticeable part of start-up and only billing needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const StripeClient: typeof Stripe = require("stripe");
  if (!apiUrl) return new StripeClient(secretKey, { maxNetworkRetries: 2, timeout: 10_000 });
  const url = new URL(apiUrl);
  return new StripeClient(secretKey, {
    host: url.hostname,
    port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
    protocol: url.protocol.replace(":", "") as "http" | "https",
    maxNetworkRetries: 0,
    timeout: 10_000,
  });
}

/** Start-up work that needs the services: subscriptions, the operator account. */
export async function startServices(services: Services, config: Config): Promise<void> {
  // First: every error any other start-up step answers is already translated.
  await services.i18n.start();
  await services.authState.start();
  await services.moderation.start();
  await services.play.live.start();
  await services.leaderboards.start();
  services.analytics.start();
  // Consumers register while the services are wired (before this); every process dispatches.
  services.domainLog.start();
  services.domainEventPruner.start();
  services.walletInvariantCheck.start();
  services.starknet.start();
  if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
    await services.users.ensureAdmin(config.ADMIN_EMAIL, config.ADMIN_PASSWORD);
  }
}
