import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { type NginxProcess, renderNginxConfig } from "../../deploy/nginx/render";

/** This suite's own ports (the machine is shared: nginx listens only in this range). */
const NGINX_PORTS = { from: 42000, to: 42999 };

export interface RunningNginx {
  url: string;
  port: number;
  /** The master process (workers are its children). */
  pid?: number;
  /** nginx's error log so far (for failure messages). */
  errorLog(): string;
  stop(): Promise<void>;
}

/** Why nginx cannot run here, or undefined when it can. */
export function nginxMissing(): string | undefined {
  return spawnSync("sh", ["-c", "command -v nginx"]).status === 0
    ? undefined
    : "nginx is not installed (Debian package nginx; CI installs it)";
}

/**
 * deploy/nginx/arcadia.conf rendered for `processes`, run by a private nginx (its own prefix,
 * config and temp paths in a temp dir, foreground, stopped by stop()). The wrapper around it is
 * what a distribution's nginx.conf provides: events, mime types, temp paths.
 */
export async function startNginx(options: {
  processes: NginxProcess[];
  assetRoot?: string;
  assetAuthTtl?: string;
  port?: number;
  workers?: number;
}): Promise<RunningNginx> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-nginx-"));
  const port = options.port ?? (await freePortIn(NGINX_PORTS));
  const arcadia = path.join(prefix, "arcadia.conf");
  fs.writeFileSync(
    arcadia,
    renderNginxConfig({
      listen: `127.0.0.1:${port}`,
      processes: options.processes,
      assetRoot: options.assetRoot ?? path.join(prefix, "no-assets"),
      cacheDir: path.join(prefix, "cache"),
      assetAuthTtl: options.assetAuthTtl,
    }),
  );
  const temp = (name: string) => `${name}_temp_path ${prefix}/${name}`;
  const main = path.join(prefix, "nginx.conf");
  fs.writeFileSync(
    main,
    [
      "daemon off;",
      "master_process on;",
      `worker_processes ${options.workers ?? 1};`,
      // As root, workers would run as nobody, who cannot read temp dirs (mode 0700).
      ...(process.getuid?.() === 0 ? ["user root;"] : []),
      `pid ${prefix}/nginx.pid;`,
      `error_log ${prefix}/error.log warn;`,
      "events { worker_connections 4096; }",
      "http {",
      fs.existsSync("/etc/nginx/mime.types") ? "include /etc/nginx/mime.types;" : "",
      "default_type application/octet-stream;",
      "access_log off;",
      `${temp("client_body")}; ${temp("proxy")}; ${temp("fastcgi")}; ${temp("uwsgi")}; ${temp("scgi")};`,
      `include ${arcadia};`,
      "}",
    ].join("\n"),
  );
  const child = spawn("nginx", ["-p", prefix, "-e", `${prefix}/error.log`, "-c", main], { stdio: "ignore" });
  const errorLog = () => (fs.existsSync(`${prefix}/error.log`) ? fs.readFileSync(`${prefix}/error.log`, "utf8") : "");
  const stop = async () => {
    await stopChild(child);
    fs.rmSync(prefix, { recursive: true, force: true });
  };
  try {
    await waitForListening(port, child, errorLog);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, port, pid: child.pid, errorLog, stop };
}

/** A free port in the range, tried at random. */
async function freePortIn(range: { from: number; to: number }): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = range.from + Math.floor(Math.random() * (range.to - range.from + 1));
    const server = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (free) {
      await new Promise((r) => server.close(r));
      return port;
    }
  }
  throw new Error(`no free port in ${range.from}-${range.to}`);
}

async function waitForListening(port: number, child: ChildProcess, errorLog: () => string) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${errorLog()}`);
    try {
      // Any answer will do (502 while no process is up yet).
      await fetch(`http://127.0.0.1:${port}/nginx-ready-probe`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nginx did not listen on ${port}: ${errorLog()}`);
}

/** SIGQUIT: nginx's graceful stop (open connections finish). */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGQUIT");
  const force = setTimeout(() => child.kill("SIGKILL"), 5000);
  return exited.finally(() => clearTimeout(force));
}
