import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type ServerProcess, startServerProcess } from "../helpers/process";

/** Ports for what these tests spawn: the server, coturn's listener, and coturn's relay range. */
export const PORTS = { server: 47510, turn: 47520, relayMin: 47600, relayMax: 47699 };
export const TURN_SECRET = "browser-tests-turn-shared-secret";
const ROOT = path.resolve(__dirname, "../..");

/** Where screenshots go; CI prints this path. */
export const SCREENSHOT_DIR = path.resolve(process.env.SCREENSHOT_DIR ?? path.join(ROOT, ".tmp/screenshots"));

/**
 * The server as `npm start` runs it (development mode, embedded database), with
 * short whack rounds, relaxed per-IP limits (every browser is 127.0.0.1) and
 * TURN credentials pointing at the local coturn.
 */
export async function startServer(): Promise<ServerProcess & { dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-browser-"));
  const server = await startServerProcess({
    NODE_ENV: "development",
    PORT: String(PORTS.server),
    DATA_DIR: dataDir,
    DATABASE_URL: "",
    REDIS_URL: "",
    LOG_LEVEL: "info",
    RATE_LIMIT_MAX: "100000",
    AUTH_RATE_LIMIT_MAX: "100000",
    WHACK_ROUND_SEC: "8",
    TURN_SHARED_SECRET: TURN_SECRET,
    TURN_URIS: `turn:127.0.0.1:${PORTS.turn}?transport=udp`,
  });
  return Object.assign(server, { dataDir });
}

/** A local coturn (`use-auth-secret` with the server's TURN_SHARED_SECRET), relaying on loopback only. */
export async function startCoturn(): Promise<{ stop: () => Promise<void>; output: () => string }> {
  const child: ChildProcess = spawn(
    process.env.TURNSERVER_PATH ?? "turnserver",
    [
      "-n",
      "--listening-ip=127.0.0.1",
      "--relay-ip=127.0.0.1",
      `--listening-port=${PORTS.turn}`,
      `--min-port=${PORTS.relayMin}`,
      `--max-port=${PORTS.relayMax}`,
      "--use-auth-secret",
      `--static-auth-secret=${TURN_SECRET}`,
      "--realm=arcadia.test",
      "--fingerprint",
      "--no-tls",
      "--no-dtls",
      "--no-cli",
      "--allow-loopback-peers",
      "--no-multicast-peers",
      "--log-file=stdout",
      "--simple-log",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("error", (err) => (output += `spawn failed: ${err.message}`));
  const deadline = Date.now() + 10_000;
  while (!/listener opened on|Total General servers/i.test(output)) {
    if (child.exitCode !== null || output.includes("spawn failed")) throw new Error(`coturn did not start:\n${output}`);
    if (Date.now() > deadline) throw new Error(`coturn not ready within 10 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Debian's chromium, with a fake camera and microphone granted without a prompt. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      // Host candidates on 127.0.0.1 (the two peers share this machine).
      "--allow-loopback-in-peer-connection",
      "--no-sandbox",
    ],
  });
}

export interface Tab {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught exceptions so far. */
  errors: string[];
}

export async function openTab(browser: Browser, baseUrl: string): Promise<Tab> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    errors.push(`${m.text()} (${m.location().url ?? ""})`);
  });
  page.on("pageerror", (err) => errors.push(`uncaught: ${err.message}`));
  await page.goto("/");
  return { page, context, errors };
}

let accounts = 0;

/** Signs up through the page's form; resolves once the signed-in navigation shows. */
export async function signUp(tab: Tab, displayName: string) {
  const { page } = tab;
  await page.fill("#signup [name=displayName]", displayName);
  await page.fill("#signup [name=email]", `browser-${process.pid}-${++accounts}-${Date.now()}@arcadia.test`);
  await page.fill("#signup [name=password]", `Browser-tests-${Date.now()}-passphrase`);
  await page.click("#signup button");
  await page.waitForSelector("#nav a[href='#/wallet']");
}

/** Demo tokens through the wallet screen (the queue needs one, tips need some). */
export async function getDemoTokens(tab: Tab) {
  await go(tab, "wallet");
  await tab.page.click("#demo-tokens");
  await tab.page.waitForFunction(() => Number(document.querySelector("#balance")?.textContent) >= 100);
}

export async function go(tab: Tab, hash: string) {
  await tab.page.evaluate((h) => (location.hash = `#/${h}`), hash);
  await tab.page.waitForFunction((h) => document.getElementById("screen")?.dataset.screen === h.split("/")[0], hash);
}

export async function screenshot(tab: Tab, name: string) {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await tab.page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}
