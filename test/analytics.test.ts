import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import http from "node:http";
import { AnalyticsService, type AnalyticsEvent } from "../src/services/analytics";
import {
  GA4_MAX_PARAMS,
  GA4_NAME,
  GA4_RESERVED_EVENTS,
  GA4_RESERVED_PREFIXES,
} from "../src/services/analytics-providers/ga4-names";
import { Ga4Provider } from "../src/services/analytics-providers/ga4";
import { MixpanelProvider } from "../src/services/analytics-providers/mixpanel";
import { PlausibleProvider } from "../src/services/analytics-providers/plausible";
import { PostHogProvider } from "../src/services/analytics-providers/posthog";
import type { AnalyticsProvider } from "../src/services/analytics-providers/types";
import { pseudonymousId } from "../src/services/analytics-pseudonym";
import { ADMIN, testApp, type TestApp } from "./helpers/app";
import { listenOnLoopback } from "./helpers/listen";
import { bearer, login, register } from "./helpers/users";

const SECRET = "analytics-test-secret-0123456789abcdef";
const MIXPANEL_TOKEN = "mp-project-token";
const POSTHOG_KEY = "phc_test_key";

interface Received {
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: unknown;
}

/**
 * What `/debug/mp/collect` reports as invalid (Measurement Protocol reference): the fake refuses
 * such a request with 400 and the messages, so the test sees any payload GA4 would discard.
 */
function ga4ValidationMessages(body: unknown): string[] {
  const problems: string[] = [];
  const b = body as { client_id?: unknown; user_id?: unknown; events?: unknown };
  if (typeof b.client_id !== "string" || b.client_id.length === 0) problems.push("client_id: required string");
  if (b.user_id !== undefined && (typeof b.user_id !== "string" || b.user_id.length > 256)) problems.push("user_id");
  if (!Array.isArray(b.events) || b.events.length < 1 || b.events.length > 25) problems.push("events: 1 to 25");
  const allowed = new Set([
    "client_id",
    "user_id",
    "events",
    "timestamp_micros",
    "user_properties",
    "consent",
    "non_personalized_ads",
    "user_data",
    "validation_behavior",
    "app_instance_id",
  ]);
  for (const k of Object.keys(b)) if (!allowed.has(k)) problems.push(`unknown field ${k}`);
  for (const e of (Array.isArray(b.events) ? b.events : []) as Array<Record<string, unknown>>) {
    const name = e.name;
    if (typeof name !== "string" || !GA4_NAME.test(name)) problems.push(`event name ${String(name)}`);
    else if (GA4_RESERVED_EVENTS.has(name) || GA4_RESERVED_PREFIXES.some((p) => name.startsWith(p)))
      problems.push(`reserved event name ${name}`);
    if (e.timestamp_micros !== undefined && !Number.isInteger(e.timestamp_micros)) problems.push("timestamp_micros");
    const params = (e.params ?? {}) as Record<string, unknown>;
    if (Object.keys(params).length > GA4_MAX_PARAMS) problems.push("too many params");
    for (const [k, v] of Object.entries(params)) {
      if (!GA4_NAME.test(k) || GA4_RESERVED_PREFIXES.some((p) => k.startsWith(p))) problems.push(`param name ${k}`);
      if (typeof v === "string" ? v.length > 100 : typeof v !== "number") problems.push(`param value ${k}`);
    }
  }
  return problems;
}

/** One fake for the four providers' ingestion endpoints; `answer` picks each provider's status. */
async function startFakeProviders() {
  const received: Record<string, Received[]> = { posthog: [], mixpanel: [], plausible: [], ga4: [] };
  const answer: Record<string, number> = { posthog: 200, mixpanel: 200, plausible: 202, ga4: 204 };
  /** Mixpanel's answer body, when a test needs a specific one (a strict 400's partial success). */
  const mixpanelBody: { text?: string } = {};
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url!, "http://fake");
    const provider = url.pathname.startsWith("/batch")
      ? "posthog"
      : url.pathname === "/import"
        ? "mixpanel"
        : url.pathname === "/api/event"
          ? "plausible"
          : url.pathname === "/mp/collect"
            ? "ga4"
            : undefined;
    if (!provider || req.method !== "POST") return res.writeHead(404).end();
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return res.writeHead(400).end("not json");
    }
    received[provider].push({ path: url.pathname, query: url.searchParams, headers: req.headers, raw, body });
    if (provider === "ga4") {
      const validationMessages = ga4ValidationMessages(body);
      if (validationMessages.length) {
        return res.writeHead(400, { "Content-Type": "application/json" }).end(JSON.stringify({ validationMessages }));
      }
    }
    res
      .writeHead(answer[provider], { "Content-Type": "application/json" })
      .end(
        provider === "mixpanel"
          ? (mixpanelBody.text ?? JSON.stringify({ code: answer[provider], status: "ok" }))
          : "{}",
      );
  });
  const { url, close } = await listenOnLoopback(server);
  return { url, close, received, answer, mixpanelBody };
}

describe("analytics outbox", function () {
  let t: TestApp;
  let fake: Awaited<ReturnType<typeof startFakeProviders>>;
  let now: Date;
  let random = 0.5;
  const clock = () => now;
  const advance = (ms: number) => (now = new Date(now.getTime() + ms));

  before(async () => {
    t = await testApp();
    fake = await startFakeProviders();
  });
  after(async () => {
    await fake?.close();
  });
  beforeEach(async () => {
    now = new Date();
    random = 0.5;
    await t.app.dataSource.query(`DELETE FROM analytics_events`);
    await t.app.dataSource.query(`DELETE FROM analytics_provider_stats`);
    for (const k of Object.keys(fake.received)) fake.received[k] = [];
    Object.assign(fake.answer, { posthog: 200, mixpanel: 200, plausible: 202, ga4: 204 });
    fake.mixpanelBody.text = undefined;
  });

  const providers = {
    posthog: () => new PostHogProvider(POSTHOG_KEY, fake.url),
    mixpanel: () => new MixpanelProvider(MIXPANEL_TOKEN, fake.url),
    plausible: () => new PlausibleProvider("game.arcadia.test", fake.url),
    ga4: () => new Ga4Provider("G-TEST123", "ga4-secret", fake.url),
  };
  const service = (list: AnalyticsProvider[], maxRows = 100_000) =>
    new AnalyticsService(t.app.dataSource, list, {
      idSecret: SECRET,
      maxRows,
      retryBaseMs: 1_000,
      retryMaxMs: 60_000,
      clock,
      random: () => random,
    });
  const event = (over: Partial<AnalyticsEvent> = {}): AnalyticsEvent => ({
    name: "match.found",
    occurredAt: new Date(now.getTime() - 1_000),
    insertId: randomUUID(),
    properties: { mode: "duel", level: 3 },
    ...over,
  });
  const track = (s: AnalyticsService, events: AnalyticsEvent[]) =>
    t.app.dataSource.transaction(async (m) => {
      for (const e of events) await s.track(m, e);
    });
  const queued = async (provider: string) =>
    (
      (await t.app.dataSource.query(`SELECT count(*)::int AS n FROM analytics_events WHERE provider = $1`, [
        provider,
      ])) as Array<{ n: number }>
    )[0].n;

  it("mixpanel: /import in batches of at most 2,000 with $insert_id, pseudonymous distinct_id, token auth", async () => {
    const s = service([providers.mixpanel()]);
    const userId = randomUUID();
    const events = Array.from({ length: 2_500 }, (_, i) => event({ userId, properties: { i } }));
    await track(s, events);
    const r = await s.drain("mixpanel");
    assert.deepEqual(r, { sent: 2_500, failed: 0, retried: 0, dropped: 0 });
    const reqs = fake.received.mixpanel;
    assert.deepEqual(
      reqs.map((q) => (q.body as unknown[]).length),
      [2_000, 500],
    );
    assert.equal(reqs[0].query.get("strict"), "1");
    assert.equal(reqs[0].headers.authorization, `Basic ${Buffer.from(`${MIXPANEL_TOKEN}:`).toString("base64")}`);
    const sent = reqs.flatMap((q) => q.body as Array<{ event: string; properties: Record<string, unknown> }>);
    assert.deepEqual(
      sent.map((e) => e.properties.$insert_id),
      events.map((e) => e.insertId),
    );
    assert.equal(sent[7].event, "match.found");
    assert.equal(sent[7].properties.i, 7);
    assert.equal(sent[7].properties.time, events[7].occurredAt.getTime());
    assert.equal(sent[7].properties.distinct_id, pseudonymousId(SECRET, userId));
    assert.notEqual(sent[7].properties.distinct_id, userId);
    assert.equal(await queued("mixpanel"), 0, "sent rows are trimmed");
  });

  it("posthog: batches through posthog-node with the insert id as event uuid and the event time", async () => {
    const s = service([providers.posthog()]);
    const userId = randomUUID();
    const events = Array.from({ length: 150 }, () => event({ userId }));
    events[0].insertId = "not-a-uuid:round-end:42";
    await track(s, events);
    const r = await s.drain("posthog");
    assert.equal(r.sent, 150);
    const reqs = fake.received.posthog;
    assert.deepEqual(
      reqs.map((q) => (q.body as { batch: unknown[] }).batch.length),
      [100, 50],
    );
    const batch = reqs.flatMap(
      (q) =>
        (q.body as { api_key: string; batch: Array<Record<string, unknown> & { properties: Record<string, unknown> }> })
          .batch,
    );
    assert.equal((reqs[0].body as { api_key: string }).api_key, POSTHOG_KEY);
    assert.equal(batch.length, 150);
    assert.equal(batch[1].uuid, events[1].insertId);
    assert.match(String(batch[0].uuid), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(batch[1].event, "match.found");
    assert.equal(batch[1].distinct_id, pseudonymousId(SECRET, userId));
    assert.equal(new Date(String(batch[1].timestamp)).getTime(), events[1].occurredAt.getTime());
    assert.equal(batch[1].properties.mode, "duel");
  });

  it("plausible: one event per call with the client's User-Agent and X-Forwarded-For; server events skipped", async () => {
    const s = service([providers.plausible()]);
    const client = { ip: "203.0.113.7", userAgent: "Mozilla/5.0 (test) Arcadia" };
    await track(s, [
      event({ client, name: "signup", properties: { url: "https://game.arcadia.test/start", plan: "free" } }),
      event({ client }),
      event({ client }),
      event(), // no client: Plausible cannot count it
    ]);
    assert.equal(await queued("plausible"), 3);
    const r = await s.drain("plausible");
    assert.equal(r.sent, 3);
    const reqs = fake.received.plausible;
    assert.equal(reqs.length, 3);
    for (const q of reqs) {
      assert.equal(q.headers["user-agent"], client.userAgent);
      assert.equal(q.headers["x-forwarded-for"], client.ip);
      assert.equal(q.headers["content-type"], "application/json");
      assert.equal((q.body as { domain: string }).domain, "game.arcadia.test");
    }
    assert.deepEqual(reqs[0].body, {
      name: "signup",
      url: "https://game.arcadia.test/start",
      domain: "game.arcadia.test",
      props: { plan: "free" },
    });
    assert.equal((reqs[1].body as { url: string }).url, "app://game.arcadia.test/match.found");
  });

  it("ga4: ≤ 25 events a request, one client per request, names mapped to valid Measurement Protocol names", async () => {
    const s = service([providers.ga4()]);
    const a = randomUUID();
    const b = randomUUID();
    const events = [
      ...Array.from({ length: 30 }, (_, i) =>
        event({
          userId: a,
          name: i === 0 ? "session_start" : "match.found",
          properties: { "score.total": i, _x: "y" },
        }),
      ),
      ...Array.from({ length: 3 }, () =>
        event({
          userId: b,
          name: "9lives-bonus",
          // More properties than GA4 takes, and a value longer than 100 characters.
          properties: {
            ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`p${i}`, i])),
            long: "x".repeat(300),
          },
        }),
      ),
    ];
    await track(s, events);
    const r = await s.drain("ga4");
    assert.deepEqual(r, { sent: 33, failed: 0, retried: 0, dropped: 0 });
    const reqs = fake.received.ga4;
    assert.deepEqual(
      reqs.map((q) => (q.body as { events: unknown[] }).events.length),
      [25, 5, 3],
    );
    for (const q of reqs) {
      assert.equal(q.query.get("measurement_id"), "G-TEST123");
      assert.equal(q.query.get("api_secret"), "ga4-secret");
      assert.deepEqual(ga4ValidationMessages(q.body), []);
    }
    const first = reqs[0].body as {
      client_id: string;
      user_id: string;
      events: Array<{ name: string; timestamp_micros: number; params: Record<string, unknown> }>;
    };
    assert.equal(first.user_id, pseudonymousId(SECRET, a));
    assert.equal(first.client_id, pseudonymousId(SECRET, a));
    assert.equal((reqs[2].body as { user_id: string }).user_id, pseudonymousId(SECRET, b));
    assert.equal(first.events[0].name, "app_session_start");
    assert.equal(first.events[1].name, "match_found");
    assert.equal(first.events[1].timestamp_micros, events[1].occurredAt.getTime() * 1000);
    assert.equal(first.events[1].params.score_total, 1);
    assert.equal(first.events[1].params.app__x, "y");
    assert.equal(first.events[1].params.insert_id, events[1].insertId);
    assert.equal((reqs[2].body as { events: Array<{ name: string }> }).events[0].name, "app_9lives_bonus");
  });

  it("the fake GA4 refuses what /debug/mp/collect reports as invalid (a 400 is never retried)", async () => {
    const bad: AnalyticsProvider = {
      name: "ga4",
      maxBatch: 25,
      accepts: () => true,
      send: (events) => new Ga4Provider("G-TEST123", "s", fake.url).send(events),
    };
    // A direct invalid payload: the fake answers 400 with validation messages.
    const res = await fetch(`${fake.url}/mp/collect`, {
      method: "POST",
      body: JSON.stringify({ events: [{ name: "bad name!", params: { _p: {} } }] }),
    });
    assert.equal(res.status, 400);
    const { validationMessages } = (await res.json()) as { validationMessages: string[] };
    assert.ok(validationMessages.length >= 3);
    // And a valid one through the adapter passes.
    const s = service([bad]);
    await track(s, [event()]);
    assert.equal((await s.drain("ga4")).sent, 1);
  });

  it("mixpanel: a strict 400 counts the imported rows sent and the refused ones failed, and is not retried", async () => {
    const s = service([providers.mixpanel()]);
    const events = [event(), event(), event()];
    await track(s, events);
    fake.answer.mixpanel = 400;
    fake.mixpanelBody.text = JSON.stringify({
      code: 400,
      num_records_imported: 2,
      status: "Bad Request",
      failed_records: [{ index: 1, insert_id: events[1].insertId, field: "properties.time", message: "bad" }],
    });
    assert.deepEqual(await s.drain("mixpanel"), { sent: 2, failed: 1, retried: 0, dropped: 0 });
    assert.equal(await queued("mixpanel"), 0);
  });

  it("retries a 500 with exponential backoff and jitter; a later success loses nothing", async () => {
    const s = service([providers.mixpanel()]);
    const events = [event(), event()];
    await track(s, events);
    fake.answer.mixpanel = 500;
    random = 0; // the shortest jitter: half the backoff
    assert.deepEqual(await s.drain("mixpanel"), { sent: 0, failed: 0, retried: 2, dropped: 0 });
    const next = async () =>
      new Date(
        (
          (await t.app.dataSource.query(`SELECT min(next_attempt_at) AS at FROM analytics_events`)) as Array<{
            at: Date;
          }>
        )[0].at,
      ).getTime() - now.getTime();
    assert.equal(await next(), 500, "first retry after base/2 .. base");
    await s.drain("mixpanel");
    assert.equal(fake.received.mixpanel.length, 1, "not retried before the backoff");
    advance(500);
    random = 1; // the longest: the whole backoff
    await s.drain("mixpanel");
    assert.equal(fake.received.mixpanel.length, 2);
    assert.equal(await next(), 2_000, "the second retry waits twice as long");
    advance(2_000);
    await s.drain("mixpanel");
    assert.equal(await next(), 4_000);
    const [{ attempts, last_error }] = await t.app.dataSource.query(
      `SELECT attempts, last_error FROM analytics_events LIMIT 1`,
    );
    assert.equal(attempts, 3);
    assert.match(last_error, /mixpanel answered 500/);
    fake.answer.mixpanel = 200;
    advance(4_000);
    assert.equal((await s.drain("mixpanel")).sent, 2);
    assert.equal(fake.received.mixpanel.length, 4);
    const last = fake.received.mixpanel[3].body as Array<{ properties: { $insert_id: string } }>;
    assert.deepEqual(
      last.map((e) => e.properties.$insert_id),
      events.map((e) => e.insertId),
      "the retry carries the same $insert_id (dedup at Mixpanel)",
    );
    assert.equal(await queued("mixpanel"), 0);
  });

  it("a 400 is not retried: the batch is dropped and counted failed", async () => {
    const s = service([providers.mixpanel()]);
    await track(s, [event(), event(), event()]);
    fake.answer.mixpanel = 400;
    assert.deepEqual(await s.drain("mixpanel"), { sent: 0, failed: 3, retried: 0, dropped: 0 });
    advance(3_600_000);
    await s.drain("mixpanel");
    assert.equal(fake.received.mixpanel.length, 1);
    assert.equal(await queued("mixpanel"), 0);
    const status = await s.status();
    assert.equal(status.mixpanel.failed, 3);
    assert.match(String(status.mixpanel.lastError), /400/);
  });

  it("a provider down for minutes (5xx, then unreachable) loses nothing and sends each event once on recovery", async () => {
    const s = service([providers.ga4(), providers.posthog()]);
    const tracked: string[] = [];
    const userId = randomUUID();
    fake.answer.ga4 = 503;
    fake.answer.posthog = 502;
    // Ten simulated minutes of outage, with events arriving all along.
    for (let minute = 0; minute < 10; minute++) {
      const batch = Array.from({ length: 4 }, () => event({ userId }));
      tracked.push(...batch.map((e) => e.insertId));
      await track(s, batch);
      await s.drainAll();
      advance(60_000);
    }
    // Unreachable as well: a port nobody listens on.
    const closed = http.createServer();
    const { url: deadUrl, close } = await listenOnLoopback(closed);
    await close();
    const dead = new AnalyticsService(t.app.dataSource, [new Ga4Provider("G-TEST123", "s", deadUrl)], {
      idSecret: SECRET,
      maxRows: 100_000,
      retryBaseMs: 1_000,
      clock,
    });
    const r = await dead.drain("ga4");
    assert.equal(r.sent, 0);
    assert.equal(await queued("ga4"), 40);
    assert.equal(await queued("posthog"), 40);
    assert.equal((await s.status()).ga4.sent, 0);
    assert.match(String((await s.status()).ga4.lastError), /unreachable|503/);

    fake.answer.ga4 = 204;
    fake.answer.posthog = 200;
    for (const k of Object.keys(fake.received)) fake.received[k] = [];
    advance(20 * 60_000);
    const done = await s.drainAll();
    assert.equal(done.ga4.sent, 40);
    assert.equal(done.posthog.sent, 40);
    const ga4Ids = fake.received.ga4.flatMap((q) =>
      (q.body as { events: Array<{ params: { insert_id: string } }> }).events.map((e) => e.params.insert_id),
    );
    const phIds = fake.received.posthog.flatMap((q) =>
      (q.body as { batch: Array<{ uuid: string }> }).batch.map((e) => e.uuid),
    );
    assert.deepEqual(ga4Ids.sort(), [...tracked].sort());
    assert.deepEqual(phIds.sort(), [...tracked].sort());
    assert.equal(await queued("ga4"), 0);
  });

  it("no email, raw user id or IP in any payload (Plausible's forwarded header aside)", async () => {
    const s = service([providers.posthog(), providers.mixpanel(), providers.plausible(), providers.ga4()]);
    const userId = randomUUID();
    const email = "player.one@arcadia.test";
    const ip = "198.51.100.23";
    await track(s, [
      event({
        userId,
        client: { ip, userAgent: "UA/1.0" },
        properties: { email, ip, contact: `mail ${email}`, user_id: userId, peer: "2001:db8::1", level: 5 },
      }),
    ]);
    await s.drainAll();
    const all = Object.values(fake.received).flat();
    assert.equal(all.length, 4, "one request per provider");
    for (const q of all) {
      assert.ok(!q.raw.includes(email) && !q.raw.includes("@arcadia.test"), `${q.path} carries an email`);
      assert.ok(!q.raw.includes(ip) && !q.raw.includes("2001:db8::1"), `${q.path} carries an IP`);
      assert.ok(!q.raw.includes(userId), `${q.path} carries the raw user id`);
      assert.ok(q.raw.includes('"level"') || q.raw.includes("level"), "ordinary properties still go");
    }
    assert.equal(fake.received.plausible[0].headers["x-forwarded-for"], ip);
  });

  it("the outbox is bounded: beyond the bound the oldest rows are dropped and counted", async () => {
    const s = service([providers.mixpanel()], 5);
    const events = Array.from({ length: 8 }, () => event());
    await track(s, events);
    fake.answer.mixpanel = 503;
    const r = await s.drain("mixpanel");
    assert.equal(r.dropped, 3);
    assert.equal(await queued("mixpanel"), 5);
    fake.answer.mixpanel = 200;
    advance(60_000);
    await s.drain("mixpanel");
    const last = fake.received.mixpanel.at(-1)!.body as Array<{ properties: { $insert_id: string } }>;
    assert.deepEqual(
      last.map((e) => e.properties.$insert_id),
      events.slice(3).map((e) => e.insertId),
      "the newest five survive",
    );
    const status = await s.status();
    assert.equal(status.mixpanel.dropped, 3);
    assert.equal(status.mixpanel.sent, 5);
  });

  it("track is part of the caller's transaction, and one insert id is queued once", async () => {
    const s = service([providers.mixpanel()]);
    await assert.rejects(
      t.app.dataSource.transaction(async (m) => {
        await s.track(m, event());
        throw new Error("rolled back");
      }),
      /rolled back/,
    );
    assert.equal(await queued("mixpanel"), 0);
    const e = event();
    await track(s, [e, e]);
    await track(s, [e]);
    assert.equal(await queued("mixpanel"), 1);
  });

  it("two senders draining at once never send a row twice", async () => {
    const a = service([providers.mixpanel()]);
    const b = service([providers.mixpanel()]);
    const events = Array.from({ length: 50 }, () => event());
    await track(a, events);
    // Mixpanel's batch is large: give each sender a small one so both claim repeatedly.
    (a.providers[0] as { maxBatch: number }).maxBatch = 5;
    (b.providers[0] as { maxBatch: number }).maxBatch = 5;
    const [ra, rb] = await Promise.all([a.drain("mixpanel"), b.drain("mixpanel")]);
    assert.equal(ra.sent + rb.sent, 50);
    const ids = fake.received.mixpanel.flatMap((q) =>
      (q.body as Array<{ properties: { $insert_id: string } }>).map((e) => e.properties.$insert_id),
    );
    assert.equal(ids.length, 50);
    assert.equal(new Set(ids).size, 50);
  });

  it("start() runs a sender loop per provider until stop()", async () => {
    const s = new AnalyticsService(t.app.dataSource, [providers.mixpanel(), providers.ga4()], {
      idSecret: SECRET,
      maxRows: 100,
      retryBaseMs: 1_000,
      pollMs: 20,
    });
    s.start();
    try {
      await track(s, [event(), event({ userId: randomUUID() })]);
      const deadline = Date.now() + 10_000;
      while ((await queued("mixpanel")) + (await queued("ga4")) > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await s.stop();
    }
    assert.equal(await queued("mixpanel"), 0);
    assert.equal(await queued("ga4"), 0);
    assert.equal(fake.received.mixpanel.length, 1);
    assert.equal(fake.received.ga4.length, 2, "one request per user");
    // Stopped: a new event stays queued.
    await track(s, [event()]);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await queued("mixpanel"), 1);
  });

  it("a backlog larger than one pass (GA4: one request per user) is sent on at once, not a pass per poll", async () => {
    const s = new AnalyticsService(t.app.dataSource, [providers.ga4()], {
      idSecret: SECRET,
      maxRows: 1_000,
      retryBaseMs: 1_000,
      pollMs: 10 * 60_000, // a pass per poll would leave all but the first 20 users queued here
    });
    const users = Array.from({ length: 70 }, () => randomUUID());
    await track(
      s,
      users.map((userId) => event({ userId })),
    );
    s.start();
    try {
      const deadline = Date.now() + 20_000;
      while ((await queued("ga4")) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await s.stop();
    }
    assert.equal(await queued("ga4"), 0, "every user's event sent in consecutive passes");
    assert.equal(fake.received.ga4.length, 70);
  });

  it("GET /api/analytics/status: admin only, numbers per provider", async () => {
    const s = service([providers.mixpanel(), providers.plausible()]);
    await track(s, [event(), event(), event({ client: { ip: "192.0.2.1", userAgent: "UA" } })]);
    await s.drain("mixpanel");
    fake.answer.plausible = 500;
    await s.drain("plausible");
    const admin = (await login(ADMIN.email, ADMIN.password, t)).accessToken;
    const res = await t.fetch("/api/analytics/status", { headers: bearer(admin) });
    assert.equal(res.status, 200);
    const { providers: p } = (await res.json()) as {
      providers: Record<
        string,
        { queued: number; sent: number; failed: number; dropped: number; lastError: string | null }
      >;
    };
    assert.deepEqual(Object.keys(p).sort(), ["ga4", "mixpanel", "plausible", "posthog"]);
    assert.equal(p.mixpanel.sent, 3);
    assert.equal(p.mixpanel.queued, 0);
    assert.equal(p.plausible.sent, 0);
    assert.equal(p.plausible.queued, 1);
    assert.match(String(p.plausible.lastError), /plausible answered 500/);
    assert.equal(p.posthog.queued, 0);
    const metrics = await (await t.fetch("/metrics")).text();
    assert.match(metrics, /analytics_events_total\{provider="mixpanel",outcome="sent"\} \d+/);

    const { accessToken } = await register();
    assert.equal((await t.fetch("/api/analytics/status", { headers: bearer(accessToken) })).status, 403);
    assert.equal((await t.fetch("/api/analytics/status")).status, 401);
  });
});
