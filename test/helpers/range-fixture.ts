import http from "node:http";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import express, { type NextFunction, type Request, type Response } from "express";
import { sendAssetFile, type AssetFile, type ServedInfo } from "../../src/http/range-response";
import { listenOnLoopback } from "./listen";

/** Whole seconds and long past, so Last-Modified is exact and If-Range dates compare exactly. */
const LAST_MODIFIED = new Date("2024-01-02T03:04:05Z");

/** Deterministic bytes that never repeat: sha256("range-fixture:0"), sha256("range-fixture:1"), … */
export function fixtureBytes(size: number): Buffer {
  const chunks: Buffer[] = [];
  for (let i = 0; i * 32 < size; i++) chunks.push(createHash("sha256").update(`range-fixture:${i}`).digest());
  return Buffer.concat(chunks).subarray(0, size);
}

/**
 * A bare Express app (not the real server) serving one generated file: `GET/HEAD /file` through
 * sendAssetFile, and the same directory through express.static at `/static/` for comparison.
 * `/missing` points at a file that does not exist; `/short` claims 100 bytes more than the file has.
 * Every ServedInfo is pushed to `served`.
 */
export async function startRangeFixture(options: { size?: number } = {}) {
  const size = options.size ?? 10_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-range-"));
  const bytes = fixtureBytes(size);
  const filePath = path.join(dir, "asset.bin");
  fs.writeFileSync(filePath, bytes);
  fs.utimesSync(filePath, LAST_MODIFIED, LAST_MODIFIED);

  const file: AssetFile & { bytes: Buffer } = {
    path: filePath,
    size,
    contentType: "application/octet-stream",
    etag: `"${createHash("sha256").update(bytes).digest("hex")}"`,
    lastModified: LAST_MODIFIED,
    bytes,
  };
  const served: ServedInfo[] = [];
  const record = (info: ServedInfo) => served.push(info);

  const app = express();
  app.get("/file", (req, res) => sendAssetFile(req, res, file, record));
  app.get("/missing", (req, res) => sendAssetFile(req, res, { ...file, path: path.join(dir, "gone.bin") }, record));
  app.get("/short", (req, res) => sendAssetFile(req, res, { ...file, size: size + 100 }, record));
  app.use("/static", express.static(dir));
  // express.static's 416 and 404 arrive as errors; answer them quietly instead of logging stacks.
  app.use(
    (err: { status?: number; headers?: Record<string, string> }, _req: Request, res: Response, _next: NextFunction) => {
      res
        .status(err.status ?? 500)
        .set(err.headers ?? {})
        .end();
    },
  );

  const server = http.createServer(app);
  const { url } = await listenOnLoopback(server);
  return {
    url,
    file,
    served,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type RangeFixture = Awaited<ReturnType<typeof startRangeFixture>>;
