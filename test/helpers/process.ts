import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
/**
 * The server runs as `npm start` runs it: one Node process (this very Node, 22)
 * loading TypeScript through tsx's import hook. tsx's CLI would run the server
 * in a child of its own, which a SIGKILL of the CLI leaves running.
 */
const SERVER_ARGS = ["--import", "tsx", "src/main.ts"];

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** This process: directly, or through nginx's route to it (CLUSTER_VIA_NGINX). */
  baseUrl: string;
  /** The seat address the matchmaker hands out for this process's rooms (its PUBLIC_ADDRESS). */
  publicAddress: string;
  /** Where a client reaches any process: this process, or nginx's shared upstream. */
  entryUrl: string;
  /** stdout + stderr so far. */
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `src/main.ts` (what `npm start` runs) as its own process; resolves once it logs "server ready". */
export async function startServerProcess(
  env: Record<string, string | undefined>,
  // Not a speed check: a start on a busy CI machine took over 30 s.
  timeoutMs = 120_000,
): Promise<ServerProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, SERVER_ARGS, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "info", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const handle: ServerProcess = {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    publicAddress: env.PUBLIC_ADDRESS ?? `127.0.0.1:${port}`,
    entryUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    kill: (signal = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
  await waitFor(
    () => output.includes('"msg":"server ready"'),
    timeoutMs,
    () => child.exitCode !== null,
    () => output,
  );
  return handle;
}

/**
 * Two processes on one environment (database, Redis), each at its own public address, as
 * deployed behind a load balancer. They start at once: migrations must not race.
 * With CLUSTER_VIA_NGINX=1 the load balancer is real: deploy/nginx/arcadia.conf rendered for the
 * two ports, every URL the tests get (HTTP, matchmaking, seats) goes through it, and it stops
 * with the second process.
 */
export async function startProcessPair(
  env: Record<string, string | undefined>,
): Promise<[ServerProcess, ServerProcess]> {
  const [portA, portB] = [await freePort(), await freePort()];
  if (process.env.CLUSTER_VIA_NGINX !== "1") {
    return Promise.all([
      startServerProcess({ ...env, PORT: String(portA), PUBLIC_ADDRESS: `127.0.0.1:${portA}` }),
      startServerProcess({ ...env, PORT: String(portB), PUBLIC_ADDRESS: `127.0.0.1:${portB}` }),
    ]);
  }
  // Imported here: only this mode needs the deploy config.
  const { startNginx } = await import("./nginx");
  const nginx = await startNginx({
    processes: [portA, portB].map((port) => ({ name: String(port), address: `127.0.0.1:${port}` })),
    assetRoot: env.ASSET_STORAGE_ROOT ?? (env.DATA_DIR ? path.join(env.DATA_DIR, "assets") : undefined),
  });
  const host = `127.0.0.1:${nginx.port}`;
  const start = (port: number) =>
    startServerProcess({ ...env, PORT: String(port), PUBLIC_ADDRESS: `${host}/p/${port}`, TRUST_PROXY: "1" });
  let pair: ServerProcess[];
  try {
    pair = await Promise.all([start(portA), start(portB)]);
  } catch (err) {
    await nginx.stop();
    throw err;
  }
  const both = pair.map((p) => p.exited);
  const viaNginx = (p: ServerProcess): ServerProcess => ({
    ...p,
    baseUrl: `${nginx.url}/p/${p.port}`,
    entryUrl: nginx.url,
    kill: async (signal) => {
      const code = await p.kill(signal);
      if (pair.every((q) => q.child.exitCode !== null || q.child.signalCode !== null)) {
        await Promise.all(both);
        await nginx.stop();
      }
      return code;
    },
  });
  return [viaNginx(pair[0]), viaNginx(pair[1])];
}

/** A JSON POST to a spawned server, with a bearer token when given. */
export const postTo = (server: ServerProcess, path: string, body: unknown, token?: string, headers = {}) =>
  fetch(`${server.baseUrl}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
  });

/** Starts a process that is expected to fail start-up; resolves with its exit code and output. */
export async function runFailingStart(env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, SERVER_ARGS, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, output };
}

async function waitFor(done: () => boolean, timeoutMs: number, failed: () => boolean, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (failed()) throw new Error(`server process exited during start:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`server process not ready within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
