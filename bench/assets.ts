import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import express from "express";
import { offloadToNginx, sendAssetFile } from "../src/http/range-response";
import { signSessionToken, verifySessionToken } from "../src/services/session-tokens";
import { startNginx as startDeployNginx } from "../test/helpers/nginx";
import { freePort } from "../test/helpers/process";
import { printResult, sleep } from "./lib/measure";
import { cpuTicks } from "./lib/proc";
import { ROOT } from "./lib/servers";

/**
 * Range throughput: 64 concurrent keep-alive clients, each request a random 1 MiB-aligned 1 MiB
 * range of one 64 MiB file, against these servers on 127.0.0.1 in the same run: ours
 * (sendAssetFile in Express), express.static, nginx alone (sendfile on), ours behind nginx with
 * X-Accel-Redirect (Node authorises every request), and the production asset mode: the deploy
 * config (deploy/nginx/arcadia.conf, rendered as the tests render it) whose auth_request asks a
 * process, caches the answer, and sends the file itself. Each server runs in its own process; the
 * load comes from wrk (its CPU is reported) or, without it, a Node load generator in another process.
 * Targets for 1 MiB ranges: production ≥ 0.8× nginx alone and ours ≥ 1.0× express.static, on
 * 2 cores shared by server and load generator alike.
 */
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const MiB = 1024 * 1024;
const FILE_MIB = 64;
const CONNECTIONS = 64;
const WARMUP_SEC = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** Rounds over the three servers in turn; each figure is the median round (a shared VM is noisy). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FILE_NAME = "asset.bin";
/** The production mode's URL: /api/assets/<uuid>, as clients ask for a game asset. */
const ASSET_ID = "00000000-0000-4000-8000-00000000a55e";
const SESSION_SECRET = randomBytes(32).toString("hex");
/** Every request carries a session token, as a game client's would; only the offload target checks it. */
const TOKEN = signSessionToken(SESSION_SECRET, { sid: "bench", sub: "bench", gid: "bench" }, 3600).token;
/** Children find the same Node 22 as this process first on PATH (tsx's shebang is `env node`). */
const CHILD_ENV = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}` };

interface Target {
  name: string;
  url: string;
  /** The processes serving it (with their children): their CPU per request is reported. */
  pids: () => (number | undefined)[];
  stop(): Promise<void>;
}

interface Load {
  requestsPerSec: number;
  mibPerSec: number;
  errors: number;
  /** wrk's CPU seconds per second of load (2 = both cores). */
  generatorCpuPerSec?: number;
  /** CPU of the serving processes (nginx master and workers, Node) per request. */
  serverCpuMsPerRequest?: number;
}

const serverTicks = (target: Target) => target.pids().reduce((n: number, pid) => n + cpuTicks(pid), 0);

interface Measured extends Load {
  roundsMiBPerSec: number[];
}

/** The median round by MiB/s, with every round's MiB/s and the errors of all rounds. */
function median(rounds: Load[]): Measured {
  const sorted = [...rounds].sort((a, b) => a.mibPerSec - b.mibPerSec);
  return {
    ...sorted[Math.floor(sorted.length / 2)],
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    roundsMiBPerSec: rounds.map((r) => r.mibPerSec),
  };
}

const has = (command: string) => spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;

/** Installs a Debian package when `command` is missing; returns why not when it stays missing. */
function ensureCommand(command: string, packages: string[]): string | undefined {
  if (has(command)) return undefined;
  for (const pkg of packages) {
    spawnSync("apt-get", ["install", "-y", "-q", pkg], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      stdio: "ignore",
    });
    if (has(command)) return undefined;
  }
  return `${command} not installed and \`apt-get install ${packages.join(" or ")}\` did not provide it`;
}

/** One GET with a Range on a new connection (no keep-alive socket left to go stale between phases). */
function getRange(url: string, range: string): Promise<{ status: number; contentRange?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { Range: range, Authorization: `Bearer ${TOKEN}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          contentRange: res.headers["content-range"],
          body: Buffer.concat(chunks),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

async function waitForHttp(url: string, child?: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child && child.exitCode !== null) throw new Error(`${url}: server exited with ${child.exitCode}`);
    try {
      await getRange(url, "bytes=0-0");
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`${url} never answered`);
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill(signal);
  return exited;
}

type ServerKind = "ours" | "static" | "offload" | "authoriser";

/** A Node server (ours, express.static, ours in offload mode, or the authoriser) in its own process: this file in `--serve` mode. */
async function startNodeServer(kind: ServerKind, dir: string): Promise<Target & { port: number }> {
  const port = await freePort();
  const child = spawn(TSX, [__filename, "--serve", kind, dir, String(port)], {
    cwd: ROOT,
    env: { ...CHILD_ENV, NODE_ENV: "production", BENCH_SESSION_SECRET: SESSION_SECRET },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}/${FILE_NAME}`;
  const name = { ours: "ours", static: "expressStatic", offload: "oursOffload", authoriser: "authoriser" }[kind];
  if (kind !== "offload") await waitForHttp(url, child); // offload answers only behind nginx (any answer will do)
  return { name, url, port, pids: () => [child.pid], stop: () => stopChild(child) };
}

/** The `--serve` side: an Express app on `port` serving `dir/asset.bin`. */
function serve(kind: string, dir: string, port: number) {
  const app = express();
  if (kind === "static") {
    app.use(express.static(dir));
  } else if (kind === "authoriser") {
    // The production mode's authoriser (GET /api/assets/:assetId/access): the same token check
    // as offload, answered once per credential and asset per cache TTL, not per request.
    const secret = process.env.BENCH_SESSION_SECRET!;
    let asked = 0;
    app.get("/api/assets/:assetId/access", (req, res) => {
      asked++;
      try {
        verifySessionToken(secret, (req.get("Authorization") ?? "").slice("Bearer ".length));
      } catch {
        return void res.status(401).end();
      }
      res.status(204).set("X-Asset-Path", FILE_NAME).end();
    });
    app.get("/asked", (_req, res) => res.json({ asked }));
  } else if (kind === "offload") {
    // Production's split: Node authorises (the session token's signature), nginx sends the bytes.
    const secret = process.env.BENCH_SESSION_SECRET!;
    app.get(`/${FILE_NAME}`, (req, res) => {
      try {
        verifySessionToken(secret, (req.get("Authorization") ?? "").slice("Bearer ".length));
      } catch {
        return void res.status(401).end();
      }
      offloadToNginx(res, "/_assets/", FILE_NAME, "application/octet-stream");
    });
  } else {
    const filePath = path.join(dir, FILE_NAME);
    const stat = fs.statSync(filePath);
    const file = {
      path: filePath,
      size: stat.size,
      contentType: "application/octet-stream",
      etag: `"${createHash("sha256").update(fs.readFileSync(filePath)).digest("hex")}"`,
      lastModified: stat.mtime,
    };
    app.get(`/${FILE_NAME}`, (req, res) => sendAssetFile(req, res, file));
  }
  app.listen(port, "127.0.0.1");
}

/** nginx with a generated minimal config in its own temp dir, or why it cannot run. */
async function startNginx(dir: string, offloadPort: number, offloadPid?: number): Promise<Target[] | string> {
  const missing = ensureCommand("nginx", ["nginx-light", "nginx"]);
  if (missing) return missing;
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-bench-nginx-"));
  const port = await freePort();
  const proxyPort = await freePort();
  const conf = path.join(prefix, "nginx.conf");
  fs.writeFileSync(
    conf,
    `daemon off;
master_process on;
worker_processes 2;
error_log ${prefix}/error.log;
pid ${prefix}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  default_type application/octet-stream;
  client_body_temp_path ${prefix}/body;
  server {
    listen 127.0.0.1:${port};
    root ${dir};
  }
  upstream arcadia { server 127.0.0.1:${offloadPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${proxyPort};
    location / {
      proxy_pass http://arcadia;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location /_assets/ { internal; alias ${dir}/; }
  }
}
`,
  );
  const child = spawn("nginx", ["-p", prefix, "-e", `${prefix}/error.log`, "-c", conf], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}/${FILE_NAME}`;
  try {
    await waitForHttp(url, child);
  } catch (err) {
    await stopChild(child);
    const log = fs.existsSync(`${prefix}/error.log`) ? fs.readFileSync(`${prefix}/error.log`, "utf8") : "";
    fs.rmSync(prefix, { recursive: true, force: true });
    return `nginx did not start: ${(err as Error).message} ${log.slice(-500)}`;
  }
  return [
    {
      name: "nginx",
      url,
      pids: () => [child.pid],
      stop: async () => {
        await stopChild(child, "SIGQUIT");
        fs.rmSync(prefix, { recursive: true, force: true });
      },
    },
    {
      name: "oursViaNginx",
      url: `http://127.0.0.1:${proxyPort}/${FILE_NAME}`,
      pids: () => [child.pid, offloadPid],
      stop: async () => {},
    },
  ];
}

/** The production asset mode: deploy/nginx/arcadia.conf in front of the authoriser, files from `dir`. */
async function startProduction(dir: string, authoriser: { port: number; pid?: number }): Promise<Target | string> {
  const missing = ensureCommand("nginx", ["nginx-light", "nginx"]);
  if (missing) return missing;
  try {
    const nginx = await startDeployNginx({
      processes: [{ name: "1", address: `127.0.0.1:${authoriser.port}` }],
      assetRoot: dir,
      workers: 2,
    });
    return {
      name: "production",
      url: `${nginx.url}/api/assets/${ASSET_ID}`,
      pids: () => [nginx.pid, authoriser.pid],
      stop: () => nginx.stop(),
    };
  } catch (err) {
    return `deploy nginx config did not start: ${(err as Error).message.slice(-500)}`;
  }
}

/** Every server must answer a 1 MiB range with 206 and exactly those bytes before it is measured. */
async function checkRange(target: Target, file: Buffer) {
  const start = 5 * MiB;
  const res = await getRange(target.url, `bytes=${start}-${start + MiB - 1}`);
  const expected = `bytes ${start}-${start + MiB - 1}/${file.length}`;
  if (res.status !== 206 || res.contentRange !== expected || !res.body.equals(file.subarray(start, start + MiB)))
    throw new Error(`${target.name} answered ${res.status} ${res.contentRange} to a 1 MiB range`);
}

/** wrk's Lua script: each request a random aligned 1 MiB range of the file (at the URL's own path). */
function wrkScript(dir: string): string {
  const script = path.join(dir, "ranges.lua");
  fs.writeFileSync(
    script,
    `local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end
function init(args)
  math.randomseed(os.time() * 1000 + seed)
end
function request()
  local first = math.random(0, ${FILE_MIB - 1}) * ${MiB}
  return wrk.format("GET", nil, { ["Range"] = "bytes=" .. first .. "-" .. (first + ${MiB - 1}), ["Authorization"] = "Bearer ${TOKEN}" })
end
`,
  );
  return script;
}

function runWrk(url: string, script: string, seconds: number): Load {
  // bash's `times` prints its children's CPU (user, system) after wrk exits: the generator's cost.
  const args = ["-t2", `-c${CONNECTIONS}`, `-d${seconds}s`, "--timeout", "10s", "-s", script, url];
  const r = spawnSync("bash", ["-c", 'wrk "$@"; times', "wrk", ...args], { encoding: "utf8" });
  const times = [...r.stdout.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  const generatorCpuSec = times.length >= 4 ? times[2] + times[3] : undefined;
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1];
  if (rps === undefined) throw new Error(`wrk failed: ${r.stderr || r.stdout}`);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((n, x) => n + Number(x), 0) : 0);
  // Every request asks for exactly 1 MiB of body, so MiB/s is requests/s (headers not counted).
  return {
    requestsPerSec: Math.round(Number(rps)),
    mibPerSec: Math.round(Number(rps)),
    errors,
    ...(generatorCpuSec === undefined ? {} : { generatorCpuPerSec: +(generatorCpuSec / seconds).toFixed(2) }),
  };
}

/** The `--load` side, when wrk is missing: keep-alive clients in this process, a summary as JSON on stdout. */
async function generateLoad(url: string, seconds: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const deadline = performance.now() + seconds * 1000;
  let requests = 0;
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const first = Math.floor(Math.random() * FILE_MIB) * MiB;
      const headers = { Range: `bytes=${first}-${first + MiB - 1}`, Authorization: `Bearer ${TOKEN}` };
      const req = http.get(url, { agent, headers }, (res) => {
        let bytes = 0;
        res.on("data", (chunk: Buffer) => (bytes += chunk.length));
        res.on("end", () => {
          if (res.statusCode === 206 && bytes === MiB) requests++;
          else errors++;
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  agent.destroy();
  console.log(JSON.stringify({ requests, errors }));
}

async function runNodeLoad(url: string, seconds: number): Promise<Load> {
  const child = spawn(TSX, [__filename, "--load", url, String(seconds)], {
    cwd: ROOT,
    env: CHILD_ENV,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((r) => child.once("exit", r));
  const { requests, errors } = JSON.parse(out) as { requests: number; errors: number };
  return { requestsPerSec: Math.round(requests / seconds), mibPerSec: Math.round(requests / seconds), errors };
}

const ratio = (a: Load | null, b: Load | null) => (a && b ? +(a.mibPerSec / b.mibPerSec).toFixed(2) : null);

export async function benchAssets(): Promise<Record<string, unknown>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-bench-assets-"));
  fs.chmodSync(dir, 0o755); // nginx workers run as an unprivileged user
  const file = randomBytes(FILE_MIB * MiB);
  fs.writeFileSync(path.join(dir, FILE_NAME), file, { mode: 0o644 });

  const wrkMissing = ensureCommand("wrk", ["wrk"]);
  const script = wrkMissing ? "" : wrkScript(dir);
  const load = (url: string, seconds: number) =>
    wrkMissing ? runNodeLoad(url, seconds) : Promise.resolve(runWrk(url, script, seconds));

  const targets: Target[] = [];
  const stopLater: Target[] = [];
  const rounds: Record<string, Load[]> = {};
  const results: Record<string, Measured | null> = {
    ours: null,
    expressStatic: null,
    nginx: null,
    oursViaNginx: null,
    production: null,
  };
  let authoriserCalls: number | undefined;
  let nginxUnavailable: string | undefined;
  try {
    const offload = await startNodeServer("offload", dir);
    const offloadProcess = { ...offload, name: "offloadProcess" };
    targets.push(await startNodeServer("ours", dir), await startNodeServer("static", dir));
    const nginx = await startNginx(dir, offload.port, offload.pids()[0]);
    if (typeof nginx === "string") {
      nginxUnavailable = nginx;
      await offloadProcess.stop();
    } else {
      targets.push(...nginx);
      stopLater.push(offloadProcess);
    }
    const authoriser = await startNodeServer("authoriser", dir);
    stopLater.push(authoriser);
    const production = await startProduction(dir, { port: authoriser.port, pid: authoriser.pids()[0] });
    if (typeof production === "string") nginxUnavailable ??= production;
    else targets.push(production);

    for (const target of targets) await checkRange(target, file);
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets) {
        await load(target.url, WARMUP_SEC);
        const before = serverTicks(target);
        const measured = await load(target.url, SECONDS);
        const ticks = serverTicks(target) - before;
        // Clock ticks are 10 ms: server CPU per 1 MiB request, in ms.
        const serverCpuMsPerRequest = +((ticks * 10) / (measured.requestsPerSec * SECONDS)).toFixed(2);
        (rounds[target.name] ??= []).push({ ...measured, serverCpuMsPerRequest });
      }
    }
    for (const [name, measured] of Object.entries(rounds)) results[name] = median(measured);
    authoriserCalls = (await (await fetch(`http://127.0.0.1:${authoriser.port}/asked`)).json()).asked;
  } finally {
    for (const target of [...targets, ...stopLater]) await target.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }

  return {
    name: "assets",
    fileMiB: FILE_MIB,
    rangeMiB: 1,
    connections: CONNECTIONS,
    seconds: SECONDS,
    rounds: ROUNDS,
    loadGenerator: wrkMissing ? `node (${wrkMissing})` : "wrk -t2",
    ...results,
    ...(nginxUnavailable ? { nginxUnavailable } : {}),
    oursVsNginx: ratio(results.ours, results.nginx),
    oursVsExpressStatic: ratio(results.ours, results.expressStatic),
    // Node authorises each request, nginx sends the bytes (ASSET_ACCEL_REDIRECT_PREFIX).
    oursViaNginxVsNginx: ratio(results.oursViaNginx, results.nginx),
    // The production asset mode (deploy/nginx): nginx authorises through a cached auth_request.
    productionVsNginx: ratio(results.production, results.nginx),
    authoriserCalls,
    targets: { productionVsNginx: 0.8, oursVsExpressStatic: 1.0 },
  };
}

if (require.main === module) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "--serve") {
    serve(args[0], args[1], Number(args[2]));
  } else if (mode === "--load") {
    void generateLoad(args[0], Number(args[1]));
  } else {
    printResult(benchAssets);
  }
}
