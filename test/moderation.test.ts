import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Ban, Report } from "../src/entities";
import { ADMIN, testApp, type TestApp } from "./helpers/app";
import { recordCall, registerWithRole, watchModeration } from "./helpers/moderation";
import { type Account, bearer, json, login, register, remember } from "./helpers/users";

const UNKNOWN_USER = "00000000-0000-4000-8000-000000000000";
const HOUR = 3_600_000;

describe("blocks", () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  beforeEach(async () => {
    t = await testApp();
    alice = await register(t, { displayName: "Alice" });
    bob = await register(t, { displayName: "Bob" });
  });
  const block = (from: Account, body: unknown) => t.fetch("/api/blocks", json(body, bearer(from.accessToken)));
  const unblock = (from: Account, userId: string) =>
    t.fetch(`/api/blocks/${userId}`, { method: "DELETE", headers: bearer(from.accessToken) });
  const list = async (of: Account) =>
    (await (await t.fetch("/api/blocks", { headers: bearer(of.accessToken) })).json()).blocks;

  it("block and unblock are idempotent", async () => {
    assert.equal((await block(alice, { userId: bob.user.id })).status, 204);
    assert.equal((await block(alice, { userId: bob.user.id })).status, 204);
    const blocks = await list(alice);
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0].userId, bob.user.id);
    assert.ok(!Number.isNaN(Date.parse(blocks[0].createdAt)));
    assert.deepEqual(await list(bob), [], "a block belongs to the blocker");

    assert.equal((await unblock(alice, bob.user.id)).status, 204);
    assert.equal((await unblock(alice, bob.user.id)).status, 204);
    assert.deepEqual(await list(alice), []);
  });

  it("refuses self-blocks, unknown users, bad ids and unknown fields", async () => {
    const self = await block(alice, { userId: alice.user.id });
    assert.equal(self.status, 400);
    assert.equal((await self.json()).error.code, "SELF_BLOCK");
    assert.equal((await block(alice, { userId: UNKNOWN_USER })).status, 404);
    assert.equal((await block(alice, { userId: "bob" })).status, 400);
    assert.equal((await block(alice, { userId: bob.user.id, note: "x" })).status, 400);
    assert.equal((await unblock(alice, "bob")).status, 400);
    assert.equal((await t.fetch("/api/blocks", json({ userId: bob.user.id }))).status, 401);
    assert.deepEqual(await list(alice), []);
  });

  it("blockedEitherWay and isBlockedEitherWay see both directions", async () => {
    const carol = await register(t);
    await block(alice, { userId: bob.user.id });
    const { blocks } = t.app.services;
    assert.deepEqual([...(await blocks.blockedEitherWay(alice.user.id))], [bob.user.id]);
    assert.deepEqual([...(await blocks.blockedEitherWay(bob.user.id))], [alice.user.id]);
    assert.equal((await blocks.blockedEitherWay(carol.user.id)).size, 0);
    assert.equal(await blocks.isBlockedEitherWay(bob.user.id, alice.user.id), true);
    assert.equal(await blocks.isBlockedEitherWay(alice.user.id, bob.user.id), true);
    assert.equal(await blocks.isBlockedEitherWay(alice.user.id, carol.user.id), false);
    await unblock(alice, bob.user.id);
    assert.equal(await blocks.isBlockedEitherWay(bob.user.id, alice.user.id), false);
  });
});

describe("reports and moderator actions", () => {
  let t: TestApp;
  let reporter: Account;
  let reported: Account;
  let moderator: Account;
  before(async () => {
    t = await testApp();
    moderator = await registerWithRole(t, "moderator");
  });
  beforeEach(async () => {
    reporter = await register(t);
    reported = await register(t);
  });
  const submit = (body: Record<string, unknown>, by = reporter) =>
    t.fetch(
      "/api/reports",
      json({ reportedUserId: reported.user.id, reason: "harassment", ...body }, bearer(by.accessToken)),
    );
  const newReport = async (body: Record<string, unknown> = {}) => {
    const res = await submit(body);
    assert.equal(res.status, 201);
    return (await res.json()).report;
  };
  const moderate = (id: string, body: unknown, by = moderator) =>
    t.fetch(`/api/reports/${id}/moderate`, json(body, bearer(by.accessToken)));
  const listReports = (query: string, by = moderator) =>
    t.fetch(`/api/reports?${query}`, { headers: bearer(by.accessToken) });

  it("201 with the report, for a call the two users had", async () => {
    const callId = await recordCall(t, reported.user.id, reporter.user.id);
    const res = await submit({ sessionId: callId, reason: "nudity", details: "  camera   pointed at\u0007  " });
    assert.equal(res.status, 201);
    const { report } = await res.json();
    assert.equal(report.reporterId, reporter.user.id);
    assert.equal(report.reportedUserId, reported.user.id);
    assert.equal(report.sessionId, callId);
    assert.equal(report.reason, "nudity");
    assert.equal(report.details, "camera pointed at");
    assert.equal(report.status, "open");
    assert.equal(report.moderatorId, null);
    assert.equal(report.resolvedAt, null);
    const metrics = await (await t.fetch("/metrics")).text();
    assert.match(metrics, /reports_submitted_total\{reason="nudity"\} [1-9]/);
  });

  it("refuses self-reports, unknown users, calls the two did not share and bad bodies, storing nothing", async () => {
    const other = await register(t);
    const theirCall = await recordCall(t, reported.user.id, other.user.id);
    const cases: Array<[Record<string, unknown>, number, string?]> = [
      [{ reportedUserId: reporter.user.id }, 400, "SELF_REPORT"],
      [{ reportedUserId: UNKNOWN_USER }, 404, "USER_NOT_FOUND"],
      [{ sessionId: theirCall }, 400, "INVALID_SESSION"],
      [{ sessionId: randomUUID() }, 400, "INVALID_SESSION"],
      [{ reason: "rude" }, 400],
      [{ details: "x".repeat(2001) }, 400],
      [{ sessionId: "call-1" }, 400],
      [{ severity: "high" }, 400],
    ];
    for (const [body, status, code] of cases) {
      const res = await submit(body);
      assert.equal(res.status, status, JSON.stringify(body));
      if (code) assert.equal((await res.json()).error.code, code, JSON.stringify(body));
    }
    assert.equal(await t.app.dataSource.getRepository(Report).countBy({ reporterId: reporter.user.id }), 0);
  });

  it("listing and moderating need a moderator or an admin", async () => {
    const report = await newReport();
    assert.equal((await listReports("", reporter)).status, 403);
    assert.equal((await moderate(report.id, { action: "dismiss" }, reporter)).status, 403);
    assert.equal((await t.fetch("/api/reports")).status, 401);
    remember(ADMIN.password);
    const admin = await login(ADMIN.email, ADMIN.password);
    const asAdmin = await t.fetch("/api/reports?status=open", { headers: bearer(admin.accessToken) });
    assert.equal(asAdmin.status, 200);
    assert.equal((await listReports("status=open")).status, 200);
    assert.equal((await t.app.dataSource.getRepository(Report).findOneByOrFail({ id: report.id })).status, "open");
  });

  it("lists newest first with a cursor, filtered by status", async () => {
    const mine = [await newReport(), await newReport(), await newReport()];
    await moderate(mine[1].id, { action: "dismiss" });
    const seen: Array<{ id: string; status: string; createdAt: string }> = [];
    let before: string | null = null;
    for (let page = 0; page < 1000; page++) {
      const res = await listReports(`status=open&limit=2${before ? `&before=${before}` : ""}`);
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.ok(body.reports.length <= 2);
      seen.push(...body.reports);
      before = body.nextCursor;
      if (!before) break;
    }
    assert.equal(new Set(seen.map((r) => r.id)).size, seen.length, "no report on two pages");
    assert.ok(seen.every((r) => r.status === "open"));
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1].createdAt >= seen[i].createdAt, "newest first");
    const ids = seen.map((r) => r.id);
    assert.ok(ids.indexOf(mine[2].id) < ids.indexOf(mine[0].id));
    assert.ok(ids.includes(mine[0].id) && !ids.includes(mine[1].id));
    assert.equal((await listReports("status=closed")).status, 400);
    assert.equal((await listReports("limit=101")).status, 400);
  });

  it("dismiss resolves the report once; a second action is a 409", async () => {
    const report = await newReport();
    const res = await moderate(report.id, { action: "dismiss" });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.report.status, "dismissed");
    assert.equal(body.report.moderatorId, moderator.user.id);
    assert.ok(body.report.resolvedAt);
    assert.equal(body.ban, undefined);
    const again = await moderate(report.id, { action: "ban", durationHours: 1 });
    assert.equal(again.status, 409);
    assert.equal((await again.json()).error.code, "REPORT_RESOLVED");
    assert.equal(await t.app.services.moderation.activeBan(reported.user.id), null);
    assert.equal((await moderate(randomUUID(), { action: "dismiss" })).status, 404);
  });

  it("warn resolves the report and tells the user's rooms", async () => {
    const report = await newReport({ reason: "spam" });
    const events = await watchModeration(t, reported.user.id);
    try {
      const res = await moderate(report.id, { action: "warn" });
      assert.equal((await res.json()).report.status, "warned");
      assert.deepEqual(await events.next(1), [{ userId: reported.user.id, action: "warn", reason: "spam" }]);
    } finally {
      events.unsubscribe();
    }
    assert.equal(await t.app.services.moderation.activeBan(reported.user.id), null);
  });

  it("a ban needs durationHours from 1 to 8760; a bad one leaves the report open", async () => {
    const report = await newReport();
    for (const body of [
      { action: "ban" },
      { action: "ban", durationHours: 0 },
      { action: "ban", durationHours: 8761 },
      { action: "ban", durationHours: 1.5 },
      { action: "ban", durationHours: "24" },
      { action: "warn", durationHours: 2 },
      { action: "suspend", durationHours: 2 },
    ]) {
      assert.equal((await moderate(report.id, body)).status, 400, JSON.stringify(body));
    }
    assert.equal((await t.app.dataSource.getRepository(Report).findOneByOrFail({ id: report.id })).status, "open");
    await assert.rejects(
      t.app.services.moderation.moderate(report.id, moderator.user.id, { action: "ban" }),
      /durationHours/,
    );
  });

  it("a ban resolves the report, is active at once and ends the user's call", async () => {
    const report = await newReport({ reason: "hate" });
    assert.equal(await t.app.services.moderation.activeBan(reported.user.id), null, "cached as not banned first");
    const events = await watchModeration(t, reported.user.id);
    try {
      const res = await moderate(report.id, { action: "ban", durationHours: 48 });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.report.status, "banned");
      const expiresAt = Date.parse(body.ban.expiresAt);
      assert.ok(Math.abs(expiresAt - (Date.now() + 48 * HOUR)) < 60_000);
      assert.deepEqual(await events.next(1), [{ userId: reported.user.id, action: "ban", reason: "hate" }]);
    } finally {
      events.unsubscribe();
    }
    const active = await t.app.services.moderation.activeBan(reported.user.id);
    assert.ok(active);
    assert.equal(active.reason, "hate");
    const bans = await t.app.dataSource.getRepository(Ban).findBy({ userId: reported.user.id });
    assert.equal(bans.length, 1);
    assert.equal(bans[0].source, "moderator");
    assert.equal(bans[0].createdBy, moderator.user.id);
    assert.equal(bans[0].reportId, report.id);
    assert.match(await (await t.fetch("/metrics")).text(), /bans_total\{source="moderator"\} [1-9]/);
  });

  it("a moderator cannot resolve a report about themselves", async () => {
    const res = await submit({ reportedUserId: moderator.user.id });
    const { report } = await res.json();
    assert.equal((await moderate(report.id, { action: "dismiss" })).status, 403);
  });

  it("an expired ban is not active, even once cached", async () => {
    const bans = t.app.dataSource.getRepository(Ban);
    const ban = { userId: reported.user.id, source: "moderator" as const, reason: "old" };
    await bans.insert({ ...ban, expiresAt: new Date(Date.now() - HOUR) });
    assert.equal(await t.app.services.moderation.activeBan(reported.user.id), null);

    const other = await register(t);
    await bans.insert({ ...ban, userId: other.user.id, expiresAt: new Date(Date.now() + 300) });
    assert.ok(await t.app.services.moderation.activeBan(other.user.id));
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(await t.app.services.moderation.activeBan(other.user.id), null);
  });
});
