import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Writable } from "node:stream";
import pino from "pino";
import { Ban, ModerationEvent } from "../src/entities";
import { HiveClient } from "../src/services/hive";
import { AI_BAN_REASON, ModerationService } from "../src/services/moderation";
import { testApp, type TestApp } from "./helpers/app";
import { listenOnLoopback } from "./helpers/listen";
import { deliverHive, hiveSignature, watchModeration } from "./helpers/moderation";
import { register } from "./helpers/users";

const HOUR = 3_600_000;

describe("Hive moderation webhook", () => {
  let t: TestApp;
  let userId: string;
  before(async () => {
    t = await testApp();
  });
  beforeEach(async () => {
    userId = (await register(t)).user.id;
  });
  const verdict = (violation: boolean, extra: Record<string, unknown> = {}) => ({
    id: `hive_${randomUUID()}`,
    userId,
    callId: randomUUID(),
    violation,
    classes: violation ? ["nudity"] : [],
    ...extra,
  });
  const send = async (event: object) => {
    const res = await deliverHive(t, event);
    assert.equal(res.status, 200);
    return (await res.json()).outcome as string;
  };
  const stored = (eventId: string) => t.app.dataSource.getRepository(ModerationEvent).countBy({ eventId });
  const bans = () => t.app.dataSource.getRepository(Ban).findBy({ userId });

  it("a missing, forged or malformed signature is a 401 and records nothing", async () => {
    const event = verdict(true);
    const signed = hiveSignature(JSON.stringify(event));
    for (const signature of [
      null,
      hiveSignature(JSON.stringify(event), "not-our-secret"),
      hiveSignature(JSON.stringify({ ...event, violation: false })),
      signed.replace("sha256=", "sha1="),
      signed.slice(0, -2),
      "sha256=zz",
      "",
    ]) {
      const res = await deliverHive(t, event, { signature });
      assert.equal(res.status, 401, String(signature));
      assert.equal((await res.json()).error.code, "INVALID_SIGNATURE");
    }
    assert.equal(await stored(event.id), 0);
    assert.equal(await send(event), "violation", "the genuine delivery still works afterwards");
  });

  it("a verified verdict without a violation is recorded, once per event id", async () => {
    const event = verdict(false, { classes: ["general_not_nsfw"] });
    assert.equal(await send(event), "recorded");
    assert.equal(await send(event), "duplicate");
    const rows = await t.app.dataSource.getRepository(ModerationEvent).findBy({ eventId: event.id });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].userId, userId);
    assert.equal(rows[0].callId, event.callId);
    assert.equal(rows[0].violation, false);
    assert.deepEqual(rows[0].classes, ["general_not_nsfw"]);
  });

  it("concurrent redeliveries of one event record it once", async () => {
    const event = verdict(true);
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => send(event)));
    assert.deepEqual(outcomes.sort(), ["duplicate", "duplicate", "duplicate", "duplicate", "duplicate", "violation"]);
    assert.equal(await stored(event.id), 1);
  });

  it("a signed body of the wrong shape is a 400 and records nothing", async () => {
    for (const event of [
      verdict(true, { userId: "user-1" }),
      verdict(true, { id: "" }),
      verdict(true, { id: "x".repeat(129) }),
      verdict(true, { violation: "yes" }),
      verdict(true, { callId: "call-1" }),
      verdict(true, { classes: ["x".repeat(65)] }),
      verdict(true, { classes: Array.from({ length: 33 }, (_, i) => `c${i}`) }),
    ]) {
      const res = await deliverHive(t, event);
      assert.equal(res.status, 400, JSON.stringify(event).slice(0, 120));
      assert.equal(await stored(String(event.id)), 0);
    }
    const notJson = await t.fetch("/api/webhooks/hive", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Hive-Signature": hiveSignature("{nope") },
      body: "{nope",
    });
    assert.equal(notJson.status, 400);
  });

  it("a violation ends the user's call", async () => {
    const events = await watchModeration(t, userId);
    try {
      const event = verdict(true);
      assert.equal(await send(event), "violation");
      assert.deepEqual(await events.next(1), [
        { userId, action: "end_call", reason: "ai_violation", callId: event.callId },
      ]);
      assert.equal(await send(event), "duplicate");
      await send(verdict(false));
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(events.seen.length, 1, "neither a replay nor a clean verdict ends a call");
    } finally {
      events.unsubscribe();
    }
    assert.equal(await t.app.services.moderation.activeBan(userId), null);
  });

  it("the third violation in 24 h bans for 24 h, once", async () => {
    const events = await watchModeration(t, userId);
    try {
      assert.equal(await send(verdict(true)), "violation");
      assert.equal(await send(verdict(true)), "violation");
      assert.equal(await send(verdict(true)), "banned");
      assert.equal(await send(verdict(true)), "violation", "already banned: no second ban");
      const actions = (await events.next(5)).map((e) => e.action);
      assert.deepEqual(actions, ["end_call", "end_call", "end_call", "ban", "end_call"]);
      assert.equal(events.seen[3].reason, AI_BAN_REASON);
    } finally {
      events.unsubscribe();
    }
    const [ban, ...more] = await bans();
    assert.equal(more.length, 0);
    assert.equal(ban.source, "ai");
    assert.equal(ban.createdBy, null);
    assert.ok(Math.abs(ban.expiresAt.getTime() - (Date.now() + 24 * HOUR)) < 60_000);
    const active = await t.app.services.moderation.activeBan(userId);
    assert.equal(active?.reason, AI_BAN_REASON);
    assert.match(await (await t.fetch("/metrics")).text(), /bans_total\{source="ai"\} [1-9]/);
  });

  it("the third and fourth violations arriving together still ban once", async () => {
    await send(verdict(true));
    await send(verdict(true));
    const outcomes = await Promise.all([send(verdict(true)), send(verdict(true)), send(verdict(true))]);
    assert.deepEqual(outcomes.sort(), ["banned", "violation", "violation"]);
    assert.equal((await bans()).length, 1);
  });

  it("violations older than 24 h and clean verdicts do not count", async () => {
    await send(verdict(true));
    await send(verdict(true));
    for (let i = 0; i < 3; i++) assert.equal(await send(verdict(false)), "recorded");
    assert.equal((await bans()).length, 0);
    await t.app.dataSource.query(
      `UPDATE moderation_events SET created_at = now() - interval '25 hours' WHERE user_id = $1`,
      [userId],
    );
    assert.equal(await send(verdict(true)), "violation", "the two earlier violations are older than 24 h");
    assert.equal((await bans()).length, 0);
  });

  it("503 when no webhook secret is configured", async () => {
    const unconfigured = new ModerationService({
      dataSource: t.app.dataSource,
      events: t.app.services.events,
      presence: t.app.presence,
      logger: t.app.logger,
    });
    const body = Buffer.from(JSON.stringify(verdict(true)));
    await assert.rejects(unconfigured.handleHiveWebhook(body, hiveSignature(body.toString())), {
      status: 503,
      code: "MODERATION_NOT_CONFIGURED",
    });
  });
});

describe("HiveClient", () => {
  const API_KEY = "hive-api-key-for-tests-0123456789";
  const call = { callId: randomUUID(), userIds: [randomUUID(), randomUUID()], startedAt: new Date() };

  function capturingLogger() {
    const lines: string[] = [];
    const logger = pino(
      { level: "info" },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const waitFor = async (pattern: RegExp, timeoutMs = 4000) => {
      const deadline = Date.now() + timeoutMs;
      while (!lines.some((l) => pattern.test(l))) {
        if (Date.now() > deadline) throw new Error(`no log line matching ${pattern}: ${lines.join("")}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    return { logger, lines, waitFor };
  }

  /** Fails the test if anything the client does rejects unhandled. */
  function watchUnhandled() {
    const seen: unknown[] = [];
    const onRejection = (reason: unknown) => seen.push(reason);
    process.on("unhandledRejection", onRejection);
    return { seen, stop: () => process.off("unhandledRejection", onRejection) };
  }

  it("posts the call as JSON with the bearer key", async () => {
    let received: (value: { req: IncomingMessage; body: string }) => void;
    const request = new Promise<{ req: IncomingMessage; body: string }>((resolve) => (received = resolve));
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        res.writeHead(202).end();
        received({ req, body });
      });
    });
    const { url, close } = await listenOnLoopback(server);
    try {
      const { logger, lines } = capturingLogger();
      const returned = new HiveClient(`${url}/calls`, API_KEY, logger).announceCallStart(call);
      assert.equal(returned, undefined);
      const { req, body } = await request;
      assert.equal(req.method, "POST");
      assert.equal(req.url, "/calls");
      assert.equal(req.headers.authorization, `Bearer ${API_KEY}`);
      assert.match(req.headers["content-type"] ?? "", /application\/json/);
      assert.deepEqual(JSON.parse(body), { ...call, startedAt: call.startedAt.toISOString() });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(lines, [], "a successful announcement logs nothing");
    } finally {
      await close();
    }
  });

  it("returns at once from a provider that never answers, and only logs when the 2 s timeout fires", async () => {
    let arrived = false;
    const hanging = new Set<ServerResponse>();
    const server = createServer((_req, res) => {
      arrived = true;
      hanging.add(res);
    });
    const { url, close } = await listenOnLoopback(server);
    const unhandled = watchUnhandled();
    try {
      const { logger, lines, waitFor } = capturingLogger();
      const announced = new HiveClient(url, API_KEY, logger).announceCallStart(call);
      assert.equal(announced, undefined, "nothing to await");
      assert.equal(arrived, false, "returned before the request even reached the provider");
      await waitFor(/hive call announcement failed/);
      assert.ok(arrived);
      assert.match(lines.join(""), /TimeoutError/);
      assert.ok(!lines.join("").includes(API_KEY), "the key is never logged");
      assert.deepEqual(unhandled.seen, []);
    } finally {
      unhandled.stop();
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await close();
    }
  });

  it("logs a refusal (non-2xx) and an unreachable provider without the key, never throwing", async () => {
    const server = createServer((_req, res) => res.writeHead(500).end("boom"));
    const { url, close } = await listenOnLoopback(server);
    const unhandled = watchUnhandled();
    try {
      const { logger, lines, waitFor } = capturingLogger();
      new HiveClient(url, API_KEY, logger).announceCallStart(call);
      await waitFor(/hive call announcement refused/);
      assert.match(lines.join(""), /"status":500/);
      await close();
      new HiveClient(url, API_KEY, logger).announceCallStart(call);
      await waitFor(/hive call announcement failed/);
      assert.ok(!lines.join("").includes(API_KEY));
      assert.deepEqual(unhandled.seen, []);
    } finally {
      unhandled.stop();
      if (server.listening) await close();
    }
  });

  it("without HIVE_API_URL makes no request", async () => {
    const realFetch = globalThis.fetch;
    let calls = 0;
    globalThis.fetch = (async (...args: Parameters<typeof fetch>) => {
      calls++;
      return realFetch(...args);
    }) as typeof fetch;
    try {
      const { logger, lines } = capturingLogger();
      new HiveClient(undefined, API_KEY, logger).announceCallStart(call);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(calls, 0);
      assert.deepEqual(lines, []);
    } finally {
      globalThis.fetch = realFetch;
    }
    const t = await testApp();
    assert.match(await (await t.fetch("/metrics")).text(), /hive_announcements_total\{outcome="skipped"\} [1-9]/);
  });
});
