import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { passwordProblem } from "./services/passwords";

/**
 * Every environment variable the server reads, parsed and validated once.
 * Nothing else in src/ reads process.env.
 */

const port = z.coerce.number().int().min(0).max(65535);
const seconds = z.coerce.number().int().positive();
const csv = z.string().transform((s) =>
  s
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean),
);
const optionalString = z
  .string()
  .optional()
  .transform((s) => (s === "" ? undefined : s));
const secret = optionalString.refine((s) => s === undefined || s.length >= 32, {
  message: "must be at least 32 characters",
});
/** A StarkNet felt as hex (addresses, keys): 0x and 1–64 hex digits. */
const starknetFelt = optionalString.refine((s) => s === undefined || /^0x[0-9a-fA-F]{1,64}$/.test(s), {
  message: "must be 0x and 1–64 hexadecimal digits",
});
/** Agora app ids and certificates are 32 hex digits (agora-token refuses anything else). */
const agoraKey = optionalString.refine((s) => s === undefined || /^[0-9a-fA-F]{32}$/.test(s), {
  message: "must be 32 hexadecimal digits",
});
const url = (protocols: string[]) =>
  optionalString.refine((s) => s === undefined || (URL.canParse(s) && protocols.includes(new URL(s).protocol)), {
    message: `must be a URL (${protocols.join(" or ")})`,
  });

const envSchema = z.object({
  PORT: port.default(2567),
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: url(["postgres:", "postgresql:"]),
  REDIS_URL: url(["redis:", "rediss:"]),
  /** How long start-up waits for PostgreSQL to become reachable (retrying with backoff) before exiting with 1. */
  DATABASE_STARTUP_TIMEOUT_SEC: seconds.default(60),
  /** The same for Redis. */
  REDIS_STARTUP_TIMEOUT_SEC: seconds.default(60),
  /** Prefix of our own Redis keys, so several deployments (or test runs) can share one Redis. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[\w:.-]{1,64}$/)
    .default("arcadia:"),
  /** host:port clients use to reach this process; required per process when several share Redis. */
  PUBLIC_ADDRESS: optionalString,
  /** The URL browsers use to reach the service; https:// turns on HSTS and upgrade-insecure-requests. */
  PUBLIC_URL: url(["http:", "https:"]),
  /** Express "trust proxy" setting: number of proxy hops, or false. */
  TRUST_PROXY: z.coerce.number().int().min(0).default(0),
  JWT_SECRET: secret,
  SESSION_JWT_SECRET: secret,
  SESSION_JWT_TTL_SEC: seconds.default(300),
  HEARTBEAT_INTERVAL_SEC: seconds.default(45),
  /** Paid play is billed per started period of this length (a minute); shorter only for tests. */
  PLAY_BILLING_PERIOD_SEC: seconds.default(60),
  ASSET_UPLOAD_LIMIT_MB: z.coerce.number().int().positive().default(512),
  /**
   * Behind nginx: after authorising, answer with X-Accel-Redirect to this internal location
   * (aliased to ASSET_STORAGE_ROOT) and let nginx send the bytes with sendfile.
   */
  ASSET_ACCEL_REDIRECT_PREFIX: optionalString.pipe(
    z
      .string()
      .regex(/^\/[\w\-/]*\/$/, "a path starting and ending with /")
      .optional(),
  ),
  ASSET_STORAGE_ROOT: z.string().min(1).optional(),
  CORS_ORIGINS: csv.pipe(z.array(z.url())).default([]),
  JSON_BODY_LIMIT_KB: z.coerce.number().int().positive().default(100),
  STRIPE_SECRET_KEY: optionalString,
  STRIPE_API_URL: url(["http:", "https:"]),
  STRIPE_WEBHOOK_SECRET: optionalString,
  /** Where Stripe Checkout sends the player back; {CHECKOUT_SESSION_ID} is filled in by Stripe. */
  CHECKOUT_SUCCESS_URL: z.url().default("http://localhost:2567/checkout/success?session_id={CHECKOUT_SESSION_ID}"),
  CHECKOUT_CANCEL_URL: z.url().default("http://localhost:2567/checkout/cancelled"),
  HIVE_WEBHOOK_SECRET: optionalString,
  /** Where call starts are announced to the AI moderation provider (fire-and-forget); unset = not announced. */
  HIVE_API_URL: url(["http:", "https:"]),
  HIVE_API_KEY: optionalString,
  TURN_SHARED_SECRET: optionalString,
  /** Agora project credentials (32 hex digits each); both set = calls also get Agora RTC/RTM tokens. */
  AGORA_APP_ID: agoraKey,
  AGORA_APP_CERTIFICATE: agoraKey,
  /** A StarkNet JSON-RPC node; set = wallet sign-in (SNIP-12) is on. */
  STARKNET_RPC_URL: url(["http:", "https:"]),
  /** The server's account contract, its signing key and the badge contract: all three = awarded badges are minted. */
  STARKNET_ACCOUNT_ADDRESS: starknetFelt,
  STARKNET_PRIVATE_KEY: starknetFelt,
  STARKNET_BADGE_CONTRACT: starknetFelt,
  /** The SNIP-12 domain of the sign-in message (short strings: at most 31 ASCII characters). */
  STARKNET_DOMAIN_NAME: z
    .string()
    .regex(/^[\x20-\x7e]{1,31}$/, "1–31 ASCII characters")
    .default("Arcadia"),
  STARKNET_DOMAIN_VERSION: z
    .string()
    .regex(/^[\x20-\x7e]{1,31}$/, "1–31 ASCII characters")
    .default("1"),
  /** How long a sign-in challenge may be answered. */
  STARKNET_CHALLENGE_TTL_SEC: z.coerce.number().int().min(1).max(3600).default(300),
  /** One JSON-RPC request waits at most this long (a hung node counts as unavailable). */
  STARKNET_RPC_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** First retry delay of a mint after a transient failure; doubled per attempt up to 5 minutes. */
  STARKNET_RETRY_BASE_MS: z.coerce.number().int().positive().default(2_000),
  /** How often the mint worker looks at the outbox and the transactions it sent. */
  STARKNET_POLL_MS: z.coerce.number().int().min(50).max(600_000).default(3_000),
  TURN_URIS: csv.default([]),
  TURN_TTL_SEC: seconds.default(3600),
  MATCH_REGIONS: csv
    .pipe(z.array(z.string().regex(/^[a-z]{2,8}$/, "lowercase region codes")).min(1))
    .default(["eu", "na", "sa", "as", "af", "oc"]),
  CALL_DURATION_SEC: seconds.default(45),
  CHOICE_TIMEOUT_SEC: seconds.default(60),
  /** A matched peer who has not joined the call by then cancels it. */
  CALL_JOIN_TIMEOUT_SEC: seconds.default(15),
  /** How long a dropped peer may take to reconnect before the call ends. */
  CALL_RECONNECT_SEC: seconds.default(10),
  /** Length of play in a whack round (after the 3 s countdown). */
  WHACK_ROUND_SEC: z.coerce.number().int().min(1).max(600).default(60),
  /** How long a dropped whack player may take to reconnect before they count as gone. */
  WHACK_RECONNECT_SEC: seconds.default(10),
  /**
   * A process's liveness lease lasts this long and is renewed every third of it;
   * a process silent for this long is taken for dead and its leftovers are swept.
   */
  PROCESS_LEASE_TTL_SEC: z.coerce.number().int().min(3).max(300).default(6),
  /** A live stream whose owner has not been connected to its room for this long ends. */
  STREAM_OWNER_GRACE_SEC: seconds.default(300),
  /** A room seat must be taken within this; a room nobody joined is disposed after it. */
  ROOM_SEAT_RESERVATION_SEC: seconds.default(15),
  /** Rooms one user may have created and not yet joined (cluster-wide, in presence). */
  ROOM_CREATE_CAP: z.coerce.number().int().positive().default(5),
  /** Two users who were just matched are not paired again for this long. */
  MATCH_REPEAT_COOLDOWN_SEC: seconds.default(600),
  /** Where verification codes go (an email/SMS gateway); required in production. Unset elsewhere = the debug log. */
  NOTIFIER_WEBHOOK_URL: url(["http:", "https:"]),
  NOTIFIER_WEBHOOK_TOKEN: optionalString,
  ADMIN_EMAIL: optionalString.pipe(z.email().optional()),
  ADMIN_PASSWORD: optionalString,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  RATE_LIMIT_WINDOW_SEC: seconds.default(60),
  RATE_LIMIT_MAX: z.coerce.number().int().positive().default(600),
  AUTH_RATE_LIMIT_MAX: z.coerce.number().int().positive().default(30),
  POSTHOG_API_KEY: optionalString,
  POSTHOG_HOST: url(["http:", "https:"]),
  MIXPANEL_TOKEN: optionalString,
  MIXPANEL_API_URL: url(["http:", "https:"]),
  PLAUSIBLE_DOMAIN: optionalString,
  PLAUSIBLE_API_URL: url(["http:", "https:"]),
  GA4_MEASUREMENT_ID: optionalString,
  GA4_API_SECRET: optionalString,
  GA4_API_URL: url(["http:", "https:"]),
  /** HMAC key of the pseudonymous user ids sent to analytics providers. */
  ANALYTICS_ID_SECRET: secret,
  /** Most outbox rows kept per provider while it is down; the oldest beyond are dropped (counted). */
  ANALYTICS_OUTBOX_MAX_ROWS: z.coerce.number().int().positive().default(100_000),
  /** First retry delay of a failed analytics batch; doubled per attempt (with jitter) up to 10 minutes. */
  ANALYTICS_RETRY_BASE_MS: z.coerce.number().int().positive().default(1_000),
  /** Delivered domain events older than this are deleted (in batches, by every process); a week by default. */
  DOMAIN_EVENT_RETENTION_HOURS: z.coerce.number().int().min(1).max(87_600).default(168),
  /** How often one process of the deployment checks the wallet invariants (0 = never). */
  WALLET_INVARIANT_CHECK_SEC: z.coerce.number().int().min(0).max(86_400).default(300),
});

type Env = z.infer<typeof envSchema>;

/** Every variable name the server reads (the test keeps .env.example in step with it). */
export const ENV_VARIABLES = Object.keys(envSchema.shape);

export interface EnvDoc {
  /** What the variable does, for the README's environment table (`npm run docs:env`). */
  meaning: string;
  /** Shown instead of the schema's default when that is computed at start or absent. */
  default?: string;
}

/** The operator's documentation of every variable; the README table is generated from it. */
export const ENV_DOCS = {
  PORT: { meaning: "HTTP + WebSocket port" },
  NODE_ENV: { meaning: "`production` requires the JWT secrets and `NOTIFIER_WEBHOOK_URL`" },
  DATA_DIR: { meaning: "embedded database, generated development secrets, default asset root" },
  DATABASE_URL: { meaning: "PostgreSQL; unset = embedded PGlite" },
  REDIS_URL: { meaning: "Redis presence, driver and shared counters; unset = in-process" },
  REDIS_KEY_PREFIX: {
    meaning: "prefix of our own Redis keys (Colyseus's keys ignore it: one Redis database per deployment)",
  },
  PUBLIC_ADDRESS: { meaning: "`host:port[/path]` clients use to reach this process; needed per process with Redis" },
  PUBLIC_URL: { meaning: "URL browsers use; `https://…` sends HSTS and `upgrade-insecure-requests`" },
  TRUST_PROXY: { meaning: "proxy hops in front of the server, for client IPs in rate limits" },
  JWT_SECRET: { meaning: "access-token signing key, ≥ 32 characters", default: "generated (dev)" },
  SESSION_JWT_SECRET: { meaning: "play-session-token signing key, ≥ 32 characters", default: "generated (dev)" },
  DATABASE_STARTUP_TIMEOUT_SEC: { meaning: "start-up retries PostgreSQL with backoff this long, then exits 1" },
  REDIS_STARTUP_TIMEOUT_SEC: { meaning: "the same for Redis" },
  SESSION_JWT_TTL_SEC: { meaning: "play session token lifetime" },
  HEARTBEAT_INTERVAL_SEC: { meaning: "play session heartbeat interval; two missed intervals expire a session" },
  PLAY_BILLING_PERIOD_SEC: { meaning: "paid games charge their price per started period of this length" },
  ASSET_UPLOAD_LIMIT_MB: { meaning: "larger asset uploads get 413" },
  ASSET_ACCEL_REDIRECT_PREFIX: {
    meaning: "behind nginx (e.g. `/_assets/`): Node authorises, nginx sends the bytes (`X-Accel-Redirect`)",
  },
  ASSET_STORAGE_ROOT: { meaning: "where game assets live", default: "`DATA_DIR/assets`" },
  CORS_ORIGINS: { meaning: "comma-separated browser origins allowed (with credentials)" },
  JSON_BODY_LIMIT_KB: { meaning: "larger JSON bodies get 413" },
  STRIPE_SECRET_KEY: { meaning: "Stripe API key; unset = purchases answer `503 BILLING_NOT_CONFIGURED`" },
  STRIPE_API_URL: { meaning: "another Stripe API host (tests)" },
  STRIPE_WEBHOOK_SECRET: { meaning: "verifies `Stripe-Signature` on `/api/webhooks/stripe`" },
  CHECKOUT_SUCCESS_URL: { meaning: "where Stripe Checkout sends the player after paying" },
  CHECKOUT_CANCEL_URL: { meaning: "where Stripe Checkout sends the player who cancels" },
  HIVE_WEBHOOK_SECRET: { meaning: "verifies `X-Hive-Signature` on `/api/webhooks/hive` (AI moderation)" },
  HIVE_API_URL: { meaning: "call starts are announced to the moderation provider here; unset = off" },
  HIVE_API_KEY: { meaning: "bearer token sent to `HIVE_API_URL`" },
  AGORA_APP_ID: { meaning: "Agora project app id; with `AGORA_APP_CERTIFICATE`, `session:start` carries Agora tokens" },
  AGORA_APP_CERTIFICATE: {
    meaning: "Agora app certificate (primary): signs the RTC and RTM tokens handed to call peers",
  },
  STARKNET_RPC_URL: {
    meaning: "StarkNet JSON-RPC node; set = wallet sign-in, unset = `503 STARKNET_NOT_CONFIGURED`",
  },
  STARKNET_ACCOUNT_ADDRESS: {
    meaning: "the server's account contract that sends mints (all three minting settings or none)",
  },
  STARKNET_PRIVATE_KEY: { meaning: "its Stark private key (secret: never logged)" },
  STARKNET_BADGE_CONTRACT: {
    meaning: "the badge contract: awarded badges of linked users are minted with `mint(to, badge_id)`",
  },
  STARKNET_DOMAIN_NAME: { meaning: "SNIP-12 domain name of the sign-in message" },
  STARKNET_DOMAIN_VERSION: { meaning: "SNIP-12 domain version of the sign-in message" },
  STARKNET_CHALLENGE_TTL_SEC: { meaning: "a sign-in challenge must be answered within this" },
  STARKNET_RPC_TIMEOUT_MS: { meaning: "one StarkNet JSON-RPC request waits at most this long" },
  STARKNET_RETRY_BASE_MS: { meaning: "first retry delay of a mint after a transient failure; doubles up to 5 min" },
  STARKNET_POLL_MS: { meaning: "how often the mint worker checks the outbox and its transactions" },
  TURN_SHARED_SECRET: { meaning: "coturn `use-auth-secret` key; unset = `503 TURN_NOT_CONFIGURED`" },
  TURN_URIS: { meaning: "comma-separated `turn:`/`turns:` URIs handed out with credentials" },
  TURN_TTL_SEC: { meaning: "TURN credential lifetime" },
  MATCH_REGIONS: { meaning: "matchmaking regions" },
  CALL_DURATION_SEC: { meaning: "length of a video call's talk" },
  CHOICE_TIMEOUT_SEC: { meaning: "time to choose MATCH or PASS after the talk; silence counts as PASS" },
  CALL_JOIN_TIMEOUT_SEC: { meaning: "a matched peer missing after this cancels the call" },
  CALL_RECONNECT_SEC: { meaning: "a dropped peer may come back within this" },
  WHACK_ROUND_SEC: { meaning: "length of play in a whack round, after its 3 s countdown (1–600)" },
  WHACK_RECONNECT_SEC: { meaning: "a dropped whack player may come back within this; then they have left" },
  MATCH_REPEAT_COOLDOWN_SEC: { meaning: "two users just matched are not paired again for this long" },
  PROCESS_LEASE_TTL_SEC: { meaning: "a process silent this long is taken for dead (3–300); renewed every third" },
  STREAM_OWNER_GRACE_SEC: { meaning: "a live stream whose owner is not connected this long ends" },
  ROOM_SEAT_RESERVATION_SEC: {
    meaning: "a room seat must be taken within this; an unjoined room is disposed after it",
  },
  ROOM_CREATE_CAP: { meaning: "rooms one user may have created and not yet joined (429 `ROOM_CAP`)" },
  NOTIFIER_WEBHOOK_URL: { meaning: "verification codes are POSTed here (email/SMS gateway); required in production" },
  NOTIFIER_WEBHOOK_TOKEN: { meaning: "bearer token sent to `NOTIFIER_WEBHOOK_URL`" },
  ADMIN_EMAIL: { meaning: "the admin account, created or updated at start (monitor login)" },
  ADMIN_PASSWORD: { meaning: "its password; required with `ADMIN_EMAIL`; must pass the password policy" },
  LOG_LEVEL: { meaning: "pino level" },
  RATE_LIMIT_WINDOW_SEC: { meaning: "window of the per-IP rate limits" },
  RATE_LIMIT_MAX: {
    meaning: "per-IP and per-user limit per window, HTTP and `/matchmake` (not `/health*`, `/metrics`)",
  },
  AUTH_RATE_LIMIT_MAX: { meaning: "per-IP limit per window on `/api/auth/*`" },
  POSTHOG_API_KEY: { meaning: "PostHog project API key; unset = no events to PostHog" },
  POSTHOG_HOST: { meaning: "PostHog ingestion host", default: "`https://us.i.posthog.com`" },
  MIXPANEL_TOKEN: {
    meaning: "Mixpanel project token (basic-auth user of `/import`); unset = no events to Mixpanel",
  },
  MIXPANEL_API_URL: {
    meaning: "Mixpanel API host (EU: `https://api-eu.mixpanel.com`)",
    default: "`https://api.mixpanel.com`",
  },
  PLAUSIBLE_DOMAIN: { meaning: "site domain in Plausible; unset = no events to Plausible" },
  PLAUSIBLE_API_URL: { meaning: "Plausible host (self-hosted)", default: "`https://plausible.io`" },
  GA4_MEASUREMENT_ID: { meaning: "GA4 measurement id (`G-…`); with `GA4_API_SECRET`, events go to GA4" },
  GA4_API_SECRET: { meaning: "GA4 Measurement Protocol API secret" },
  GA4_API_URL: { meaning: "GA4 Measurement Protocol host", default: "`https://www.google-analytics.com`" },
  ANALYTICS_ID_SECRET: {
    meaning:
      "HMAC key of the pseudonymous user ids sent to analytics, ≥ 32 characters; required in production with a provider",
    default: "generated (dev)",
  },
  ANALYTICS_OUTBOX_MAX_ROWS: {
    meaning: "analytics rows kept per provider while it is down; oldest beyond are dropped",
  },
  ANALYTICS_RETRY_BASE_MS: {
    meaning: "first retry delay of a failed analytics batch; doubles (with jitter) up to 10 min",
  },
  DOMAIN_EVENT_RETENTION_HOURS: {
    meaning:
      "delivered domain events older than this are deleted (1–87600); pending and poisoned deliveries keep theirs",
  },
  WALLET_INVARIANT_CHECK_SEC: {
    meaning:
      "one process checks the wallet invariants this often (0 = off; 0–86400); results in `wallet_invariant_*` metrics",
  },
} satisfies Record<keyof typeof envSchema.shape, EnvDoc>;

/** The default the schema applies when the variable is unset, or undefined. */
export function envDefault(name: keyof typeof envSchema.shape): unknown {
  const parsed = envSchema.shape[name].safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
}

export type Config = Omit<Env, "JWT_SECRET" | "SESSION_JWT_SECRET" | "ANALYTICS_ID_SECRET" | "ASSET_STORAGE_ROOT"> & {
  JWT_SECRET: string;
  SESSION_JWT_SECRET: string;
  ANALYTICS_ID_SECRET: string;
  ASSET_STORAGE_ROOT: string;
  isProduction: boolean;
};

/** A start-up failure whose message tells the operator what to fix (printed without a stack). */
export class StartupError extends Error {}
export class ConfigError extends StartupError {}

/** Parses the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid environment:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === "production";
  if (isProduction) {
    const missing = [
      ...(["JWT_SECRET", "SESSION_JWT_SECRET"] as const)
        .filter((k) => !e[k])
        .map((k) => `${k}: required in production (≥ 32 characters)`),
      // Without a real notifier, one-time codes would go to the log.
      ...(e.NOTIFIER_WEBHOOK_URL ? [] : ["NOTIFIER_WEBHOOK_URL: required in production (verification codes)"]),
      // A generated key would change the pseudonymous ids whenever DATA_DIR does.
      ...(!e.ANALYTICS_ID_SECRET &&
      (e.POSTHOG_API_KEY || e.MIXPANEL_TOKEN || e.PLAUSIBLE_DOMAIN || e.GA4_MEASUREMENT_ID)
        ? ["ANALYTICS_ID_SECRET: required in production when an analytics provider is set (≥ 32 characters)"]
        : []),
    ];
    if (missing.length) throw new ConfigError(`Invalid environment:\n${missing.map((m) => `  ${m}`).join("\n")}`);
  }
  if (!e.AGORA_APP_ID !== !e.AGORA_APP_CERTIFICATE) {
    throw new ConfigError("Invalid environment:\n  AGORA_APP_ID, AGORA_APP_CERTIFICATE: set both or neither");
  }
  const minting = [e.STARKNET_ACCOUNT_ADDRESS, e.STARKNET_PRIVATE_KEY, e.STARKNET_BADGE_CONTRACT];
  if (minting.some(Boolean) && !minting.every(Boolean)) {
    throw new ConfigError(
      "Invalid environment:\n  STARKNET_ACCOUNT_ADDRESS, STARKNET_PRIVATE_KEY, STARKNET_BADGE_CONTRACT: set all three or none",
    );
  }
  if (minting.every(Boolean) && !e.STARKNET_RPC_URL) {
    throw new ConfigError("Invalid environment:\n  STARKNET_RPC_URL: required when minting is configured");
  }
  if (e.ADMIN_EMAIL && !e.ADMIN_PASSWORD) {
    throw new ConfigError("Invalid environment:\n  ADMIN_PASSWORD: required when ADMIN_EMAIL is set");
  }
  // The admin account gets the users' password policy, in every environment.
  const adminPasswordProblem =
    e.ADMIN_PASSWORD && passwordProblem(e.ADMIN_PASSWORD, { email: e.ADMIN_EMAIL, displayName: "Admin" });
  if (adminPasswordProblem) {
    throw new ConfigError(`Invalid environment:\n  ADMIN_PASSWORD: ${adminPasswordProblem.message}`);
  }
  const dataDir = path.resolve(e.DATA_DIR);
  const secrets = isProduction
    ? {
        JWT_SECRET: e.JWT_SECRET!,
        SESSION_JWT_SECRET: e.SESSION_JWT_SECRET!,
        // No provider configured: nothing is ever sent, so any key will do.
        ANALYTICS_ID_SECRET: e.ANALYTICS_ID_SECRET ?? randomBytes(48).toString("base64url"),
      }
    : devSecrets(dataDir, e.JWT_SECRET, e.SESSION_JWT_SECRET, e.ANALYTICS_ID_SECRET);
  return {
    ...e,
    ...secrets,
    DATA_DIR: dataDir,
    ASSET_STORAGE_ROOT: path.resolve(e.ASSET_STORAGE_ROOT ?? path.join(dataDir, "assets")),
    isProduction,
  };
}

/**
 * Outside production, secrets not given in the environment are generated once
 * and kept in DATA_DIR/secrets.json (mode 0600), so tokens survive restarts.
 */
function devSecrets(dataDir: string, jwt?: string, session?: string, analytics?: string) {
  const file = path.join(dataDir, "secrets.json");
  let stored: Record<string, string> = {};
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, "utf8"));
  const next = {
    JWT_SECRET: stored.JWT_SECRET ?? randomBytes(48).toString("base64url"),
    SESSION_JWT_SECRET: stored.SESSION_JWT_SECRET ?? randomBytes(48).toString("base64url"),
    ANALYTICS_ID_SECRET: stored.ANALYTICS_ID_SECRET ?? randomBytes(48).toString("base64url"),
  };
  if (
    next.JWT_SECRET !== stored.JWT_SECRET ||
    next.SESSION_JWT_SECRET !== stored.SESSION_JWT_SECRET ||
    next.ANALYTICS_ID_SECRET !== stored.ANALYTICS_ID_SECRET
  ) {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(next, null, 2), { mode: 0o600 });
  }
  return {
    JWT_SECRET: jwt ?? next.JWT_SECRET,
    SESSION_JWT_SECRET: session ?? next.SESSION_JWT_SECRET,
    ANALYTICS_ID_SECRET: analytics ?? next.ANALYTICS_ID_SECRET,
  };
}
