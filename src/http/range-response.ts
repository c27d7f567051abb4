import { randomBytes } from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import type { OutgoingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Request, Response } from "express";
import rangeParser from "range-parser";

export interface AssetFile {
  /** Absolute path, already resolved inside the storage root by the caller. */
  path: string;
  size: number;
  contentType: string;
  /** Strong ETag with quotes, e.g. "\"<sha256 hex>\"". */
  etag: string;
  lastModified: Date;
}

export interface ServedInfo {
  status: number;
  bytes: number;
  ranges: number;
}

/**
 * Most ranges served per request (after overlapping and adjacent ones are combined). A request
 * for many small ranges makes the server do per-part work (reads, framing) far out of proportion
 * to the request, a known amplification attack (RFC 9110 §14.2); past this cap we send the whole
 * file once instead, which the RFC allows (a server may ignore Range).
 */
export const MAX_RANGES = 16;

interface ByteRange {
  start: number;
  end: number;
}

/** A response body: literal framing bytes and inclusive byte ranges of the file, in order. */
type Segment = Buffer | ByteRange;

const CACHE_CONTROL = "private, max-age=0, must-revalidate";
/** Bigger reads than the 64 KiB default: fewer reads and socket writes per MiB served. */
const READ_CHUNK = 256 * 1024;

/**
 * Serves `file` to a GET or HEAD with RFC 9110 conditional requests (§13) and byte ranges (§14):
 * 304/412 preconditions, If-Range, single ranges, multipart/byteranges and 416. The body is
 * streamed from disk; `onServed` hears once per response what was sent.
 */
export function sendAssetFile(
  req: Request,
  res: Response,
  file: AssetFile,
  onServed?: (info: ServedInfo) => void,
): void {
  const served = (status: number, bytes: number, ranges: number) => onServed?.({ status, bytes, ranges });
  const headers: OutgoingHttpHeaders = {
    "Accept-Ranges": "bytes",
    ETag: file.etag,
    "Last-Modified": file.lastModified.toUTCString(),
    "Cache-Control": CACHE_CONTROL,
  };
  const bare = (status: number, extra: OutgoingHttpHeaders = {}) => {
    res.writeHead(status, { ...headers, ...extra });
    res.end();
    served(status, 0, 0);
  };

  if (req.method !== "GET" && req.method !== "HEAD") return bare(405, { Allow: "GET, HEAD", "Content-Length": 0 });
  const precondition = evaluatePreconditions(req, file);
  // 304 carries the validators but no Content-Length or Content-Type (RFC 9110 §15.4.5).
  if (precondition === 304) return bare(304);
  if (precondition === 412) return bare(412, { "Content-Length": 0 });

  const ranges = requestedRanges(req, file);
  if (ranges === "unsatisfiable") return bare(416, { "Content-Range": `bytes */${file.size}`, "Content-Length": 0 });

  if (ranges.length === 0) {
    const body = file.size > 0 ? [{ start: 0, end: file.size - 1 }] : [];
    return sendBody(req, res, file, 200, { ...headers, "Content-Type": file.contentType }, body, 0, served);
  }
  if (ranges.length === 1) {
    const [{ start, end }] = ranges;
    const partHeaders = {
      ...headers,
      "Content-Type": file.contentType,
      "Content-Range": `bytes ${start}-${end}/${file.size}`,
    };
    return sendBody(req, res, file, 206, partHeaders, ranges, 1, served);
  }
  const boundary = randomBytes(16).toString("hex");
  const multipartHeaders = { ...headers, "Content-Type": `multipart/byteranges; boundary=${boundary}` };
  return sendBody(req, res, file, 206, multipartHeaders, multipartBody(file, ranges, boundary), ranges.length, served);
}

/**
 * Hands the bytes to nginx (X-Accel-Redirect to an internal location aliased to the storage
 * root): nginx then answers the same request, ranges and conditionals included, with sendfile.
 * Used when ASSET_ACCEL_REDIRECT_PREFIX is set; nginx's ETag (mtime and size) replaces ours.
 */
export function offloadToNginx(res: Response, prefix: string, relativePath: string, contentType: string): void {
  const location = prefix + relativePath.split(/[\\/]/).map(encodeURIComponent).join("/");
  res.writeHead(200, { "X-Accel-Redirect": location, "Content-Type": contentType, "Cache-Control": CACHE_CONTROL });
  res.end();
}

/** RFC 9110 §13.2.2 order: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since. */
function evaluatePreconditions(req: Request, file: AssetFile): 200 | 304 | 412 {
  const ifMatch = req.get("If-Match");
  const ifUnmodifiedSince = httpDate(req.get("If-Unmodified-Since"));
  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, file.etag, strongEtagEquals)) return 412;
  } else if (ifUnmodifiedSince !== undefined && wholeSeconds(file.lastModified) > ifUnmodifiedSince) {
    return 412;
  }

  const ifNoneMatch = req.get("If-None-Match");
  const ifModifiedSince = httpDate(req.get("If-Modified-Since"));
  if (ifNoneMatch !== undefined) {
    if (etagListMatches(ifNoneMatch, file.etag, weakEtagEquals)) return 304;
  } else if (ifModifiedSince !== undefined && wholeSeconds(file.lastModified) <= ifModifiedSince) {
    return 304;
  }
  return 200;
}

/**
 * The ranges to serve: [] means the whole file (no Range, a Range we ignore, or an If-Range that
 * does not match). Ranges come back combined (overlapping and adjacent merged), in request order.
 */
function requestedRanges(req: Request, file: AssetFile): ByteRange[] | "unsatisfiable" {
  const range = req.get("Range");
  if (range === undefined) return [];
  if (!ifRangeMatches(req.get("If-Range"), file)) return [];

  // Other range units must be ignored (RFC 9110 §14.2); checked first because range-parser would
  // otherwise call e.g. `items=20000-` unsatisfiable.
  const eq = range.indexOf("=");
  if (eq < 0 || range.slice(0, eq).toLowerCase() !== "bytes") return [];
  const rangeSet = preparedRangeSet(range.slice(eq + 1), file.size);
  if (rangeSet === undefined) return [];

  const parsed = rangeParser(file.size, `bytes=${rangeSet}`, { combine: true });
  if (parsed === -2) return [];
  if (parsed === -1) return "unsatisfiable";
  if (parsed.length > MAX_RANGES) return [];
  return parsed.map(({ start, end }) => ({ start, end }));
}

/**
 * Two corrections before range-parser (1.3.0) reads the range set:
 * - `5-1` makes the whole ranges-specifier invalid (RFC 9110 §14.1.1), so the Range is ignored
 *   (undefined, then 200); range-parser would drop that range, and answer 416 when it is alone.
 * - a suffix longer than the file means the whole file (§14.1.3), which range-parser calls
 *   unsatisfiable (fixed upstream in jshttp/range-parser#66, not released): it becomes `-size`.
 */
function preparedRangeSet(rangeSet: string, size: number): string | undefined {
  const specs: string[] = [];
  for (const spec of rangeSet.split(",")) {
    const [, first, last] = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(spec) ?? [];
    if (first && last && Number(first) > Number(last)) return undefined;
    specs.push(first === "" && last && Number(last) > size ? `-${size}` : spec);
  }
  return specs.join(",");
}

/**
 * If-Range (RFC 9110 §13.1.5): an entity tag must match strongly (a weak one never does); a date
 * must equal Last-Modified exactly. Any other value, e.g. a malformed one, does not match.
 */
function ifRangeMatches(value: string | undefined, file: AssetFile): boolean {
  if (value === undefined) return true;
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith("W/")) return strongEtagEquals(trimmed, file.etag);
  const date = httpDate(trimmed);
  return date !== undefined && date === wholeSeconds(file.lastModified);
}

/** `*` or a comma-separated list of entity tags; scanned as tags since an opaque tag may hold a comma. */
function etagListMatches(value: string, etag: string, equals: (a: string, b: string) => boolean): boolean {
  if (value.trim() === "*") return true;
  return (value.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => equals(tag, etag));
}

const strongEtagEquals = (a: string, b: string) => !a.startsWith("W/") && !b.startsWith("W/") && a === b;
const weakEtagEquals = (a: string, b: string) => a.replace(/^W\//, "") === b.replace(/^W\//, "");

/** HTTP dates have whole seconds; Last-Modified is compared at that precision. */
const wholeSeconds = (date: Date) => Math.floor(date.getTime() / 1000) * 1000;

function httpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** RFC 9110 §14.6 framing: each part is `--boundary`, its headers, a blank line, its bytes; then `--boundary--`. */
function multipartBody(file: AssetFile, ranges: ByteRange[], boundary: string): Segment[] {
  const segments: Segment[] = [];
  ranges.forEach((range, i) => {
    // The CRLF before a boundary belongs to the delimiter, so the first part has none.
    const head =
      `${i === 0 ? "" : "\r\n"}--${boundary}\r\n` +
      `Content-Type: ${file.contentType}\r\n` +
      `Content-Range: bytes ${range.start}-${range.end}/${file.size}\r\n\r\n`;
    segments.push(Buffer.from(head, "latin1"), range);
  });
  segments.push(Buffer.from(`\r\n--${boundary}--\r\n`, "latin1"));
  return segments;
}

const segmentLength = (s: Segment) => (Buffer.isBuffer(s) ? s.length : s.end - s.start + 1);

/** Writes status and headers (with the exact Content-Length), then streams the body unless HEAD. */
function sendBody(
  req: Request,
  res: Response,
  file: AssetFile,
  status: number,
  headers: OutgoingHttpHeaders,
  segments: Segment[],
  ranges: number,
  served: (status: number, bytes: number, ranges: number) => void,
): void {
  const length = segments.reduce((n, s) => n + segmentLength(s), 0);
  const firstRange = segments.find((s): s is ByteRange => !Buffer.isBuffer(s));
  const writeHeaders = () => res.writeHead(status, { ...headers, "Content-Length": length });
  if (req.method === "HEAD" || firstRange === undefined) {
    writeHeaders().end();
    served(status, 0, ranges);
    return;
  }
  void streamBody(res, file.path, segments, firstRange, () => {
    writeHeaders();
    served(status, length, ranges);
  }).then((opened) => {
    if (!opened) served(500, 0, 0);
  });
}

/**
 * Opens the first file range before `writeHeaders`, so that a missing or unreadable file is still
 * a clean 500 (resolves false); a failure later can only cut the response short. Never rejects.
 */
async function streamBody(
  res: Response,
  path: string,
  segments: Segment[],
  firstRange: ByteRange,
  writeHeaders: () => void,
): Promise<boolean> {
  const first = fs.createReadStream(path, { ...firstRange, highWaterMark: READ_CHUNK });
  try {
    await once(first, "ready");
  } catch {
    first.destroy();
    if (!res.headersSent) res.status(500).end();
    return false;
  }
  writeHeaders();
  const single = segments.length === 1;
  const source = single ? first : Readable.from(segmentBytes(path, segments, first), { objectMode: false });
  // A client that goes away early must not leave the file open, even before a multipart body
  // reaches its first range (pipeline covers the rest).
  const abandon = () => {
    source.destroy();
    first.destroy();
  };
  res.once("close", abandon);
  try {
    // end: false, so that a file shorter than its recorded size can be cut off below rather than
    // ending a response that is shorter than its Content-Length (which would stall the client).
    await pipeline(source, res, { end: false });
    if (single && first.bytesRead !== segmentLength(firstRange)) throw new Error("file shorter than its recorded size");
    res.end();
  } catch {
    res.destroy();
  } finally {
    res.off("close", abandon);
    first.destroy();
  }
  return true;
}

/** The multipart body's bytes, one file range at a time; `first` is the already opened first range. */
async function* segmentBytes(path: string, segments: Segment[], first: fs.ReadStream): AsyncGenerator<Buffer> {
  let opened: fs.ReadStream | undefined = first;
  for (const segment of segments) {
    if (Buffer.isBuffer(segment)) {
      yield segment;
      continue;
    }
    const stream: fs.ReadStream = opened ?? fs.createReadStream(path, { ...segment, highWaterMark: READ_CHUNK });
    opened = undefined;
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } finally {
      stream.destroy();
    }
    if (stream.bytesRead !== segmentLength(segment)) throw new Error("file shorter than its recorded size");
  }
}
