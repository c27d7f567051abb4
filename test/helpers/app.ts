import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { TestClient } from "./sdk";
import { type RunningApp, startApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { seed } from "../../src/services/seed";
import { createScratchDatabase } from "./database";
import { type FakeHive, startFakeHive } from "./fake-hive";
import { type FakeNotifier, startFakeNotifier } from "./fake-notifier";
import { type FakeStarknet, startFakeStarknet } from "./fake-starknet";
import { type FakeStripe, startFakeStripe } from "./fake-stripe";

export const ADMIN = { email: "ops@arcadia.test", password: "correct-horse-battery-staple" };
export const STRIPE_WEBHOOK_SECRET = "whsec_test_arcadia_webhook_secret";
export const TURN_SHARED_SECRET = "turn-shared-secret-for-tests";
export const HIVE_WEBHOOK_SECRET = "hive-webhook-secret-for-tests";
export const HIVE_API_KEY = "hive-api-key-for-tests";
/** Agora is on in the shared test server: calls get Agora tokens beside our own relay, which the tests keep using. */
export const AGORA = { appId: "970ca35de60c44645bbae8a215061b33", certificate: "5cfd2fd1755d40ecb72977518be15d3b" };

export interface TestApp {
  app: RunningApp;
  baseUrl: string;
  /** Every log line the server wrote, for assertions (e.g. no secrets). */
  logs: string[];
  stripe: FakeStripe;
  hive: FakeHive;
  /** The email/SMS gateway behind NOTIFIER_WEBHOOK_URL: verification codes arrive here. */
  notifier: FakeNotifier;
  /** The StarkNet JSON-RPC double: wallet sign-in and badge minting are on in the shared server. */
  starknet: FakeStarknet;
  fetch(pathname: string, init?: RequestInit): Promise<Response>;
  sdk(): TestClient;
}

let shared: Promise<TestApp> | undefined;
let booted: TestApp | undefined;
const cleanups: Array<() => Promise<void>> = [];

/**
 * The server under test, booted once per mocha run through the same startApp
 * as `npm start`: a fresh embedded database in a temporary DATA_DIR by default, or a fresh
 * PostgreSQL database plus Redis when DATABASE_URL / REDIS_URL are set.
 */
export function testApp(): Promise<TestApp> {
  return (shared ??= boot().then((t) => (booted = t)));
}

/** The shared app if a suite booted it, without booting it. */
export function peekTestApp(): TestApp | undefined {
  return booted;
}

export function isClusterMode() {
  return Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
}

async function boot(): Promise<TestApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-test-"));
  cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  let databaseUrl: string | undefined;
  if (process.env.DATABASE_URL) {
    const scratch = await createScratchDatabase(process.env.DATABASE_URL);
    databaseUrl = scratch.url;
    cleanups.push(scratch.drop);
  }
  const stripe = await startFakeStripe();
  cleanups.push(() => stripe.close());
  const hive = await startFakeHive();
  cleanups.push(() => hive.close());
  const notifier = await startFakeNotifier();
  cleanups.push(() => notifier.close());
  const starknet = await startFakeStarknet();
  cleanups.push(() => starknet.close());
  const config = loadConfig({
    ...process.env,
    NODE_ENV: "test",
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: "info",
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    RATE_LIMIT_MAX: "100000",
    // Short play timers so expiry and billing are testable: expiry after 2 s, a period is 1 s.
    HEARTBEAT_INTERVAL_SEC: "1",
    PLAY_BILLING_PERIOD_SEC: "1",
    ASSET_UPLOAD_LIMIT_MB: "1",
    AUTH_RATE_LIMIT_MAX: "50000",
    REDIS_KEY_PREFIX: `test-${process.pid}:`,
    CORS_ORIGINS: "https://game.arcadia.test",
    STRIPE_SECRET_KEY: "sk_test_arcadia",
    STRIPE_API_URL: stripe.url,
    STRIPE_WEBHOOK_SECRET,
    TURN_SHARED_SECRET,
    HIVE_WEBHOOK_SECRET,
    HIVE_API_URL: hive.url,
    HIVE_API_KEY: HIVE_API_KEY,
    AGORA_APP_ID: AGORA.appId,
    AGORA_APP_CERTIFICATE: AGORA.certificate,
    NOTIFIER_WEBHOOK_URL: notifier.url,
    // Short call timers: a peer has 2 s to join, a call lasts 3 s, the choice closes 2 s later.
    CALL_JOIN_TIMEOUT_SEC: "2",
    CALL_DURATION_SEC: "3",
    CHOICE_TIMEOUT_SEC: "2",
    CALL_RECONNECT_SEC: "1",
    // Short whack rounds (play after the fixed 3 s countdown); a dropped player has 2 s to come back.
    WHACK_ROUND_SEC: "4",
    WHACK_RECONNECT_SEC: "2",
    // An unjoined room is disposed after 4 s (the cap tests wait for it).
    ROOM_SEAT_RESERVATION_SEC: "4",
    TURN_URIS: "turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp",
    TURN_TTL_SEC: "600",
    STARKNET_RPC_URL: starknet.url,
    STARKNET_ACCOUNT_ADDRESS: starknet.server.address,
    STARKNET_PRIVATE_KEY: starknet.server.keys[0].privateKey,
    STARKNET_BADGE_CONTRACT: starknet.badgeContract,
    // A hung node is given up on after 1 s; the mint worker looks every 100 ms and retries after 100 ms.
    STARKNET_RPC_TIMEOUT_MS: "1000",
    STARKNET_POLL_MS: "100",
    STARKNET_RETRY_BASE_MS: "100",
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      if (process.env.TEST_LOGS) process.stdout.write(chunk);
      done();
    },
  });
  const app = await startApp(config, { port: 0, exitOnShutdown: false, logDestination: sink });
  cleanups.unshift(() => app.stop());
  // A PostgreSQL database is not seeded by start-up: the operator runs `npm run seed`, as here.
  if (databaseUrl) await seed(app.dataSource, app.services.games);
  const baseUrl = `http://127.0.0.1:${app.port}`;
  return {
    app,
    baseUrl,
    logs,
    stripe,
    hive,
    notifier,
    starknet,
    fetch: (pathname, init) => fetch(`${baseUrl}${pathname}`, init),
    sdk: () => new TestClient(baseUrl),
  };
}

export async function stopTestApp() {
  if (!shared) return;
  for (const cleanup of cleanups.splice(0)) await cleanup();
  shared = undefined;
  booted = undefined;
}
