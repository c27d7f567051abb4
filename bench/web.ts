import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { printResult, ratio, summary } from "./lib/measure";
import { spawnServer, stop } from "./lib/servers";

/**
 * The web client: its bundle's size (as served outside development: minified,
 * no source map) and first-load time in Debian's chromium, from navigation to
 * the sign-in screen drawn by the bundle. The first request for the bundle
 * after a start builds it (esbuild, once per process: `firstBundleRequestMs`);
 * page loads are measured in fresh browser contexts (no cache), on the page's clock (navigation start →
 * the sign-in form in the document). Baseline in the same run: the same
 * browser loading /health (one round trip, nothing to run) to its body.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 10);

export async function benchWeb() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-bench-web-"));
  const server = await spawnServer(
    "src/main.ts",
    { NODE_ENV: "test", DATA_DIR: dataDir, LOG_LEVEL: "warn", DATABASE_URL: "", REDIS_URL: "" },
    "/health/ready",
  );
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" });
  try {
    /** The page's own clock: from navigation start until `ready` is in the document. */
    const load = async (route: string, ready: string) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(server.baseUrl + route, { waitUntil: "commit" });
      const at = await page.waitForFunction((sel) => document.querySelector(sel) && performance.now(), ready);
      const ms = (await at.jsonValue()) as number;
      await context.close();
      return ms;
    };
    // The first request after a start builds the bundle (esbuild, once per process).
    const buildStarted = performance.now();
    await (await fetch(`${server.baseUrl}/app.js`)).arrayBuffer();
    const firstRequestMs = performance.now() - buildStarted;
    const firstLoadMs = await load("/", "#signup");
    const later: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      later.push(await load("/", "#signup"));
      bare.push(await load("/health", "body"));
    }
    const js = Buffer.from(await (await fetch(`${server.baseUrl}/app.js`)).arrayBuffer());
    const css = Buffer.from(await (await fetch(`${server.baseUrl}/app.css`)).arrayBuffer());
    const loads = summary(later);
    const baseline = summary(bare);
    return {
      name: "web",
      runs: RUNS,
      bundleBytes: js.length,
      bundleGzipBytes: gzipSync(js).length,
      cssBytes: css.length,
      firstBundleRequestMs: Math.round(firstRequestMs),
      firstBrowserLoadMs: Math.round(firstLoadMs),
      loadMs: loads,
      bareNavigationMs: baseline,
      loadVsBare: ratio("p50" in loads ? loads.p50 : null, "p50" in baseline ? baseline.p50 : null),
    };
  } finally {
    await browser.close();
    await stop(server.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) printResult(benchWeb);
