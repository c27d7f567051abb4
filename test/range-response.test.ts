import assert from "node:assert/strict";
import fs from "node:fs";
import { MAX_RANGES } from "../src/http/range-response";
import { startRangeFixture, type RangeFixture } from "./helpers/range-fixture";

/** A request to the fixture; the body is read whole (empty for HEAD, 304, 416). */
async function request(fx: RangeFixture, headers: Record<string, string> = {}, options: RequestInit = {}) {
  const res = await fetch(`${fx.url}/file`, { ...options, headers });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}
const range = (fx: RangeFixture, value: string, headers: Record<string, string> = {}) =>
  request(fx, { Range: value, ...headers });

/** Parses a multipart/byteranges body strictly: every delimiter, header block and CRLF where §14.6 puts it. */
function parseByteranges(body: Buffer, contentType: string | null) {
  const boundary = /^multipart\/byteranges; boundary=([0-9A-Za-z'()+_,\-./:=?]+)$/.exec(contentType ?? "")?.[1];
  assert.ok(boundary, `multipart content type, got ${contentType}`);
  const close = Buffer.from(`\r\n--${boundary}--\r\n`);
  assert.ok(body.subarray(body.length - close.length).equals(close), "ends with the close delimiter");
  const inner = body.subarray(0, body.length - close.length);
  const opening = Buffer.from(`--${boundary}\r\n`);
  assert.ok(inner.subarray(0, opening.length).equals(opening), "starts with the first delimiter");
  const parts: Array<{ headers: Record<string, string>; data: Buffer }> = [];
  const delimiter = Buffer.from(`\r\n--${boundary}\r\n`);
  let rest = inner.subarray(opening.length);
  for (;;) {
    const headerEnd = rest.indexOf("\r\n\r\n");
    assert.ok(headerEnd > 0, "part headers end with a blank line");
    const headers = Object.fromEntries(
      rest
        .subarray(0, headerEnd)
        .toString("latin1")
        .split("\r\n")
        .map((line) => {
          const colon = line.indexOf(":");
          return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
        }),
    );
    rest = rest.subarray(headerEnd + 4);
    const next = rest.indexOf(delimiter);
    parts.push({ headers, data: next < 0 ? rest : rest.subarray(0, next) });
    if (next < 0) return parts;
    rest = rest.subarray(next + delimiter.length);
  }
}

describe("sendAssetFile: RFC 9110 conditional and range requests", () => {
  let fx: RangeFixture;
  before(async () => {
    fx = await startRangeFixture();
  });
  after(async () => {
    await fx.close();
  });
  beforeEach(() => {
    fx.served.length = 0;
  });

  const slice = (start: number, end: number) => fx.file.bytes.subarray(start, end + 1);
  const assertFull = (r: { res: globalThis.Response; body: Buffer }) => {
    assert.equal(r.res.status, 200);
    assert.equal(r.res.headers.get("content-range"), null);
    assert.equal(r.res.headers.get("content-length"), "10000");
    assert.ok(r.body.equals(fx.file.bytes), "the whole file");
  };
  const assertPartial = (r: { res: globalThis.Response; body: Buffer }, start: number, end: number) => {
    assert.equal(r.res.status, 206);
    assert.equal(r.res.headers.get("content-range"), `bytes ${start}-${end}/10000`);
    assert.equal(r.res.headers.get("content-length"), String(end - start + 1));
    assert.equal(r.res.headers.get("content-type"), "application/octet-stream");
    assert.ok(r.body.equals(slice(start, end)), `bytes ${start}-${end}`);
  };
  const assertUnsatisfiable = (r: { res: globalThis.Response; body: Buffer }) => {
    assert.equal(r.res.status, 416);
    assert.equal(r.res.headers.get("content-range"), "bytes */10000");
    assert.equal(r.body.length, 0);
  };

  describe("full responses", () => {
    it("serves the whole file with 200, validators, Accept-Ranges and private caching", async () => {
      const r = await request(fx);
      assertFull(r);
      assert.equal(r.res.headers.get("accept-ranges"), "bytes");
      assert.equal(r.res.headers.get("etag"), fx.file.etag);
      assert.equal(r.res.headers.get("last-modified"), "Tue, 02 Jan 2024 03:04:05 GMT");
      assert.equal(r.res.headers.get("content-type"), "application/octet-stream");
      assert.equal(r.res.headers.get("cache-control"), "private, max-age=0, must-revalidate");
    });
  });

  describe('when "Range" header', () => {
    it("serves bytes=0-4 as 206 with the exact bytes, Content-Range and Content-Length", async () => {
      const r = await range(fx, "bytes=0-4");
      assertPartial(r, 0, 4);
      assert.equal(r.res.headers.get("accept-ranges"), "bytes");
      assert.equal(r.res.headers.get("etag"), fx.file.etag);
    });

    it("is inclusive (bytes=0-0 is one byte) and serves a middle range", async () => {
      assertPartial(await range(fx, "bytes=0-0"), 0, 0);
      assertPartial(await range(fx, "bytes=2-5"), 2, 5);
      assertPartial(await range(fx, "bytes=9999-9999"), 9999, 9999);
    });

    it("clamps a last-byte-pos past the end to the last byte", async () => {
      assertPartial(await range(fx, "bytes=9990-20000"), 9990, 9999);
    });

    it("serves suffix ranges, and the whole file as 206 when the suffix is longer than it", async () => {
      assertPartial(await range(fx, "bytes=-500"), 9500, 9999);
      assertPartial(await range(fx, "bytes=-20000"), 0, 9999);
    });

    it("serves open-ended ranges", async () => {
      assertPartial(await range(fx, "bytes=9500-"), 9500, 9999);
      assertPartial(await range(fx, "bytes=0-"), 0, 9999);
    });

    it("answers 416 with Content-Range bytes */size when no range is satisfiable", async () => {
      assertUnsatisfiable(await range(fx, "bytes=10000-"));
      assertUnsatisfiable(await range(fx, "bytes=20000-30000"));
      assertUnsatisfiable(await range(fx, "bytes=-0"));
      assertUnsatisfiable(await range(fx, "bytes=10000-10005,20000-"));
    });

    it("serves the satisfiable range and drops the unsatisfiable ones", async () => {
      assertPartial(await range(fx, "bytes=20000-30000,0-4"), 0, 4);
    });

    it("ignores malformed or non-bytes Range headers and serves 200 in full", async () => {
      for (const value of ["bytes=foo", "asdf", "items=0-4", "items=20000-", "bytes=", "bytes=0-4,,", "bytes=1-x"]) {
        assertFull(await range(fx, value));
      }
    });

    it("treats a reversed range (last < first) as an invalid specifier: ignored, 200 in full", async () => {
      assertFull(await range(fx, "bytes=5-1"));
      assertFull(await range(fx, "bytes=0-4,5-1"));
    });

    it("takes the range unit case-insensitively", async () => {
      assertPartial(await range(fx, "Bytes=0-4"), 0, 4);
    });

    it("combines overlapping and adjacent ranges into one single-part 206", async () => {
      assertPartial(await range(fx, "bytes=0-4,3-9"), 0, 9);
      assertPartial(await range(fx, "bytes=0-4,5-9"), 0, 9);
      assertPartial(await range(fx, "bytes=5-9,0-4,2-3"), 0, 9);
    });

    it("serves several ranges as multipart/byteranges with exact framing and Content-Length", async () => {
      const r = await range(fx, "bytes=0-4,90-99");
      assert.equal(r.res.status, 206);
      assert.equal(r.res.headers.get("content-range"), null);
      assert.equal(r.res.headers.get("content-length"), String(r.body.length));
      const parts = parseByteranges(r.body, r.res.headers.get("content-type"));
      assert.deepEqual(
        parts.map((p) => p.headers),
        [
          { "content-type": "application/octet-stream", "content-range": "bytes 0-4/10000" },
          { "content-type": "application/octet-stream", "content-range": "bytes 90-99/10000" },
        ],
      );
      assert.ok(parts[0].data.equals(slice(0, 4)));
      assert.ok(parts[1].data.equals(slice(90, 99)));

      // Byte for byte what RFC 9110 §14.6 describes.
      const boundary = r.res.headers.get("content-type")!.split("boundary=")[1];
      const part = (start: number, end: number) =>
        `--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${start}-${end}/10000\r\n\r\n`;
      const expected = Buffer.concat([
        Buffer.from(part(0, 4)),
        slice(0, 4),
        Buffer.from(`\r\n${part(90, 99)}`),
        slice(90, 99),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      assert.ok(r.body.equals(expected), "exact multipart body");
    });

    it("keeps the requested order of parts, with suffix and clamped ranges", async () => {
      const check = async (value: string, expected: Array<[number, number]>) => {
        const r = await range(fx, value);
        assert.equal(r.res.headers.get("content-length"), String(r.body.length));
        const parts = parseByteranges(r.body, r.res.headers.get("content-type"));
        assert.deepEqual(
          parts.map((p) => p.headers["content-range"]),
          expected.map(([start, end]) => `bytes ${start}-${end}/10000`),
        );
        parts.forEach((p, i) => assert.ok(p.data.equals(slice(...expected[i]))));
      };
      await check("bytes=-10,100-199,0-9", [
        [9990, 9999],
        [100, 199],
        [0, 9],
      ]);
      await check("bytes=9000-20000,100-199", [
        [9000, 9999],
        [100, 199],
      ]);
    });

    it(`serves up to MAX_RANGES (${MAX_RANGES}) parts, and the whole file for more (amplification defence)`, async () => {
      const disjoint = (n: number) =>
        `bytes=${Array.from({ length: n }, (_, i) => `${i * 100}-${i * 100 + 9}`).join(",")}`;
      const atCap = await range(fx, disjoint(MAX_RANGES));
      assert.equal(atCap.res.status, 206);
      const parts = parseByteranges(atCap.body, atCap.res.headers.get("content-type"));
      assert.equal(parts.length, MAX_RANGES);
      parts.forEach((p, i) => assert.ok(p.data.equals(slice(i * 100, i * 100 + 9))));
      assertFull(await range(fx, disjoint(MAX_RANGES + 1)));
      // Ranges that combine below the cap are served.
      const overlapping = `bytes=${Array.from({ length: 100 }, (_, i) => `${i}-${i + 10}`).join(",")}`;
      assertPartial(await range(fx, overlapping), 0, 109);
    });
  });

  describe('when "If-Range"', () => {
    it("serves the range when the strong ETag is current", async () => {
      assertPartial(await range(fx, "bytes=0-4", { "If-Range": fx.file.etag }), 0, 4);
    });

    it("serves 200 in full when the ETag differs or is weak", async () => {
      assertFull(await range(fx, "bytes=0-4", { "If-Range": '"0123"' }));
      assertFull(await range(fx, "bytes=0-4", { "If-Range": `W/${fx.file.etag}` }));
    });

    it("serves the range when the date equals Last-Modified, 200 for an older or newer date", async () => {
      const lastModified = fx.file.lastModified.getTime();
      assertPartial(await range(fx, "bytes=0-4", { "If-Range": new Date(lastModified).toUTCString() }), 0, 4);
      assertFull(await range(fx, "bytes=0-4", { "If-Range": new Date(lastModified - 20_000).toUTCString() }));
      assertFull(await range(fx, "bytes=0-4", { "If-Range": new Date(lastModified + 20_000).toUTCString() }));
    });

    it("serves 200 in full for an invalid value, and ignores If-Range without Range", async () => {
      assertFull(await range(fx, "bytes=0-4", { "If-Range": "foo" }));
      assertFull(await request(fx, { "If-Range": fx.file.etag }));
    });

    it("applies to multipart requests too", async () => {
      const r = await range(fx, "bytes=0-4,90-99", { "If-Range": fx.file.etag });
      assert.equal(parseByteranges(r.body, r.res.headers.get("content-type")).length, 2);
      assertFull(await range(fx, "bytes=0-4,90-99", { "If-Range": '"old"' }));
    });
  });

  describe("conditional GET", () => {
    const assertNotModified = (r: { res: globalThis.Response; body: Buffer }) => {
      assert.equal(r.res.status, 304);
      assert.equal(r.body.length, 0);
      assert.equal(r.res.headers.get("etag"), fx.file.etag);
      assert.equal(r.res.headers.get("cache-control"), "private, max-age=0, must-revalidate");
      assert.equal(r.res.headers.get("content-length"), null);
      assert.equal(r.res.headers.get("content-type"), null);
    };

    it("answers 304 when If-None-Match holds the current ETag, alone, in a list, weak or *", async () => {
      assertNotModified(await request(fx, { "If-None-Match": fx.file.etag }));
      assertNotModified(await request(fx, { "If-None-Match": `"a", "b,c", ${fx.file.etag}` }));
      assertNotModified(await request(fx, { "If-None-Match": `W/${fx.file.etag}` }));
      assertNotModified(await request(fx, { "If-None-Match": "*" }));
    });

    it("answers 200 when If-None-Match holds other ETags", async () => {
      assertFull(await request(fx, { "If-None-Match": '"123", W/"456"' }));
    });

    it("answers 304 for If-Modified-Since not before Last-Modified, 200 when modified since", async () => {
      const lastModified = fx.file.lastModified.getTime();
      assertNotModified(await request(fx, { "If-Modified-Since": new Date(lastModified).toUTCString() }));
      assertNotModified(await request(fx, { "If-Modified-Since": new Date(lastModified + 60_000).toUTCString() }));
      assertFull(await request(fx, { "If-Modified-Since": new Date(lastModified - 60_000).toUTCString() }));
      assertFull(await request(fx, { "If-Modified-Since": "not a date" }));
    });

    it("lets If-None-Match take precedence over If-Modified-Since", async () => {
      const notModifiedSince = fx.file.lastModified.toUTCString();
      assertFull(await request(fx, { "If-None-Match": '"other"', "If-Modified-Since": notModifiedSince }));
    });

    it("answers 304 rather than 206 when a range request is not modified", async () => {
      assertNotModified(await range(fx, "bytes=0-4", { "If-None-Match": fx.file.etag }));
    });

    it("answers 412 when If-Match fails, and serves when it holds (* or in a list)", async () => {
      assert.equal((await request(fx, { "If-Match": ' "foo", "bar" ' })).res.status, 412);
      assert.equal((await request(fx, { "If-Match": `W/${fx.file.etag}` })).res.status, 412, "strong comparison");
      assertFull(await request(fx, { "If-Match": "*" }));
      assertFull(await request(fx, { "If-Match": `"foo", ${fx.file.etag}` }));
    });

    it("answers 412 when modified after If-Unmodified-Since; ignores an invalid date", async () => {
      const lastModified = fx.file.lastModified.getTime();
      assertFull(await request(fx, { "If-Unmodified-Since": new Date(lastModified).toUTCString() }));
      const older = new Date(lastModified - 60_000).toUTCString();
      assert.equal((await request(fx, { "If-Unmodified-Since": older })).res.status, 412);
      assertFull(await request(fx, { "If-Unmodified-Since": "foo" }));
    });
  });

  describe("HEAD", () => {
    const headerNames = ["accept-ranges", "etag", "last-modified", "cache-control", "content-type", "content-length"];
    const sameHeaders = (head: globalThis.Response, get: globalThis.Response) => {
      assert.equal(head.status, get.status);
      for (const name of [...headerNames, "content-range"]) assert.equal(head.headers.get(name), get.headers.get(name));
    };

    it("answers like GET without a body, with and without Range", async () => {
      for (const value of [undefined, "bytes=0-4", "bytes=-500", "bytes=20000-"]) {
        const headers: Record<string, string> = value ? { Range: value } : {};
        const head = await request(fx, headers, { method: "HEAD" });
        const get = await request(fx, headers);
        sameHeaders(head.res, get.res);
        assert.equal(head.body.length, 0);
      }
    });

    it("announces the multipart length it would send", async () => {
      const head = await request(fx, { Range: "bytes=0-4,90-99" }, { method: "HEAD" });
      const get = await range(fx, "bytes=0-4,90-99");
      assert.equal(head.res.status, 206);
      assert.match(head.res.headers.get("content-type") ?? "", /^multipart\/byteranges; boundary=/);
      // Same framing, only the random boundary may differ, and it has a fixed length.
      assert.equal(head.res.headers.get("content-length"), String(get.body.length));
      assert.equal(head.body.length, 0);
    });
  });

  describe("compared with express.static on the same file", () => {
    for (const value of ["bytes=0-4", "bytes=0-0", "bytes=9990-20000", "bytes=-500", "bytes=9500-", "bytes=0-4,3-9"]) {
      it(`matches for ${value}`, async () => {
        const ours = await range(fx, value);
        const theirs = await fetch(`${fx.url}/static/asset.bin`, { headers: { Range: value } });
        const theirBody = Buffer.from(await theirs.arrayBuffer());
        assert.equal(ours.res.status, theirs.status);
        assert.equal(ours.res.headers.get("content-range"), theirs.headers.get("content-range"));
        assert.equal(ours.res.headers.get("content-length"), theirs.headers.get("content-length"));
        assert.ok(ours.body.equals(theirBody));
      });
    }

    it("agrees on unsatisfiable ranges", async () => {
      const ours = await range(fx, "bytes=20000-30000");
      const theirs = await fetch(`${fx.url}/static/asset.bin`, { headers: { Range: "bytes=20000-30000" } });
      await theirs.arrayBuffer();
      assert.equal(ours.res.status, theirs.status);
      assert.equal(ours.res.headers.get("content-range"), theirs.headers.get("content-range"));
    });
  });

  describe("onServed", () => {
    it("hears status, intended body bytes and ranges once per response", async () => {
      await request(fx);
      await range(fx, "bytes=0-4");
      const multipart = await range(fx, "bytes=0-4,90-99");
      await request(fx, { Range: "bytes=0-4" }, { method: "HEAD" });
      await request(fx, { "If-None-Match": fx.file.etag });
      await range(fx, "bytes=20000-");
      await range(fx, "bytes=foo");
      assert.deepEqual(fx.served, [
        { status: 200, bytes: 10000, ranges: 0 },
        { status: 206, bytes: 5, ranges: 1 },
        { status: 206, bytes: multipart.body.length, ranges: 2 },
        { status: 206, bytes: 0, ranges: 1 },
        { status: 304, bytes: 0, ranges: 0 },
        { status: 416, bytes: 0, ranges: 0 },
        { status: 200, bytes: 10000, ranges: 0 },
      ]);
    });
  });

  describe("file errors", () => {
    it("answers 500 when the file cannot be opened", async () => {
      const res = await fetch(`${fx.url}/missing`, { headers: { Range: "bytes=0-4" } });
      assert.equal(res.status, 500);
      await res.arrayBuffer();
      assert.deepEqual(fx.served, [{ status: 500, bytes: 0, ranges: 0 }]);
    });

    it("cuts the connection when the file is shorter than its recorded size, and keeps serving", async () => {
      const res = await fetch(`${fx.url}/short`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-length"), "10100");
      await assert.rejects(res.arrayBuffer());
      const multipart = await fetch(`${fx.url}/short`, { headers: { Range: "bytes=0-4,9990-" } });
      await assert.rejects(multipart.arrayBuffer());
      assertPartial(await range(fx, "bytes=0-4"), 0, 4);
    });
  });
});

describe("sendAssetFile: streaming a large file", () => {
  const size = 16 * 1024 * 1024;
  let fx: RangeFixture;
  before(async () => {
    fx = await startRangeFixture({ size });
  });
  after(async () => {
    await fx.close();
  });

  /** Descriptors this process holds open on the fixture file (Linux /proc). */
  const openDescriptors = () => {
    const target = fs.realpathSync(fx.file.path);
    return fs.readdirSync("/proc/self/fd").filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`) === target;
      } catch {
        return false;
      }
    }).length;
  };

  it("streams a large range and a large multipart body exactly", async () => {
    const single = await fetch(`${fx.url}/file`, { headers: { Range: "bytes=1048576-9437183" } });
    assert.equal(single.status, 206);
    assert.ok(Buffer.from(await single.arrayBuffer()).equals(fx.file.bytes.subarray(1048576, 9437184)));

    const multi = await fetch(`${fx.url}/file`, { headers: { Range: "bytes=0-3145727,8388608-" } });
    const body = Buffer.from(await multi.arrayBuffer());
    assert.equal(multi.headers.get("content-length"), String(body.length));
    const parts = parseByteranges(body, multi.headers.get("content-type"));
    assert.ok(parts[0].data.equals(fx.file.bytes.subarray(0, 3145728)));
    assert.ok(parts[1].data.equals(fx.file.bytes.subarray(8388608)));
  });

  it("survives a client abort mid-stream and releases the file", async function () {
    if (!fs.existsSync("/proc/self/fd")) this.skip();
    const requests: Array<Record<string, string>> = [{}, { Range: "bytes=0-1048575,2097152-" }];
    for (const headers of requests) {
      const controller = new AbortController();
      const res = await fetch(`${fx.url}/file`, { headers, signal: controller.signal });
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.ok(first.value && first.value.length > 0);
      assert.ok(openDescriptors() > 0, "still streaming when aborted");
      controller.abort();
      await reader.read().catch(() => undefined);
      for (let i = 0; i < 100 && openDescriptors() > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(openDescriptors(), 0, "file descriptors released");
    }
    const next = await fetch(`${fx.url}/file`, { headers: { Range: "bytes=0-4" } });
    assert.equal(next.status, 206);
    assert.ok(Buffer.from(await next.arrayBuffer()).equals(fx.file.bytes.subarray(0, 5)));
  });
});
