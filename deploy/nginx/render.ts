import fs from "node:fs";
import path from "node:path";

/** deploy/nginx/arcadia.conf: the template operators render and the tests and benches run. */
export const NGINX_TEMPLATE = path.join(__dirname, "arcadia.conf");

export interface NginxProcess {
  /** Path name of the process's seats: PUBLIC_ADDRESS is `<public host>/p/<name>`. */
  name: string;
  /** host:port nginx proxies to. */
  address: string;
}

export interface NginxValues {
  /** nginx `listen` value, e.g. `80` or `127.0.0.1:42001`. */
  listen: string;
  processes: NginxProcess[];
  /** ASSET_STORAGE_ROOT of the processes (nginx reads the files itself). */
  assetRoot: string;
  /** Directory of the asset authoriser's answer cache. */
  cacheDir: string;
  /** How long an authorisation is reused, e.g. `5s`: the delay before a stopped session's token fails. */
  assetAuthTtl?: string;
}

const EACH = /^[ \t]*# each process\n([\s\S]*?)^[ \t]*# end each\n/gm;

/** The template with the values filled in and the per-process blocks repeated. */
export function renderNginxConfig(values: NginxValues, template = fs.readFileSync(NGINX_TEMPLATE, "utf8")): string {
  if (values.processes.length === 0) throw new Error("at least one process");
  for (const p of values.processes) {
    if (!/^[A-Za-z0-9_-]+$/.test(p.name)) throw new Error(`process name ${p.name}: letters, digits, _ and - only`);
  }
  const fill = (text: string, vars: Record<string, string>) =>
    text.replace(/\{\{([A-Z_]+)\}\}/g, (whole, key: string) => {
      if (!(key in vars)) throw new Error(`${NGINX_TEMPLATE}: no value for ${whole}`);
      return vars[key];
    });
  const repeated = template.replace(EACH, (_, block: string) =>
    values.processes.map((p) => fill(block, { NAME: p.name, ADDRESS: p.address })).join(""),
  );
  return fill(repeated, {
    LISTEN: values.listen,
    ASSET_ROOT: values.assetRoot,
    CACHE_DIR: values.cacheDir,
    ASSET_AUTH_TTL: values.assetAuthTtl ?? "5s",
  });
}

/** `3001` (a local port, named after it) or `name=host:port`. */
export function parseProcess(spec: string): NginxProcess {
  const [name, address] = spec.includes("=") ? spec.split("=", 2) : [spec, `127.0.0.1:${spec}`];
  return { name, address };
}

if (require.main === module) {
  const args = new Map<string, string>();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) args.set(argv[i].replace(/^--/, ""), argv[i + 1]);
  const need = (key: string) => {
    const value = args.get(key);
    if (!value) {
      console.error(
        "usage: render.ts --listen 80 --processes 3001,3002[,name=host:port] --asset-root DIR --cache-dir DIR [--asset-auth-ttl 5s]",
      );
      process.exit(2);
    }
    return value;
  };
  process.stdout.write(
    renderNginxConfig({
      listen: need("listen"),
      processes: need("processes").split(",").map(parseProcess),
      assetRoot: need("asset-root"),
      cacheDir: need("cache-dir"),
      assetAuthTtl: args.get("asset-auth-ttl"),
    }),
  );
}
