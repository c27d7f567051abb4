import assert from "node:assert/strict";
import http from "node:http";
import { VerificationCode } from "../src/entities";
import { Writable } from "node:stream";
import { createLogger } from "../src/logger";
import { LogNotifier, WebhookNotifier } from "../src/services/notifier";
import { CODE_MAX_ATTEMPTS } from "../src/services/verification";
import { type TestApp, testApp } from "./helpers/app";
import { type Account, bearer, json, register } from "./helpers/users";
import { listenOnLoopback } from "./helpers/listen";

/** The latest code the server sent to `to` through the notifier gateway (a local fake). */
function lastCodeSentTo(t: TestApp, to: string): string {
  const message = [...t.notifier.sent].reverse().find((n) => n.to === to);
  assert.ok(message, `no message sent to ${to}`);
  return /code is (\d{6})/.exec(message.text)![1];
}

describe("email and phone verification", () => {
  let t: TestApp;
  let account: Account;
  const post = (path: string, body: unknown = {}) => t.fetch(path, json(body, bearer(account.accessToken)));
  beforeEach(async () => {
    t = await testApp();
    account = await register();
  });

  it("verifies the email with the 6-digit code; the code is single-use", async () => {
    const start = await post("/api/auth/verify-email/start");
    assert.equal(start.status, 202);
    assert.equal((await start.json()).expiresInSec, 600);
    const code = lastCodeSentTo(t, account.email);
    const wrongCode = code === "000000" ? "000001" : "000000";
    const wrong = await post("/api/auth/verify-email", { code: wrongCode });
    assert.equal(wrong.status, 400);
    assert.equal((await wrong.json()).error.code, "CODE_INVALID");
    const ok = await post("/api/auth/verify-email", { code });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).user.emailVerified, true);
    const again = await post("/api/auth/verify-email", { code });
    assert.equal(again.status, 400);
    assert.equal((await again.json()).error.code, "CODE_EXPIRED");
    const me = await (await t.fetch("/api/auth/me", { headers: bearer(account.accessToken) })).json();
    assert.equal(me.user.emailVerified, true);
    assert.ok(!t.logs.some((l) => l.includes(code)), "the code never reaches the server's logs");
  });

  it("stores codes hashed, never in clear", async () => {
    await post("/api/auth/verify-email/start");
    const code = lastCodeSentTo(t, account.email);
    const row = await t.app.dataSource.getRepository(VerificationCode).findOneByOrFail({ userId: account.user.id });
    assert.notEqual(row.codeHash, code);
    assert.equal(row.codeHash.length, 64);
  });

  it(`limits guesses to ${CODE_MAX_ATTEMPTS}, then even the right code is refused`, async () => {
    await post("/api/auth/verify-email/start");
    const code = lastCodeSentTo(t, account.email);
    const wrongCode = code === "123456" ? "654321" : "123456";
    let last: Response | undefined;
    for (let i = 0; i < CODE_MAX_ATTEMPTS; i++) last = await post("/api/auth/verify-email", { code: wrongCode });
    assert.equal(last!.status, 429);
    assert.equal((await post("/api/auth/verify-email", { code })).status, 429);
  });

  it("expires codes after 10 minutes", async () => {
    await post("/api/auth/verify-email/start");
    const code = lastCodeSentTo(t, account.email);
    await t.app.dataSource
      .getRepository(VerificationCode)
      .update({ userId: account.user.id }, { expiresAt: new Date(Date.now() - 1000) });
    const res = await post("/api/auth/verify-email", { code });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, "CODE_EXPIRED");
  });

  it("sends at most one code a minute", async () => {
    assert.equal((await post("/api/auth/verify-email/start")).status, 202);
    const again = await post("/api/auth/verify-email/start");
    assert.equal(again.status, 429);
    assert.ok(Number(again.headers.get("retry-after")) > 0);
  });

  it("verifies a phone number given in E.164", async () => {
    assert.equal((await post("/api/auth/verify-phone/start", {})).status, 400);
    assert.equal((await post("/api/auth/verify-phone/start", { phone: "555-0100" })).status, 400);
    const phone = `+4420${String(Date.now()).slice(-8)}`;
    assert.equal((await post("/api/auth/verify-phone/start", { phone })).status, 202);
    const res = await post("/api/auth/verify-phone", { code: lastCodeSentTo(t, phone) });
    assert.equal(res.status, 200);
    const { user } = await res.json();
    assert.equal(user.phone, phone);
    assert.equal(user.phoneVerified, true);
  });

  it("a guest without email gets a clear 400", async () => {
    const guest = await (await t.fetch("/api/auth/guest", json({ deviceId: `device-${Date.now()}-v` }))).json();
    const res = await t.fetch("/api/auth/verify-email/start", json({}, bearer(guest.accessToken)));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, "NO_EMAIL");
  });
});

describe("log notifier (development without NOTIFIER_WEBHOOK_URL)", () => {
  const message = {
    channel: "email" as const,
    to: "dev@arcadia.test",
    subject: "Your Arcadia verification code",
    text: "Your Arcadia verification code is 478989. It expires in 10 minutes.",
  };
  const logsAt = async (level: string) => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    await new LogNotifier(createLogger(level, sink)).send(message);
    return lines;
  };

  it("at info level, logs that a message was not delivered, never its code", async () => {
    const lines = await logsAt("info");
    assert.equal(lines.length, 1);
    assert.match(lines[0], /not delivered/);
    assert.doesNotMatch(lines[0], /478989/);
  });

  it("at debug level, logs the message marked as a development-only log", async () => {
    const [line] = await logsAt("debug");
    const entry = JSON.parse(line);
    assert.equal(entry.level, 20, "debug");
    assert.equal(entry.developmentOnly, true);
    assert.match(entry.msg, /^DEVELOPMENT ONLY/);
    assert.equal(entry.notification.text, message.text);
  });
});

describe("webhook notifier", () => {
  it("POSTs the message as JSON with the bearer token, and reports a failing gateway as 503", async () => {
    const received: Array<{ auth?: string; body: unknown }> = [];
    let fail = false;
    const server = http.createServer((req, res) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => {
        received.push({ auth: req.headers.authorization, body: JSON.parse(data) });
        res.statusCode = fail ? 500 : 204;
        res.end();
      });
    });
    const url = `${(await listenOnLoopback(server)).url}/send`;
    try {
      const notifier = new WebhookNotifier(url, "gateway-token-123");
      const message = { channel: "email" as const, to: "a@b.test", subject: "s", text: "code 123456" };
      await notifier.send(message);
      assert.deepEqual(received[0], { auth: "Bearer gateway-token-123", body: message });
      fail = true;
      await assert.rejects(notifier.send(message), (err: { status: number; code: string }) => {
        assert.equal(err.status, 503);
        assert.equal(err.code, "NOTIFIER_UNAVAILABLE");
        return true;
      });
    } finally {
      server.close();
    }
    await assert.rejects(
      new WebhookNotifier("http://127.0.0.1:1/none").send({ channel: "phone", to: "+1", subject: "", text: "" }),
      /could not be sent/,
    );
  });
});
