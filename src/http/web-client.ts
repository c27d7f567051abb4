import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import type { Api } from "./api";
import { sendError } from "./errors";

const WEB_ROOT = path.resolve(__dirname, "../../web");

interface File {
  body: Buffer;
  type: string;
  etag: string;
}

/** The built client: the page, its stylesheet, the bundle and (in development) its source map. */
type Files = Map<string, File>;

export interface WebClientOptions {
  /** A source map is served in development only. */
  development: boolean;
  /** Over HTTPS, the page's CSP also upgrades insecure requests (as helmet does elsewhere). */
  publicUrlIsHttps: boolean;
  logger: Logger;
}

/**
 * The browser client (web/), bundled with esbuild on the first request and
 * kept in memory, so a fresh clone serves it with no build step. Served at
 * `/` (index.html), `/app.js`, `/app.css` (and `/app.js.map` in development).
 */
export function mountWebClient(api: Api, options: WebClientOptions) {
  let built: Promise<Files> | undefined;
  const files = () => {
    built ??= buildWebClient(options.development).catch((err: unknown) => {
      built = undefined; // the next request tries again (e.g. after a fix in development)
      throw err;
    });
    return built;
  };
  const serve =
    (name: string): RequestHandler =>
    async (req, res) => {
      // In development every page load rebuilds, so edits in web/ show on reload (the server does not watch them).
      if (options.development && name === "index.html") built = undefined;
      let file: File | undefined;
      try {
        file = (await files()).get(name);
      } catch (err) {
        options.logger.error({ err }, "web client build failed");
        return sendError(req, res, 503, "CLIENT_UNAVAILABLE", "The web client could not be built");
      }
      if (!file) return sendError(req, res, 404, "NOT_FOUND", `No route for ${req.method} ${req.path}`);
      if (name === "index.html") res.setHeader("Content-Security-Policy", pagePolicy(req, options.publicUrlIsHttps));
      send(req, res, file);
    };
  const routes: Array<[string, string, string]> = [
    ["/", "index.html", "The web client (single-page app)"],
    ["/app.js", "app.js", "The web client's bundle"],
    ["/app.css", "app.css", "The web client's stylesheet"],
  ];
  if (options.development) routes.push(["/app.js.map", "app.js.map", "The bundle's source map (development only)"]);
  for (const [route, name, summary] of routes) {
    // Files rather than JSON routes, but still listed in the API document.
    api.registry.registerPath({
      method: "get",
      path: route,
      summary,
      tags: ["web client"],
      responses: { 200: { description: summary }, 503: { description: "CLIENT_UNAVAILABLE: the build failed" } },
    });
    api.app.get(route, serve(name));
  }
}

async function buildWebClient(development: boolean): Promise<Files> {
  // Loaded on first use: the server starts without paying for esbuild.
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [path.join(WEB_ROOT, "main.ts")],
    bundle: true,
    write: false,
    outfile: path.join(WEB_ROOT, "app.js"),
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify: !development,
    sourcemap: development ? "linked" : false,
    // The room-state classes come from src/rooms/schema: their decorators need the project's settings.
    tsconfig: path.resolve(WEB_ROOT, "../tsconfig.json"),
    define: { "process.env.NODE_ENV": JSON.stringify(development ? "development" : "production") },
    legalComments: "none",
    logLevel: "silent",
  });
  const files: Files = new Map();
  for (const out of result.outputFiles) {
    const name = path.basename(out.path);
    files.set(name, file(Buffer.from(out.contents), name.endsWith(".map") ? "application/json" : "text/javascript"));
  }
  for (const [name, type] of [
    ["index.html", "text/html; charset=utf-8"],
    ["app.css", "text/css; charset=utf-8"],
  ]) {
    files.set(name, file(await fs.promises.readFile(path.join(WEB_ROOT, name)), type));
  }
  return files;
}

function file(body: Buffer, type: string): File {
  return { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
}

function send(req: Request, res: Response, file: File) {
  res.setHeader("Content-Type", file.type);
  res.setHeader("ETag", file.etag);
  // Revalidated every time: a rebuilt client (new start) is picked up at once.
  res.setHeader("Cache-Control", "no-cache");
  if (req.headers["if-none-match"] === file.etag) return void res.status(304).end();
  res.setHeader("Content-Length", file.body.length);
  if (req.method === "HEAD") return void res.end();
  res.end(file.body);
}

/**
 * The page's own CSP, narrower than helmet's default where it can be and
 * wider only where the client needs it: WebSockets to this host (rooms),
 * camera streams and fetched assets as blob: media, signed asset URLs (same
 * origin). No inline script or style.
 */
function pagePolicy(req: Request, overHttps: boolean): string {
  // Only a plain host[:port] goes into the header; anything else falls back to 'self'.
  const host = /^[\w.-]+(:\d+)?$|^\[[\da-f:]+\](:\d+)?$/i.test(req.headers.host ?? "") ? req.headers.host : "";
  const directives = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    host ? `connect-src 'self' ws://${host} wss://${host}` : "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
  ];
  if (overHttps || req.secure) directives.push("upgrade-insecure-requests");
  return directives.join("; ");
}
