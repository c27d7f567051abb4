import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { LocalPresence } from "@colyseus/core";
import { Call, LedgerEntry, Match, PlaySession, Stream } from "../src/entities";
import type { Call as CallRow } from "../src/entities";
import { MatchmakingService } from "../src/services/matchmaking";
import { ProcessLeases } from "../src/services/process-leases";
import { testApp, type TestApp } from "./helpers/app";
import { demoGame, sleep, startSession } from "./helpers/play";
import { type Account, bearer, json } from "./helpers/users";
import { chatter, freshBucket, leaveAll, sdkFor } from "./helpers/video";

/**
 * What a dead process leaves behind, simulated in one process: rows tagged with
 * a process id that holds no lease (as after a `kill -9`), swept by the sweeper.
 */
describe("sweeps after a dead process", () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });

  const deadProcess = () => randomUUID();
  const sweep = () => t.app.services.sweeper.sweepOnce();
  const callRow = (id: string) => t.app.dataSource.getRepository(Call).findOneByOrFail({ id });

  /** A call between a and b, opened and started through the service, then handed to `processId`. */
  async function callOf(a: Account, b: Account, processId: string, phase: "connecting" | "live" | "choosing") {
    const { calls } = t.app.services;
    const call = await calls.open({
      callId: randomUUID(),
      userA: a.user.id,
      userB: b.user.id,
      bucket: freshBucket(),
      roomId: "gone-room",
    });
    if (phase !== "connecting") assert.deepEqual(await calls.start(call, new Date()), { ok: true });
    if (phase === "choosing") await calls.finishTalk(call.id, "completed", new Date());
    await t.app.dataSource.getRepository(Call).update({ id: call.id }, { processId });
    return call;
  }

  async function ledgerKeys(userId: string) {
    const entries = await t.app.dataSource.getRepository(LedgerEntry).find({ where: { userId } });
    return entries.map((e) => e.idempotencyKey);
  }

  async function assertWalletInvariant(userId: string) {
    const [{ sum }] = await t.app.dataSource.query(
      `SELECT coalesce(sum(delta), 0)::int AS sum FROM ledger_entries WHERE user_id = $1`,
      [userId],
    );
    assert.equal(await t.app.services.wallet.balance(userId), sum);
  }

  /** Joins a queue and leaves: the join is admitted (no IN_CALL, no ALREADY_QUEUED). */
  async function canQueue(account: Account) {
    const room = await sdkFor(t, account).joinOrCreate<any>("match_queue", freshBucket());
    room.onMessage("matched", () => {});
    await leaveAll(room);
  }

  it("ends a dead process's live and connecting calls as crashed, refunding charged fees once, even when two sweeps overlap", async () => {
    const [a, b, c, d] = await Promise.all(["Ann", "Bob", "Cat", "Dan"].map((n) => chatter(t, n, 5)));
    const dead = deadProcess();
    const live = await callOf(a, b, dead, "live");
    const connecting = await callOf(c, d, dead, "connecting");
    assert.equal(await t.app.services.wallet.balance(a.user.id), 4);
    await assert.rejects(canQueue(a), /IN_CALL/);

    await Promise.all([sweep(), sweep()]);
    await sweep();

    for (const call of [live, connecting]) {
      const row = await callRow(call.id);
      assert.equal(row.phase, "ended");
      assert.equal(row.endReason, "crashed");
    }
    for (const user of [a, b]) {
      assert.equal(await t.app.services.wallet.balance(user.user.id), 5);
      const keys = await ledgerKeys(user.user.id);
      assert.deepEqual(keys.filter((k) => k.startsWith(`call:${live.id}:`)).sort(), [
        `call:${live.id}:fee:${user.user.id}`,
        `call:${live.id}:refund:${user.user.id}`,
      ]);
      await assertWalletInvariant(user.user.id);
    }
    // Never charged, so nothing to refund.
    for (const user of [c, d])
      assert.deepEqual(
        (await ledgerKeys(user.user.id)).filter((k) => k.startsWith("call:")),
        [],
      );
    await canQueue(a);
    await canQueue(c);
  });

  it("closes a dead process's call in its choice as the timer would (both MATCH make the match), without refund", async () => {
    const [a, b] = await Promise.all(["Ann", "Bob"].map((n) => chatter(t, n, 5)));
    const call = await callOf(a, b, deadProcess(), "choosing");
    await t.app.services.calls.recordChoice(call as CallRow, a.user.id, "MATCH");
    await t.app.services.calls.recordChoice(call as CallRow, b.user.id, "MATCH");
    await sweep();
    const row = await callRow(call.id);
    assert.equal(row.phase, "ended");
    assert.equal(row.endReason, "completed");
    assert.ok(await t.app.dataSource.getRepository(Match).findOneBy({ callId: call.id }));
    assert.equal(await t.app.services.wallet.balance(a.user.id), 4);
  });

  it("leaves the calls of a live process alone", async () => {
    const [a, b] = await Promise.all(["Ann", "Bob"].map((n) => chatter(t, n, 5)));
    const call = await callOf(a, b, t.app.services.leases.processId, "live");
    await sweep();
    assert.equal((await callRow(call.id)).phase, "live");
    await t.app.services.calls.end(call.id, "cancelled");
  });

  it("a live room that a sweep ended meanwhile starts no call and charges no fee", async () => {
    const [a, b] = await Promise.all(["Ann", "Bob"].map((n) => chatter(t, n, 5)));
    const call = await callOf(a, b, deadProcess(), "connecting");
    await sweep();
    assert.deepEqual(await t.app.services.calls.start(call, new Date()), { ok: false, reason: "crashed" });
    assert.equal(await t.app.services.wallet.balance(a.user.id), 5);
    assert.equal((await callRow(call.id)).endReason, "crashed");
  });

  it("expires a dead process's play session, billed to its last heartbeat; the player may start again at once", async () => {
    const player = await chatter(t, "Player", 0);
    const game = await demoGame(t, "demo-arcade");
    const repo = t.app.dataSource.getRepository(PlaySession);
    const lastHeartbeatAt = new Date(Date.now() - 300);
    const orphan = await repo.save({
      userId: player.user.id,
      gameId: game.id,
      roomId: "gone-room",
      processId: deadProcess(),
      pricePerPeriod: 0,
      startedAt: new Date(Date.now() - 500),
      lastHeartbeatAt,
    });
    assert.equal((await startSession(t, player.accessToken, game.id)).status, 409);
    await sweep();
    const row = await repo.findOneByOrFail({ id: orphan.id });
    assert.equal(row.status, "expired");
    const started = await startSession(t, player.accessToken, game.id);
    assert.equal(started.status, 201, JSON.stringify(started.body));
    await t.fetch("/api/play/stop", { method: "POST", headers: bearer(started.body.sessionToken) });
  });

  it("bills a dead process's paid session to its last heartbeat, and nothing after it ended", async () => {
    const player = await chatter(t, "Payer", 20);
    const game = await demoGame(t, "whack-arena-deluxe");
    const price = game.pricePerMinute;
    const { play, wallet } = t.app.services;
    const session = await play.begin(player.user.id, game.id, "gone-room");
    // Started 3.5 s ago (1 s periods in tests), last heartbeat 1.5 s after the start: two periods are due.
    const startedAt = new Date(Date.now() - 3500);
    await t.app.dataSource
      .getRepository(PlaySession)
      .update(
        { id: session.id },
        { processId: deadProcess(), startedAt, lastHeartbeatAt: new Date(startedAt.getTime() + 1500) },
      );
    await sweep();
    const row = await t.app.dataSource.getRepository(PlaySession).findOneByOrFail({ id: session.id });
    assert.equal(row.status, "expired");
    assert.equal(row.charged, 2 * price);
    assert.equal(await wallet.balance(player.user.id), 20 - 2 * price);
    // The room of a process taken for dead may still tick: an ended session bills nothing more.
    await play.settle(session.id, new Date(Date.now() + 10_000));
    assert.equal(await wallet.balance(player.user.id), 20 - 2 * price);
    await assertWalletInvariant(player.user.id);
  });

  it("resets the viewer count of a stream whose room died, and ends it once its owner was away longer than the grace", async () => {
    const owner = await chatter(t, "Streamer", 0);
    const res = await t.fetch("/api/streams", json({ title: "Orphaned" }, bearer(owner.accessToken)));
    const { id } = await res.json();
    const streams = t.app.dataSource.getRepository(Stream);
    // As left by a killed process: its room hosted 7 viewers and the owner.
    await streams.update({ id }, { processId: deadProcess(), ownerLeftAt: null });
    await t.app.services.streams.setViewerCount(id, 7);
    assert.equal((await t.app.services.streams.get(id)).viewerCount, 7);

    await sweep();
    const swept = await streams.findOneByOrFail({ id });
    assert.equal(swept.status, "live", "the owner has the grace to come back");
    assert.ok(swept.ownerLeftAt, "away since the death was noticed");
    assert.equal((await t.app.services.streams.get(id)).viewerCount, 0);

    const grace = t.app.config.STREAM_OWNER_GRACE_SEC;
    await streams.update({ id }, { ownerLeftAt: new Date(Date.now() - (grace + 1) * 1000) });
    await sweep();
    const ended = await streams.findOneByOrFail({ id });
    assert.equal(ended.status, "ended");
    assert.ok(ended.endedAt);
  });

  it("keeps a stream whose owner is connected, or away for less than the grace", async () => {
    const owner = await chatter(t, "Streamer", 0);
    const { id } = await (await t.fetch("/api/streams", json({ title: "On air" }, bearer(owner.accessToken)))).json();
    const room = await sdkFor(t, owner).joinOrCreate<any>("stream", { streamId: id });
    for (const type of ["history", "userJoined", "userLeft"]) room.onMessage(type, () => {});
    const streams = t.app.dataSource.getRepository(Stream);
    try {
      const until = Date.now() + 3000;
      while ((await streams.findOneByOrFail({ id })).ownerLeftAt !== null && Date.now() < until) await sleep(20);
      const row = await streams.findOneByOrFail({ id });
      assert.equal(row.ownerLeftAt, null, "the owner's join is recorded");
      assert.equal(row.processId, t.app.services.leases.processId);
      await streams.update({ id }, { createdAt: new Date(Date.now() - 3_600_000) });
      await sweep();
      assert.equal((await streams.findOneByOrFail({ id })).status, "live");
    } finally {
      await leaveAll(room);
    }
    const until = Date.now() + 3000;
    while ((await streams.findOneByOrFail({ id })).ownerLeftAt === null && Date.now() < until) await sleep(20);
    await sweep();
    assert.equal((await streams.findOneByOrFail({ id })).status, "live", "away, but within the grace");
  });

  it("removes the queue markers of a dead process: its waiters may queue again at once", async () => {
    const user = await chatter(t, "Waiter", 5);
    const { presence, config, dataSource } = t.app;
    // Another process (sharing this presence) marks the user as waiting, then dies: its lease lapses.
    const other = new ProcessLeases(presence, config.REDIS_KEY_PREFIX, 1);
    await other.renew();
    const otherQueue = new MatchmakingService({
      dataSource,
      presence,
      regions: config.MATCH_REGIONS,
      repeatCooldownSec: 60,
      keyPrefix: config.REDIS_KEY_PREFIX,
      leases: other,
    });
    assert.equal(await otherQueue.markQueued(user.user.id), true);
    await assert.rejects(canQueue(user), /ALREADY_QUEUED/);
    await sleep(1200);
    // This sweep, or the app's own periodic one that may have run first, removed the marker.
    await sweep();
    await canQueue(user);
  });

  it("a refused queue retry does not push the marker's expiry further away", async () => {
    const presence = new LocalPresence();
    const leases = new ProcessLeases(presence, "markers:", 6);
    const queue = new MatchmakingService({
      dataSource: t.app.dataSource,
      presence,
      regions: ["eu"],
      repeatCooldownSec: 60,
      keyPrefix: "markers:",
      leases,
      markerTtlSec: 1,
    });
    const userId = randomUUID();
    assert.equal(await queue.markQueued(userId), true);
    await sleep(600);
    assert.equal(await queue.markQueued(userId), false, "still marked");
    await sleep(600);
    // 1.2 s after the mark, 0.6 s after the refused retry: the marker of 1 s is gone.
    assert.equal(await queue.markQueued(userId), true);
    await queue.unmarkQueued(userId);
  });
});
