import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ADMIN, testApp } from "./helpers/app";
import { login, register } from "./helpers/users";
import { prng } from "./helpers/prng";

/**
 * OpenAPI-driven fuzzing: every documented operation gets valid-ish and
 * hostile requests (bad percent-encoding, NUL, huge and unicode values, year-0
 * dates, wrong types, missing and extra fields, deep nesting, wrong
 * Content-Type, bogus Content-Encoding), with and without a bearer token.
 * No answer may be a 5xx (except a documented 503 *_NOT_CONFIGURED /
 * UNAVAILABLE), every JSON error is the envelope with a requestId, and the
 * server is still up afterwards. FUZZ_SEED=<n> replays a run; FUZZ_REQUESTS sets the count.
 */
const TOTAL = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const CONCURRENCY = 6;
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

type Schema = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  params: Array<{ name: string; in: string; schema: Schema }>;
  body?: { contentType: string; schema: Schema };
  documented503: boolean;
  /** HTML pages answer errors as pages, not the JSON envelope. */
  html: boolean;
}

const NASTY_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "ü😀 ünïcødé",
  "\ud800",
  "x".repeat(5000),
  "-1",
  "0",
  "1e309",
  "0000-01-01T00:00:00Z",
  "0000-01-01T00:00:00.000Z",
  "9999-12-31T23:59:59Z",
  "null",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "../../etc/passwd",
  "%E0%A4%A",
  "\r\nX-Injected: 1",
];
/** Raw (already URL-encoded) path and query values. */
const NASTY_URL_VALUES = [
  "%E0%A4%A",
  "%zz",
  "%",
  "%00",
  "abc%00def",
  "%C0%AF",
  "%F0%9F%98%80",
  "%ED%A0%80",
  "-1",
  "0",
  "99999999999999999999999",
  "1.5",
  "x".repeat(3000),
  "0000-01-01T00%3A00%3A00Z",
  "..%2F..%2Fetc",
  "%0d%0aX-Injected:%201",
];
const PASSWORD_HASHING = /^\/api\/auth\/(register|login|change-password)$|^\/monitor\/login$/;
const WRONG_TYPES: unknown[] = [123, -1, 1.5, true, null, [], {}, "str", [1, 2], { a: 1 }, 1e308];

describe("HTTP fuzzing (OpenAPI-driven)", function () {
  this.timeout(300_000);

  it(`answers ${TOTAL} fuzzed requests over every route without a 5xx`, async () => {
    const t = await testApp();
    const random = prng(SEED);
    const chance = (p: number) => random() < p;
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

    const doc = await (await t.fetch("/docs/openapi.json")).json();
    const operations = listOperations(doc);
    assert.ok(operations.length >= 40, `only ${operations.length} operations documented`);

    let admin = await login(ADMIN.email, ADMIN.password, t);
    let user = await register(t);
    let renewUser: Promise<unknown> | undefined;
    let renewAdmin: Promise<unknown> | undefined;
    const knownIds = () => [user.user.id, randomUUID()];

    const resolve = (schema: Schema | undefined): Schema => {
      let s = schema ?? {};
      for (let i = 0; s.$ref && i < 10; i++) s = doc.components.schemas[s.$ref.split("/").pop()];
      return s;
    };

    /** A value that satisfies `schema` (mostly): what a well-behaved client would send. */
    const valid = (schema: Schema | undefined, depth = 0): unknown => {
      const s = resolve(schema);
      if (s.enum) return pick(s.enum);
      if (s.const !== undefined) return s.const;
      const variants = s.anyOf ?? s.oneOf;
      if (variants) return valid(pick(variants), depth);
      const type = Array.isArray(s.type) ? pick(s.type.filter((x: string) => x !== "null")) : s.type;
      switch (type) {
        case "string":
          if (s.format === "uuid") return pick(knownIds());
          if (s.format === "date-time") return new Date(Date.now() - random() * 1e10).toISOString();
          if (s.format === "email") return `fuzz-${Math.floor(random() * 1e9)}@arcadia.test`;
          if (s.pattern === "^\\d{1,18}$") return String(Math.floor(random() * 1e6));
          return "fuzz ".repeat(Math.max(1, Math.ceil((s.minLength ?? 4) / 5))).slice(0, s.maxLength ?? 40) || "x";
        case "integer":
        case "number": {
          const min = s.minimum ?? 0;
          const max = s.maximum ?? min + 100;
          return Math.floor(min + random() * (max - min + 1));
        }
        case "boolean":
          return chance(0.5);
        case "array":
          return depth > 4 ? [] : Array.from({ length: Math.floor(random() * 3) }, () => valid(s.items, depth + 1));
        default: {
          const out: Record<string, unknown> = {};
          for (const [name, prop] of Object.entries<Schema>(s.properties ?? {})) {
            if (depth < 5 && ((s.required ?? []).includes(name) || chance(0.5))) out[name] = valid(prop, depth + 1);
          }
          return out;
        }
      }
    };

    const hostile = (): unknown => {
      const n = 1 + Math.floor(random() * 3000);
      return pick<() => unknown>([
        () => pick(WRONG_TYPES),
        () => pick(NASTY_STRINGS),
        () => JSON.parse("[".repeat(n) + "]".repeat(n)),
        () => {
          let nested: Record<string, unknown> = {};
          for (let i = 0; i < n; i++) nested = { a: nested };
          return nested;
        },
      ])();
    };

    /** A body for the operation: valid-ish, or broken in one of many ways. */
    const body = (op: Operation): { text?: string | Uint8Array; contentType?: string } => {
      const schema = op.body?.schema;
      const base = valid(schema) as Record<string, unknown>;
      const roll = random();
      let value: unknown;
      if (roll < 0.35) value = base;
      else if (roll < 0.7 && base && typeof base === "object" && !Array.isArray(base)) {
        const props = Object.keys(resolve(schema).properties ?? {});
        const key = props.length && chance(0.8) ? pick(props) : `extra_${Math.floor(random() * 100)}`;
        const mutated = { ...base };
        const how = random();
        if (how < 0.25) delete mutated[key];
        else if (how < 0.55) mutated[key] = pick(WRONG_TYPES);
        else if (how < 0.85) mutated[key] = pick(NASTY_STRINGS);
        else mutated[key] = hostile();
        value = mutated;
      } else value = hostile();

      const contentType = chance(0.8)
        ? (op.body?.contentType ?? "application/json")
        : pick([undefined, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16"]);
      if (chance(0.08)) return { text: pick(["{", "not json", '{"a":', "\u0000", "[]]"]), contentType };
      if (chance(0.05)) return { text: crypto.getRandomValues(new Uint8Array(64)), contentType };
      return { text: JSON.stringify(value), contentType };
    };

    const urlValue = (schema: Schema): string => {
      if (chance(0.45)) return pick(NASTY_URL_VALUES);
      if (chance(0.1)) return encode(String(pick(NASTY_STRINGS)));
      const v = valid(schema);
      return encode(typeof v === "object" ? JSON.stringify(v) : String(v));
    };

    const buildRequest = (op: Operation) => {
      let path = op.path;
      const query: string[] = [];
      for (const p of op.params) {
        if (p.in === "path") path = path.replace(`{${p.name}}`, urlValue(p.schema));
        else if (p.in === "query" && chance(0.7)) query.push(`${p.name}=${urlValue(p.schema)}`);
      }
      if (chance(0.05)) query.push(`${pick(["zzz", "__proto__", "a[b]", "x%00"])}=${pick(NASTY_URL_VALUES)}`);
      if (chance(0.01)) query.push(`pad=${"a".repeat(17_000)}`); // over Node's 16 KB header limit: 431
      const headers: Record<string, string> = {};
      const auth = random();
      if (auth < 0.5) headers.Authorization = `Bearer ${user.accessToken}`;
      else if (auth < 0.6) headers.Authorization = `Bearer ${admin.accessToken}`;
      else if (auth < 0.7)
        headers.Authorization = pick(["Bearer x.y.z", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer \u00ff"]);
      let payload: string | Uint8Array | undefined;
      if (op.body || (op.method !== "get" && chance(0.2))) {
        const b = body(op);
        payload = b.text;
        if (b.contentType) headers["Content-Type"] = b.contentType;
        if (chance(0.1)) headers["Content-Encoding"] = pick(["gzip", "deflate", "br", "identity", "x-bogus"]);
      }
      return {
        url: `${path}${query.length ? `?${query.join("&")}` : ""}`,
        method: op.method.toUpperCase(),
        headers,
        payload,
      };
    };

    const failures: string[] = [];
    const fail = (what: string) => {
      if (failures.length < 25) failures.push(what);
    };
    const counts: Record<string, number> = {};
    let sent = 0;

    const one = async (op: Operation) => {
      const req = buildRequest(op);
      const label = `${req.method} ${req.url.slice(0, 120)} ${JSON.stringify(req.headers).slice(0, 160)}`;
      let res: Response;
      try {
        res = await fetch(`${t.baseUrl}${req.url}`, {
          method: req.method,
          headers: req.headers,
          body: req.payload as BodyInit | undefined,
          redirect: "manual",
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        // Header values fetch itself refuses to send are not the server's fault.
        if (err instanceof TypeError && /header|ByteString/i.test(String(err.cause ?? err.message))) return;
        return fail(`${label} → no answer: ${(err as Error).message} ${(err as Error).cause ?? ""}`);
      }
      const text = await res.text();
      // Fuzzed logout-all, password changes and deletes end a session: sign in again for the next requests.
      const revoked = res.status === 401 && /^(TOKEN_REVOKED|INVALID_TOKEN|UNAUTHORIZED)$/.test(codeOf(text));
      if (revoked && req.headers.Authorization === `Bearer ${user.accessToken}`)
        renewUser ??= register(t).then((u) => ((user = u), (renewUser = undefined)));
      if (revoked && req.headers.Authorization === `Bearer ${admin.accessToken}`)
        renewAdmin ??= login(ADMIN.email, ADMIN.password, t).then((a) => ((admin = a), (renewAdmin = undefined)));
      counts[res.status] = (counts[res.status] ?? 0) + 1;
      let parsed: any;
      const isJson = (res.headers.get("content-type") ?? "").includes("json");
      if (isJson) {
        try {
          parsed = JSON.parse(text);
        } catch {
          return fail(`${label} → ${res.status} with a JSON content type but an unparsable body`);
        }
      }
      if (res.status >= 500) {
        const allowed =
          res.status === 503 && op.documented503 && /(_NOT_CONFIGURED|^UNAVAILABLE)$/.test(parsed?.error?.code ?? "");
        if (!allowed) return fail(`${label} → ${res.status} ${text.slice(0, 300)}`);
      }
      if (res.status >= 400 && !op.html && !(op.path === "/health/ready" && res.status === 503)) {
        const e = parsed?.error;
        if (!isJson || typeof e?.code !== "string" || typeof e?.message !== "string" || !e?.requestId)
          fail(`${label} → ${res.status} without the error envelope: ${text.slice(0, 200)}`);
      }
    };

    // Password hashing (argon2, ~19 MiB and tens of ms each) dominates the run: those routes get a quarter share.
    const weight = (op: Operation) => (PASSWORD_HASHING.test(op.path) ? 0.25 : 1);
    const perShare = TOTAL / operations.reduce((sum, op) => sum + weight(op), 0);
    const queue: Operation[] = operations.flatMap((op) =>
      Array.from({ length: Math.ceil(perShare * weight(op)) }, () => op),
    );
    // Shuffle, so a token revoked by a fuzzed logout does not starve one route.
    for (let i = queue.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [queue[i], queue[j]] = [queue[j], queue[i]];
    }
    const started = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let op = queue.pop(); op; op = queue.pop()) {
          sent++;
          await one(op);
          await Promise.all([renewUser, renewAdmin]);
        }
      }),
    );
    const health = await t.fetch("/health");
    assert.equal(health.status, 200, "the server is still up");
    console.log(
      `      fuzz: seed ${SEED}, ${sent} requests over ${operations.length} operations in ${Date.now() - started} ms; statuses ${JSON.stringify(counts)}`,
    );
    assert.deepEqual(failures, [], `fuzz failures (replay with FUZZ_SEED=${SEED})`);
  });
});

function codeOf(text: string): string {
  try {
    return String(JSON.parse(text)?.error?.code ?? "");
  } catch {
    return "";
  }
}

/** encodeURIComponent, with lone surrogates (which it refuses) sent as their raw UTF-8 bytes. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return "%ED%A0%80";
  }
}

function listOperations(doc: any): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const content = op.requestBody?.content ?? {};
      const contentType = Object.keys(content)[0];
      const responses = op.responses ?? {};
      out.push({
        method,
        path,
        params: (op.parameters ?? []).map((p: any) => ({ name: p.name, in: p.in, schema: p.schema ?? {} })),
        body: contentType ? { contentType, schema: content[contentType].schema ?? {} } : undefined,
        documented503: "503" in responses,
        html: path.startsWith("/monitor"),
      });
    }
  }
  return out;
}
