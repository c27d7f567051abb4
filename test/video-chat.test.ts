import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { Call, LedgerEntry, Match } from "../src/entities";
import { ADMIN, HIVE_API_KEY, HIVE_WEBHOOK_SECRET, testApp, type TestApp } from "./helpers/app";
import { sleep } from "./helpers/play";
import { bearer, json, login, register, remember } from "./helpers/users";
import {
  chatter,
  collect,
  enqueue,
  freshBucket,
  leaveAll,
  liveCall,
  type Matched,
  nextMessage,
  sdkFor,
  waitFor,
} from "./helpers/video";

describe("video chat: queue, calls, double opt-in", () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
    remember(HIVE_API_KEY);
  });
  afterEach(() => {
    t.hive.mode = "ok";
  });

  const balance = (userId: string) => t.app.services.wallet.balance(userId);
  const callRow = (id: string) => t.app.dataSource.getRepository(Call).findOneByOrFail({ id });
  const choose = (token: string, callId: string, choice: string) =>
    t.fetch(`/api/sessions/${callId}/choice`, json({ choice }, bearer(token)));

  it("pairs two users of one bucket at once and relays offer, answer and candidates to the peer only", async () => {
    const a = await chatter(t, "Ada");
    const b = await chatter(t, "Bob");
    const bucket = freshBucket();
    const qa = await enqueue(t, a, bucket);
    await sleep(50);
    assert.equal(qa.room.state.waiting, 1);
    const qb = await enqueue(t, b, bucket);
    const [ma, mb] = (await Promise.all([qa.matched, qb.matched])) as Matched[];
    assert.equal(ma.callId, mb.callId);
    assert.deepEqual(ma.peer, { displayName: "Bob" }, "the peer is anonymous: a display name, no ids");
    assert.deepEqual(mb.peer, { displayName: "Ada" });
    assert.deepEqual([ma.role, mb.role].sort(), ["answerer", "offerer"], "one offerer and one answerer per call");

    const ra = await sdkFor(t, a).consumeSeatReservation<any>(ma.seat);
    const startA = nextMessage(ra, "session:start");
    const rb = await sdkFor(t, b).consumeSeatReservation<any>(mb.seat);
    const startB = nextMessage(rb, "session:start");
    const [start, startOfB] = await Promise.all([startA, startB]);
    assert.equal(start.endAt - start.startAt, 3000, "CALL_DURATION_SEC");
    assert.equal(start.role, ma.role, "session:start repeats each peer's own role");
    assert.equal(startOfB.role, mb.role);
    await waitFor(() => rb.state.phase === "live", "phase live");
    try {
      const ownEchoes = collect(ra, "offer");
      const offer = nextMessage(rb, "offer");
      ra.send("offer", { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" });
      assert.deepEqual(await offer, { sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n" });
      const answer = nextMessage(ra, "answer");
      rb.send("answer", { sdp: "v=0 answer" });
      assert.deepEqual(await answer, { sdp: "v=0 answer" });
      const candidate = { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", sdpMid: "0" };
      const gotA = nextMessage(ra, "candidate");
      const gotB = nextMessage(rb, "candidate");
      rb.send("candidate", { candidate });
      ra.send("candidate", { candidate: "" });
      assert.deepEqual(await gotA, { candidate });
      assert.deepEqual(await gotB, { candidate: "" });
      assert.equal(ownEchoes.length, 0);

      // The fee: one token each, charged once, keyed by call and user.
      assert.equal(await balance(a.user.id), 4);
      assert.equal(await balance(b.user.id), 4);
      const fees = await t.app.dataSource
        .getRepository(LedgerEntry)
        .findBy({ refType: "call", refId: ma.callId, reason: "queue_fee" });
      assert.deepEqual(
        fees.map((f) => f.idempotencyKey).sort(),
        [`call:${ma.callId}:fee:${a.user.id}`, `call:${ma.callId}:fee:${b.user.id}`].sort(),
      );
      // The moderation provider heard of the call start, with our key.
      const heard = t.hive.announcements.find((x) => x.body?.callId === ma.callId);
      assert.ok(heard, "call start announced to HIVE_API_URL");
      assert.equal(heard.authorization, `Bearer ${HIVE_API_KEY}`);
      assert.equal((await callRow(ma.callId)).phase, "live");

      const metrics = await (await t.fetch("/metrics")).text();
      for (const line of [
        /^calls_started_total [1-9]/m,
        /^call_signals_relayed_total\{type="offer"\} [1-9]/m,
        /^call_signals_relayed_total\{type="candidate"\} [2-9]/m,
        /^match_latency_seconds_count [1-9]/m,
        /^# TYPE match_queue_waiting gauge/m,
      ]) {
        assert.match(metrics, line);
      }
    } finally {
      await leaveAll(ra, rb);
    }
  });

  it("users of different buckets never meet; the oldest compatible waiter is paired first", async () => {
    const [a, b, c, d] = await Promise.all(["Ann", "Ben", "Cat", "Dan"].map((n) => chatter(t, n)));
    const eu = freshBucket("eu");
    const na = { region: "na", language: eu.language };
    const qa = await enqueue(t, a, eu);
    const qb = await enqueue(t, b, na);
    await sleep(300);
    assert.equal(qa.room.state.waiting, 1);
    assert.equal(qb.room.state.waiting, 1);
    const metrics = await (await t.fetch("/metrics")).text();
    assert.match(metrics, new RegExp(`^match_queue_waiting\\{region="na",language="${eu.language}"\\} 1$`, "m"));
    const qc = await enqueue(t, c, eu);
    const qd = await enqueue(t, d, eu);
    const [ma, mc] = await Promise.all([qa.matched, qc.matched]);
    assert.equal(ma.callId, mc.callId);
    assert.equal(ma.peer.displayName, "Cat");
    await sleep(100);
    assert.equal(qd.room.state.waiting, 1, "Dan waits: Ann and Cat were first");
    await leaveAll(qb.room, qd.room);
  });

  it("never pairs users who blocked each other, nor a pair that was just matched", async () => {
    const [a, b, c] = await Promise.all(["Amy", "Bea", "Cal"].map((n) => chatter(t, n)));
    const bucket = freshBucket();
    assert.equal((await t.fetch("/api/blocks", json({ userId: b.user.id }, bearer(a.accessToken)))).status, 204);
    const qa = await enqueue(t, a, bucket);
    const qb = await enqueue(t, b, bucket);
    await sleep(300);
    assert.equal(qb.room.state.waiting, 2, "blocked: both still waiting");
    const qc = await enqueue(t, c, bucket);
    const [ma, mc] = await Promise.all([qa.matched, qc.matched]);
    assert.equal(ma.callId, mc.callId, "the next compatible user gets Amy");
    await leaveAll(qb.room);

    // Amy and Cal just met: back in the queue, they are not paired again.
    const ra = await sdkFor(t, a).consumeSeatReservation<any>(ma.seat);
    const started = nextMessage(ra, "session:start");
    const rc = await sdkFor(t, c).consumeSeatReservation<any>(mc.seat);
    await started;
    const ended = nextMessage(ra, "session:end");
    ra.send("end");
    await ended;
    await leaveAll(ra, rc);
    const again = await enqueue(t, a, bucket);
    const againC = await enqueue(t, c, bucket);
    await sleep(300);
    assert.equal(againC.room.state.waiting, 2);
    await leaveAll(again.room, againC.room);
  });

  it("a call that never starts costs nothing, and leaving the queue costs nothing", async () => {
    const [a, b, c] = await Promise.all(["Ari", "Bo", "Cy"].map((n) => chatter(t, n)));
    const bucket = freshBucket();
    const qa = await enqueue(t, a, bucket);
    const qb = await enqueue(t, b, bucket);
    const [ma] = await Promise.all([qa.matched, qb.matched]);
    const ra = await sdkFor(t, a).consumeSeatReservation<any>(ma.seat);
    await waitFor(() => ra.state.phase === "connecting", "phase connecting");
    const ended = await nextMessage(ra, "session:end", 5000);
    assert.equal(ended.reason, "cancelled", "Bo never came: cancelled after CALL_JOIN_TIMEOUT_SEC");
    assert.equal(await balance(a.user.id), 5);
    assert.equal(await balance(b.user.id), 5);
    const row = await callRow(ma.callId);
    assert.equal(row.phase, "ended");
    assert.equal(row.endReason, "cancelled");

    const qc = await enqueue(t, c, freshBucket());
    await qc.room.leave();
    assert.equal(await balance(c.user.id), 5);
    await leaveAll(ra);
  });

  it("refuses users without tokens, banned users, bad buckets, missing tokens and a second queue", async () => {
    const poor = await chatter(t, "Poor", 0);
    const bucket = freshBucket();
    await assert.rejects(sdkFor(t, poor).joinOrCreate("match_queue", bucket), /INSUFFICIENT_FUNDS/);
    const banned = await chatter(t, "Banned");
    await t.app.services.moderation.ban(banned.user.id, { source: "moderator", reason: "test", hours: 1 });
    await assert.rejects(sdkFor(t, banned).joinOrCreate("match_queue", bucket), /BANNED/);
    const ok = await chatter(t, "Okay");
    await assert.rejects(
      sdkFor(t, ok).joinOrCreate("match_queue", { region: "mars", language: "en" }),
      /INVALID_REGION/,
    );
    await assert.rejects(
      sdkFor(t, ok).joinOrCreate("match_queue", { region: "eu", language: "eng" }),
      /INVALID_LANGUAGE/,
    );
    await assert.rejects(t.sdk().joinOrCreate("match_queue", bucket), /UNAUTHORIZED/);
    const first = await enqueue(t, ok, bucket);
    await assert.rejects(sdkFor(t, ok).joinOrCreate("match_queue", freshBucket()), /ALREADY_QUEUED/);
    await first.room.leave();
    await sleep(50);
    const second = await enqueue(t, ok, freshBucket());
    await second.room.leave();
  });

  it("a user banned while waiting is turned away when a partner arrives; the partner keeps waiting", async () => {
    const [a, b] = await Promise.all(["Wes", "Wyn"].map((n) => chatter(t, n)));
    const bucket = freshBucket();
    const qa = await enqueue(t, a, bucket);
    const turnedAway = nextMessage(qa.room, "moderation:action");
    await t.app.services.moderation.ban(a.user.id, { source: "moderator", reason: "spam", hours: 1 });
    const qb = await enqueue(t, b, bucket);
    assert.deepEqual(await turnedAway, { action: "ban", reason: "spam", message: "You are banned from video chat" });
    await waitFor(() => qb.room.state.waiting === 1, "Wyn still waiting");
    await leaveAll(qb.room);
  });

  it("validates every call message: bad payloads get an error, the client stays connected", async () => {
    const a = await chatter(t, "Val");
    const b = await chatter(t, "Ida");
    const { ra, rb, callId } = await liveCall(t, a, b);
    try {
      // Call rooms are entered only with the queue's seats: not created, not joined by id.
      const outsider = await chatter(t, "Eve");
      await assert.rejects(sdkFor(t, outsider).joinById(ra.roomId), /NOT_PARTICIPANT|is locked/);
      await assert.rejects(
        sdkFor(t, outsider).create("video_call", { callId, userA: outsider.user.id, userB: a.user.id }),
        /NOT_PARTICIPANT/,
      );
      const errors = collect<{ code: string }>(ra, "error");
      ra.send("offer", { sdp: 42 });
      ra.send("offer", { sdp: "x".repeat(40 * 1024) });
      ra.send("candidate", { candidate: { candidate: "c", sdpMLineIndex: -1 } });
      ra.send("reaction", { emoji: "not an emoji" });
      ra.send("chat", { text: "   " });
      ra.send("choice", { choice: "MATCH" });
      ra.send("teleport", {});
      const chats = collect<{ text: string }>(rb, "chat");
      for (let i = 0; i < 7; i++) ra.send("chat", { text: `hi\u0007 there ${i}` });
      const reaction = nextMessage(rb, "reaction");
      ra.send("reaction", { emoji: "👍🏽" });
      assert.deepEqual(await reaction, { emoji: "👍🏽" });
      await sleep(200);
      assert.deepEqual(
        errors.map((e) => e.code).sort(),
        [
          "CHOICE_NOT_OPEN",
          "INVALID_MESSAGE",
          "INVALID_MESSAGE",
          "INVALID_MESSAGE",
          "INVALID_MESSAGE",
          "INVALID_MESSAGE",
          "RATE_LIMITED",
          "RATE_LIMITED",
          "UNKNOWN_MESSAGE",
        ].sort(),
      );
      assert.equal(chats.length, 5, "chat: 5 at once, then rate-limited");
      assert.equal(chats[0].text, "hi there 0", "control characters removed");
      assert.ok(ra.connection.isOpen);
      const offer = nextMessage(rb, "offer");
      ra.send("offer", { sdp: "still here" });
      assert.deepEqual(await offer, { sdp: "still here" });
    } finally {
      await leaveAll(ra, rb);
    }
  });

  it("end → choosing; MATCH through the room and through HTTP → match:mutual, a Match, the partner in /api/matches", async () => {
    const a = await chatter(t, "Mia");
    const b = await chatter(t, "Max");
    const { callId, ra, rb } = await liveCall(t, a, b);
    try {
      const endA = nextMessage(ra, "session:end");
      const endB = nextMessage(rb, "session:end");
      rb.send("end");
      assert.equal((await endA).reason, "hung_up");
      await endB;
      await waitFor(() => ra.state.phase === "choosing", "phase choosing");
      assert.ok(ra.state.choiceDeadline > Date.now());

      const mutualA = nextMessage(ra, "match:mutual");
      const mutualB = nextMessage(rb, "match:mutual");
      const pending = nextMessage(ra, "error", 300).catch(() => "no error");
      ra.send("choice", { choice: "MATCH" });
      assert.equal(await pending, "no error");
      const res = await choose(b.accessToken, callId, "MATCH");
      assert.equal(res.status, 200);
      const outcome = await res.json();
      assert.equal(outcome.result, "mutual");
      const { matchId } = await mutualA;
      assert.equal(matchId, outcome.matchId);
      assert.equal((await mutualB).matchId, matchId);

      // Idempotent: the first choice stands.
      const again = await (await choose(a.accessToken, callId, "PASS")).json();
      assert.deepEqual(again, { callId, choice: "MATCH", result: "mutual", matchId });
      const call = await callRow(callId);
      assert.deepEqual([call.choiceA, call.choiceB, call.phase], ["MATCH", "MATCH", "ended"]);
      assert.equal(await t.app.dataSource.getRepository(Match).countBy({ callId }), 1);

      const list = await (await t.fetch("/api/matches", { headers: bearer(a.accessToken) })).json();
      assert.equal(list.matches[0].id, matchId);
      assert.equal(list.matches[0].partner.id, b.user.id);
      assert.equal(list.matches[0].partner.displayName, "Max");
    } finally {
      await leaveAll(ra, rb);
    }
  });

  it("silence counts as PASS: the choice closes as match:non_mutual after CHOICE_TIMEOUT_SEC", async () => {
    const a = await chatter(t, "Sol");
    const b = await chatter(t, "Sam");
    const { callId, ra, rb } = await liveCall(t, a, b);
    try {
      const ended = nextMessage(ra, "session:end");
      ra.send("end");
      await ended;
      assert.equal((await choose(a.accessToken, callId, "MATCH")).status, 200);
      const closedA = nextMessage(ra, "match:non_mutual", 5000);
      const closedB = nextMessage(rb, "match:non_mutual", 5000);
      await Promise.all([closedA, closedB]);
      const call = await callRow(callId);
      assert.deepEqual([call.choiceA, call.choiceB, call.phase], ["MATCH", null, "ended"]);
      assert.equal(await t.app.dataSource.getRepository(Match).countBy({ callId }), 0);
      const late = await choose(b.accessToken, callId, "MATCH");
      assert.equal(late.status, 409);
      assert.equal((await late.json()).error.code, "CHOICE_CLOSED");
    } finally {
      await leaveAll(ra, rb);
    }
  });

  it("the call timer ends the talk; HTTP choices are for participants, after the talk", async () => {
    const a = await chatter(t, "Tim");
    const b = await chatter(t, "Tom");
    const outsider = await register(t);
    const { callId, ra, rb } = await liveCall(t, a, b);
    try {
      const early = await choose(a.accessToken, callId, "MATCH");
      assert.equal(early.status, 409);
      assert.equal((await early.json()).error.code, "CHOICE_NOT_OPEN");
      assert.equal((await choose(outsider.accessToken, callId, "MATCH")).status, 403);
      assert.equal((await choose(a.accessToken, randomUUID(), "MATCH")).status, 404);
      assert.equal((await choose(a.accessToken, callId, "MAYBE")).status, 400);
      const ended = await nextMessage(ra, "session:end", 6000);
      assert.equal(ended.reason, "completed");
      assert.equal((await callRow(callId)).endReason, "completed");
    } finally {
      await leaveAll(ra, rb);
    }
  });

  it("a dropped peer may reconnect within CALL_RECONNECT_SEC; otherwise peer-disconnected ends the call", async () => {
    const a = await chatter(t, "Rex");
    const b = await chatter(t, "Ray");
    const { callId, ra, rb } = await liveCall(t, a, b);
    try {
      const token = ra.reconnectionToken;
      ra.connection.close(4999, "network lost");
      await sleep(100);
      const back = await sdkFor(t, a).reconnect(token);
      const offer = nextMessage(back, "offer");
      rb.send("offer", { sdp: "after reconnect" });
      assert.deepEqual(await offer, { sdp: "after reconnect" });

      const gone = nextMessage(rb, "peer-disconnected", 5000);
      const ended = nextMessage(rb, "session:end", 5000);
      back.connection.close(4999, "network lost for good");
      await gone;
      assert.equal((await ended).reason, "peer_disconnected");
      assert.equal((await callRow(callId)).endReason, "peer_disconnected");
    } finally {
      await leaveAll(ra, rb);
    }
  });

  it("a moderator's ban ends the banned user's live call at once and refunds the peer", async () => {
    const a = await chatter(t, "Vic");
    const b = await chatter(t, "Val");
    const { callId, ra, rb } = await liveCall(t, a, b);
    try {
      const report = await t.fetch(
        "/api/reports",
        json({ reportedUserId: a.user.id, sessionId: callId, reason: "harassment" }, bearer(b.accessToken)),
      );
      assert.equal(report.status, 201);
      const { report: created } = await report.json();
      const admin = await login(ADMIN.email, ADMIN.password, t);
      const action = nextMessage(ra, "moderation:action");
      const endedB = nextMessage(rb, "session:end");
      const res = await t.fetch(
        `/api/reports/${created.id}/moderate`,
        json({ action: "ban", durationHours: 24 }, bearer(admin.accessToken)),
      );
      assert.equal(res.status, 200);
      assert.equal((await action).action, "ban");
      assert.equal((await endedB).reason, "moderation");
      const row = await callRow(callId);
      assert.deepEqual([row.phase, row.endReason], ["ended", "moderation"]);
      assert.equal(await balance(b.user.id), 5, "the peer's fee came back");
      assert.equal(await balance(a.user.id), 4);
      await assert.rejects(sdkFor(t, a).joinOrCreate("match_queue", freshBucket()), /BANNED/);
    } finally {
      await leaveAll(ra, rb);
    }
  });

  it("an AI violation from the Hive webhook ends the call; a bad signature changes nothing", async () => {
    const a = await chatter(t, "Hal");
    const b = await chatter(t, "Hil");
    const { callId, ra, rb } = await liveCall(t, a, b);
    try {
      const body = JSON.stringify({ id: `evt-${randomUUID()}`, userId: a.user.id, callId, violation: true });
      const sign = (secret: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
      const post = (signature: string) =>
        t.fetch("/api/webhooks/hive", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Hive-Signature": signature },
          body,
        });
      assert.equal((await post(sign("not-the-secret"))).status, 401);
      await sleep(100);
      assert.equal((await callRow(callId)).phase, "live", "a forged verdict ends nothing");
      const action = nextMessage(ra, "moderation:action");
      const endedB = nextMessage(rb, "session:end");
      assert.equal((await post(sign(HIVE_WEBHOOK_SECRET))).status, 200);
      assert.equal((await action).action, "end_call");
      assert.equal((await endedB).reason, "moderation");
    } finally {
      await leaveAll(ra, rb);
    }
  });

  it("a moderation provider that hangs or fails never holds up the call", async () => {
    t.hive.mode = "hang";
    const a = await chatter(t, "Gus");
    const b = await chatter(t, "Gil");
    const { ra, rb } = await liveCall(t, a, b);
    await waitFor(() => ra.state.phase === "live", "phase live");
    await leaveAll(ra, rb);
    t.hive.mode = "fail";
    const c = await chatter(t, "Fay");
    const d = await chatter(t, "Fox");
    const second = await liveCall(t, c, d);
    await waitFor(() => second.ra.state.phase === "live", "phase live");
    await leaveAll(second.ra, second.rb);
  });
});

describe("match chat", () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });

  async function mutualMatch() {
    const a = await chatter(t, "Lea");
    const b = await chatter(t, "Leo");
    const { callId, ra, rb } = await liveCall(t, a, b);
    const ended = nextMessage(ra, "session:end");
    ra.send("end");
    await ended;
    await t.fetch(`/api/sessions/${callId}/choice`, json({ choice: "MATCH" }, bearer(a.accessToken)));
    const res = await t.fetch(`/api/sessions/${callId}/choice`, json({ choice: "MATCH" }, bearer(b.accessToken)));
    const { matchId } = await res.json();
    await leaveAll(ra, rb);
    return { a, b, matchId: matchId as string };
  }

  it("a message sent through HTTP or the room is persisted and arrives live in the match_chat room", async () => {
    const { a, b, matchId } = await mutualMatch();
    const roomA = await sdkFor(t, a).joinOrCreate("match_chat", { matchId });
    const roomB = await sdkFor(t, b).joinOrCreate("match_chat", { matchId });
    assert.equal(roomA.roomId, roomB.roomId, "one room per match");
    try {
      const pushedA = nextMessage(roomA, "message");
      const pushedB = nextMessage(roomB, "message");
      const res = await t.fetch(
        `/api/matches/${matchId}/messages`,
        json({ text: "hello from http" }, bearer(a.accessToken)),
      );
      assert.equal(res.status, 201);
      const sent = await res.json();
      assert.deepEqual(await pushedB, {
        id: sent.id,
        fromUserId: a.user.id,
        text: "hello from http",
        createdAt: sent.createdAt,
      });
      await pushedA;

      const viaRoom = nextMessage(roomA, "message");
      roomB.send("message", { text: "  hello\u0000 from the room " });
      assert.equal((await viaRoom).text, "hello from the room");
      const bad = nextMessage(roomB, "error");
      roomB.send("message", { text: "" });
      assert.equal((await bad).code, "INVALID_MESSAGE");

      for (let i = 0; i < 3; i++) {
        await t.fetch(`/api/matches/${matchId}/messages`, json({ text: `page ${i}` }, bearer(b.accessToken)));
      }
      const page1 = await (
        await t.fetch(`/api/matches/${matchId}/messages?limit=2`, { headers: bearer(b.accessToken) })
      ).json();
      assert.deepEqual(
        page1.messages.map((m: any) => m.text),
        ["page 2", "page 1"],
      );
      const page2 = await (
        await t.fetch(`/api/matches/${matchId}/messages?limit=10&before=${page1.nextCursor}`, {
          headers: bearer(b.accessToken),
        })
      ).json();
      assert.deepEqual(
        page2.messages.map((m: any) => m.text),
        ["page 0", "hello from the room", "hello from http"],
      );
      assert.equal(page2.nextCursor, null);
    } finally {
      await leaveAll(roomA, roomB);
    }
  });

  it("only the match's two users may read, post or join; a block closes the conversation", async () => {
    const { a, b, matchId } = await mutualMatch();
    const outsider = await register(t);
    assert.equal(
      (await t.fetch(`/api/matches/${matchId}/messages`, { headers: bearer(outsider.accessToken) })).status,
      403,
    );
    assert.equal(
      (await t.fetch(`/api/matches/${matchId}/messages`, json({ text: "hi" }, bearer(outsider.accessToken)))).status,
      403,
    );
    await assert.rejects(sdkFor(t, outsider).joinOrCreate("match_chat", { matchId }), /NOT_PARTICIPANT/);
    await assert.rejects(sdkFor(t, a).joinOrCreate("match_chat", { matchId: "nope" }), /INVALID_MATCH/);
    const list = await (await t.fetch("/api/matches", { headers: bearer(outsider.accessToken) })).json();
    assert.deepEqual(list.matches, []);

    await t.fetch("/api/blocks", json({ userId: a.user.id }, bearer(b.accessToken)));
    const blocked = await t.fetch(`/api/matches/${matchId}/messages`, json({ text: "hi" }, bearer(a.accessToken)));
    assert.equal(blocked.status, 403);
    assert.equal((await blocked.json()).error.code, "BLOCKED");
  });
});
