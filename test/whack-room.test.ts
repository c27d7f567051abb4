import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Room } from "@colyseus/sdk";
import { Game, WhackRound, WhackRoundPlayer } from "../src/entities";
import { moleSchedule, POINTS } from "../src/services/whack-rules";
import { type TestApp, testApp } from "./helpers/app";
import { demoGame, heartbeat, sleep, startSession, stop } from "./helpers/play";
import { type Account, register, remember } from "./helpers/users";
import { collect, nextMessage, sdkFor } from "./helpers/video";

/** WHACK_ROUND_SEC of the test app (test/helpers/app.ts). */
const ROUND_MS = 4_000;

interface Player {
  account: Account;
  sessionId: string;
  /** The latest rolled session token. */
  sessionToken: string;
  room?: Room<any>;
}

interface ErrorReply {
  code: string;
  message?: string;
}

describe("whack room", function () {
  this.timeout(30_000);
  let t: TestApp;
  const heartbeats: Array<ReturnType<typeof setInterval>> = [];
  const rooms: Array<Room<any>> = [];

  before(async () => {
    t = await testApp();
  });
  afterEach(async () => {
    heartbeats.splice(0).forEach(clearInterval);
    await Promise.all(rooms.splice(0).map((r) => (r.connection.isOpen ? r.leave().catch(() => {}) : undefined)));
  });

  const whackGameId = async () => (await t.app.dataSource.getRepository(Game).findOneByOrFail({ slug: "whack" })).id;

  /** A user with a live play session of the whack game, kept alive by heartbeats (sessions expire after 2 s here). */
  async function player(name: string): Promise<Player> {
    const account = await register(t, { displayName: name });
    const { status, body } = await startSession(t, account.accessToken, await whackGameId());
    assert.equal(status, 201, JSON.stringify(body));
    const p: Player = { account, sessionId: body.sessionId, sessionToken: remember(body.sessionToken) };
    heartbeats.push(
      setInterval(async () => {
        const res = await heartbeat(t, p.sessionToken).catch(() => undefined);
        if (res?.ok) p.sessionToken = remember(((await res.json()) as { sessionToken: string }).sessionToken);
      }, 500),
    );
    return p;
  }

  async function join(p: Player, mode: "solo" | "versus", roomId?: string) {
    const client = sdkFor(t, p.account);
    const options = { mode, sessionToken: p.sessionToken };
    const room = roomId ? await client.joinById<any>(roomId, options) : await client.create<any>("whack", options);
    rooms.push(room);
    p.room = room;
    return room;
  }

  const errors = (room: Room) => collect<ErrorReply>(room, "error");
  /** Waits until `check` holds for the room's state (checked on every patch). */
  const until = (room: Room, check: (state: any) => boolean, ms = 8_000) =>
    new Promise<void>((resolve, reject) => {
      // Before the first patch the state has no fields yet: that is "not yet".
      const holds = (state: any) => {
        try {
          return check(state);
        } catch {
          return false;
        }
      };
      if (holds(room.state)) return resolve();
      const timer = setTimeout(() => reject(new Error("state condition not met in time")), ms);
      room.onStateChange((state: any) => {
        if (holds(state)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  const upMoles = (state: any) =>
    [...state.holes].map((h: any, hole: number) => ({ ...h.toJSON(), hole })).filter((h: any) => h.moleId > 0);
  /** The next reply to one message: the error it got (or undefined if `hit` came first). */
  const replyTo = (room: Room, send: () => void) =>
    new Promise<ErrorReply | { hit: unknown }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no reply")), 3_000);
      const offError = room.onMessage("error", (e: ErrorReply) => done(e));
      const offHit = room.onMessage("hit", (h: unknown) => done({ hit: h }));
      const done = (value: ErrorReply | { hit: unknown }) => {
        clearTimeout(timer);
        offError?.();
        offHit?.();
        resolve(value);
      };
      send();
    });
  const codeOf = (reply: ErrorReply | { hit: unknown }) => ("code" in reply ? reply.code : "hit");

  describe("joining", () => {
    it("refuses a join without an access token, without or with a bad, foreign, wrong-game or ended session", async () => {
      const p = await player("Joiner");
      const other = await player("Other");
      const anonymous = t.sdk();
      await assert.rejects(anonymous.create("whack", { mode: "solo", sessionToken: p.sessionToken }), /UNAUTHORIZED/);
      const client = sdkFor(t, p.account);
      await assert.rejects(client.create("whack", { mode: "solo" }), /INVALID_OPTIONS/);
      await assert.rejects(client.create("whack", { mode: "duel", sessionToken: p.sessionToken }), /INVALID_OPTIONS/);
      await assert.rejects(
        client.create("whack", { mode: "solo", sessionToken: "not-a-token" }),
        /INVALID_SESSION_TOKEN/,
      );
      await assert.rejects(
        client.create("whack", { mode: "solo", sessionToken: p.account.accessToken }),
        /INVALID_SESSION_TOKEN/,
      );
      await assert.rejects(
        client.create("whack", { mode: "solo", sessionToken: other.sessionToken }),
        /FOREIGN_SESSION/,
      );

      const arcade = await register(t, { displayName: "Arcade" });
      const demo = await startSession(t, arcade.accessToken, (await demoGame(t, "demo-arcade")).id);
      await assert.rejects(
        sdkFor(t, arcade).create("whack", { mode: "solo", sessionToken: remember(demo.body.sessionToken) }),
        /WRONG_GAME/,
      );
      await stop(t, demo.body.sessionToken);

      const token = p.sessionToken;
      const stopped = await stop(t, token);
      if (stopped.status !== 200) {
        // With 1 s heartbeats a loaded machine may let the session expire first: ended either way.
        const body = (await stopped.json()) as { error?: { code?: string } };
        assert.equal(body.error?.code, "SESSION_ENDED", JSON.stringify(body));
      }
      await assert.rejects(client.create("whack", { mode: "solo", sessionToken: token }), /SESSION_ENDED/);
    });

    it("seats a play session in one whack room at a time: another room refuses it (SESSION_IN_USE) until it left", async () => {
      const p = await player("Twice");
      const first = await join(p, "solo");
      const client = sdkFor(t, p.account);
      const options = (mode: string) => ({ mode, sessionToken: p.sessionToken });
      await assert.rejects(client.create("whack", options("solo")), /SESSION_IN_USE/);
      await assert.rejects(client.create("whack", options("versus")), /SESSION_IN_USE/);
      const other = await player("Other");
      const versus = await join(other, "versus");
      await assert.rejects(client.joinById(versus.roomId, options("versus")), /SESSION_IN_USE/);
      // The refusals took nothing from the seat: the first room still holds it.
      await assert.rejects(client.create("whack", options("solo")), /SESSION_IN_USE/);

      await first.leave();
      // The seat is freed in the background once the room saw the leave.
      let again: Room<any> | undefined;
      for (let i = 0; !again && i < 20; i++) {
        again = await join(p, "versus", versus.roomId).catch(async (err) => {
          assert.match(String(err), /SESSION_IN_USE/);
          await sleep(100);
          return undefined;
        });
      }
      assert.ok(again, "joined another room once the first was left");
      await until(versus, (s) => s.players.size === 2);
    });
  });

  describe("a solo round", () => {
    it("is played from state: no mole shows before its spawnAt, scores are the hit points, the seed matches its hash and the audit", async () => {
      const p = await player("Solo");
      const room = await join(p, "solo");
      const me = p.account.user.id;
      await until(room, (s) => s.players.get(me)?.name === "Solo");
      assert.equal(room.state.phase, "waiting");
      assert.equal(room.state.holes.length, 9);

      // Latency exchange: every pong is echoed at once with its serverTime.
      let pongs = 0;
      room.onMessage("pong", ({ serverTime }: { serverTime: number }) => {
        if (++pongs < 4) room.send("ping", { t: serverTime });
      });
      room.send("ping", { t: 0 });

      const early: string[] = [];
      const targeted = new Set<number>();
      const seen = new Map<number, { hole: number; spawnAt: number; despawnAt: number; kind: string }>();
      room.onStateChange((state: any) => {
        for (const mole of upMoles(state)) {
          if (Date.now() < mole.spawnAt) early.push(`mole ${mole.moleId} seen before its spawnAt`);
          seen.set(mole.moleId, mole);
          if (targeted.has(mole.moleId)) continue;
          targeted.add(mole.moleId);
          // A human-like reaction (over the reaction floor), so the round is not flagged.
          setTimeout(() => room.send("whack", { hole: mole.hole, moleId: mole.moleId }), 150);
        }
      });
      const hits = collect<{ moleId: number; userId: string; points: number }>(room, "hit");
      const errs = errors(room);
      const ended = nextMessage<any>(room, "round:end", 15_000);
      room.send("ready");
      await until(room, (s) => s.phase === "countdown");
      const seedHash = room.state.seedHash;
      const roundId = room.state.roundId;
      assert.match(seedHash, /^[0-9a-f]{64}$/);
      assert.ok(room.state.startsAt > Date.now() && room.state.endsAt === room.state.startsAt + ROUND_MS);
      assert.equal(upMoles(room.state).length, 0, "no mole during the countdown");

      const end = await ended;
      assert.deepEqual(early, []);
      assert.equal(end.roundId, roundId);
      assert.equal(end.reason, "time_up");
      assert.equal(createHash("sha256").update(end.seed).digest("hex"), seedHash);
      assert.ok(hits.length > 0, "the scripted player hit moles");
      assert.ok(
        hits.every((h) => h.userId === me),
        "every hit is the player's",
      );
      const points = hits.reduce((sum, h) => sum + h.points, 0);
      assert.equal(end.scores.length, 1);
      assert.equal(end.scores[0].userId, me);
      assert.equal(end.scores[0].score, points);
      assert.equal(end.scores[0].hits, hits.length);
      assert.equal(end.scores[0].flagged, false);
      assert.equal(room.state.players.get(me).score, points);
      for (const h of hits) assert.equal(h.points, POINTS[seen.get(h.moleId)!.kind as keyof typeof POINTS]);
      // Every mole the player saw is the seed's schedule (the seed decides everything).
      const startsAt = room.state.startsAt;
      const schedule = moleSchedule(end.seed, ROUND_MS);
      for (const [moleId, mole] of seen) {
        const planned = schedule[moleId - 1];
        assert.deepEqual(
          { hole: mole.hole, kind: mole.kind, spawnAt: mole.spawnAt, despawnAt: mole.despawnAt },
          {
            hole: planned.hole,
            kind: planned.kind,
            spawnAt: startsAt + planned.spawnOffsetMs,
            despawnAt: startsAt + planned.despawnOffsetMs,
          },
        );
      }
      assert.ok(
        errs.every((e) => e.code === "MISS" || e.code === "ALREADY_HIT"),
        JSON.stringify(errs),
      );

      // The audit: the revealed seed, its hash, and every hit inside its mole's window (less ≤ 250 ms latency).
      const res = await t.fetch(`/api/whack/rounds/${roundId}`);
      assert.equal(res.status, 200);
      const audit = await res.json();
      assert.equal(audit.seed, end.seed);
      assert.equal(createHash("sha256").update(audit.seed).digest("hex"), audit.seedHash);
      assert.equal(audit.seedHash, seedHash);
      assert.equal(audit.mode, "solo");
      const started = Date.parse(audit.startedAt);
      assert.equal(started, startsAt);
      assert.deepEqual(
        audit.moles.map((m: any) => ({
          moleId: m.moleId,
          hole: m.hole,
          kind: m.kind,
          spawnOffsetMs: Date.parse(m.spawnAt) - started,
          despawnOffsetMs: Date.parse(m.despawnAt) - started,
        })),
        schedule.slice(0, audit.moles.length),
      );
      assert.equal(audit.moles.length, schedule.length, "every mole of the round spawned");
      assert.equal(audit.hits.length, hits.length);
      for (const hit of audit.hits) {
        const mole = audit.moles.find((m: any) => m.moleId === hit.moleId);
        const at = Date.parse(hit.at);
        assert.ok(at >= Date.parse(mole.spawnAt) && at <= Date.parse(mole.despawnAt), "hit inside its window");
      }
      assert.equal(audit.scores[0].score, points);
    });

    it("answers every bad whack with an error, counts misses, flags a too-fast hit, and keeps the client", async () => {
      const p = await player("Careless");
      const room = await join(p, "solo");
      const me = p.account.user.id;
      const whack = (payload: unknown) => replyTo(room, () => room.send("whack", payload));

      assert.equal(codeOf(await whack({ hole: 1, moleId: 1 })), "NOT_PLAYING");
      for (const bad of [{ hole: 9, moleId: 1 }, { hole: "1" }, { hole: 1, moleId: 1, extra: true }, "x", null])
        assert.equal(codeOf(await whack(bad)), "BAD_MESSAGE", JSON.stringify(bad));
      assert.equal(codeOf(await replyTo(room, () => room.send("ping", { t: "now" }))), "BAD_MESSAGE");
      assert.equal(codeOf(await replyTo(room, () => room.send("jump", {}))), "UNKNOWN_MESSAGE");

      room.send("ready");
      await until(room, (s) => upMoles(s).length > 0);
      const [mole] = upMoles(room.state);
      // Whacked the moment it was seen: under the reaction floor. It counts, and flags the round.
      const first = await whack({ hole: mole.hole, moleId: mole.moleId });
      assert.deepEqual(first, { hit: { moleId: mole.moleId, userId: me, points: POINTS[mole.kind as "normal"] } });
      assert.equal(codeOf(await whack({ hole: mole.hole, moleId: mole.moleId })), "ALREADY_HIT");
      assert.equal(codeOf(await whack({ hole: (mole.hole + 1) % 9, moleId: mole.moleId })), "WRONG_HOLE");
      assert.equal(codeOf(await whack({ hole: 0, moleId: 999_999 })), "UNKNOWN_MOLE");
      assert.equal(codeOf(await whack({ hole: mole.hole })), "MISS", "a swing at the emptied hole");
      const empty = [...room.state.holes].findIndex((h: any) => h.moleId === 0 && h !== room.state.holes[mole.hole]);
      assert.equal(codeOf(await whack({ hole: empty, moleId: null })), "MISS");
      await until(room, (s) => s.players.get(me).misses === 2 && s.players.get(me).hits === 1);
      // Keep whacking every new mole the moment it shows, for a second: at least one lands under the floor
      // however loaded the machine is (the first one alone usually does).
      const hits = collect<{ points: number }>(room, "hit");
      const targeted = new Set([mole.moleId]);
      const fast = (state: any) => {
        for (const m of upMoles(state)) {
          if (targeted.has(m.moleId)) continue;
          targeted.add(m.moleId);
          room.send("whack", { hole: m.hole, moleId: m.moleId });
        }
      };
      room.onStateChange(fast);
      await sleep(1_000);
      room.onStateChange.remove(fast);

      // Still connected and served; ending the play session ends the solo round for them.
      assert.equal(room.connection.isOpen, true);
      const ended = nextMessage<{ reason: string; session: string }>(room, "ended");
      const roundEnd = nextMessage<any>(room, "round:end");
      assert.equal((await stop(t, p.sessionToken)).status, 200);
      assert.deepEqual(await ended, { reason: "session_ended", session: "stopped" });
      const end = await roundEnd;
      assert.equal(end.reason, "session_ended");
      assert.equal(end.scores[0].flagged, true, "flagged for the too-fast reaction");
      assert.equal(end.scores[0].hits, 1 + hits.length);
      assert.equal(end.scores[0].score, POINTS[mole.kind as "normal"] + hits.reduce((sum, h) => sum + h.points, 0));
      assert.equal(end.scores[0].misses, room.state.players.get(me).misses);
    });

    it("refuses more than 20 whacks a second (RATE_LIMITED, not counted) and flags the round", async () => {
      const p = await player("Spammer");
      const room = await join(p, "solo");
      const me = p.account.user.id;
      const errs = errors(room);
      room.send("ready");
      await until(room, (s) => s.phase === "playing");
      for (let i = 0; i < 26; i++) room.send("whack", { hole: i % 9 });
      await until(room, () => errs.length >= 26);
      const limited = errs.filter((e) => e.code === "RATE_LIMITED").length;
      const others = errs.length - limited;
      assert.ok(limited >= 6 && others <= 20, `${limited} refused, ${others} judged`);
      // Refused whacks are not counted as misses (at most the 20 judged ones are).
      assert.ok(room.state.players.get(me).misses <= others);
      assert.equal(room.connection.isOpen, true);
      const pong = nextMessage<{ t: number; serverTime: number }>(room, "pong");
      room.send("ping", { t: 42 });
      assert.equal((await pong).t, 42);

      const roundEnd = nextMessage<any>(room, "round:end");
      await stop(t, p.sessionToken);
      const end = await roundEnd;
      assert.equal(end.scores[0].flagged, true, "flagged for the rate");
    });

    it("keeps a dropped player's state when they reconnect with the SDK's token", async () => {
      const p = await player("Flaky");
      const room = await join(p, "solo");
      const me = p.account.user.id;
      room.send("ready");
      await until(room, (s) => upMoles(s).length > 0);
      const [mole] = upMoles(room.state);
      await sleep(120);
      const hit = nextMessage(room, "hit");
      room.send("whack", { hole: mole.hole, moleId: mole.moleId });
      await hit;
      await until(room, (s) => s.players.get(me).score !== 0);
      const before = room.state.players.get(me).toJSON();
      const roundId = room.state.roundId;

      const token = room.reconnectionToken;
      room.connection.close(4999, "network lost");
      await sleep(100);
      const back = await sdkFor(t, p.account).reconnect<any>(token);
      rooms.push(back);
      await until(back, (s) => s.players.get(me)?.score === before.score);
      assert.deepEqual(back.state.players.get(me).toJSON(), before);
      assert.equal(back.state.roundId, roundId);
      assert.equal(back.state.phase, "playing");
      assert.equal(
        codeOf(await replyTo(back, () => back.send("whack", { hole: mole.hole, moleId: mole.moleId }))),
        "ALREADY_HIT",
      );

      const roundEnd = nextMessage<any>(back, "round:end");
      await stop(t, p.sessionToken);
      const end = await roundEnd;
      assert.equal(end.roundId, roundId);
      assert.equal(end.scores[0].score, before.score);
    });
  });

  describe("leaving", () => {
    /** The stored round once it is over. */
    async function storedEnd(roundId: string) {
      for (let i = 0; i < 100; i++) {
        const round = await t.app.dataSource.getRepository(WhackRound).findOneBy({ id: roundId });
        if (round && round.status !== "playing") return round;
        await sleep(100);
      }
      throw new Error(`round ${roundId} did not end`);
    }

    it("a dropped player who does not come back within WHACK_RECONNECT_SEC has left: the round ends", async () => {
      const p = await player("Gone");
      const room = await join(p, "solo");
      room.send("ready");
      await until(room, (s) => s.phase === "playing");
      const roundId = room.state.roundId;
      room.connection.close(4999, "network lost for good");
      const round = await storedEnd(roundId);
      assert.equal(round.endReason, "all_left");
      const seat = await t.app.dataSource.getRepository(WhackRoundPlayer).findOneByOrFail({ roundId });
      assert.equal(seat.endReason, "left");
    });

    it("a play session that expires (no heartbeat) ends the player's round with session_ended", async () => {
      const p = await player("Sleepy");
      const room = await join(p, "solo");
      const ended = nextMessage<{ reason: string; session: string }>(room, "ended", 10_000);
      const roundEnd = nextMessage<any>(room, "round:end", 10_000);
      room.send("ready");
      await until(room, (s) => s.phase === "countdown");
      heartbeats.splice(0).forEach(clearInterval);
      assert.deepEqual(await ended, { reason: "session_ended", session: "expired" });
      assert.equal((await roundEnd).reason, "session_ended");
      const seat = await t.app.dataSource
        .getRepository(WhackRoundPlayer)
        .findOneByOrFail({ roundId: room.state.roundId });
      assert.equal(seat.endReason, "session_ended");
    });
  });

  describe("versus", () => {
    it("two players race for one mole: exactly one hit, the other gets ALREADY_HIT; the started room is locked", async () => {
      const a = await player("Ann");
      const b = await player("Bob");
      const ra = await join(a, "versus");
      const rb = await join(b, "versus", ra.roomId);
      await until(ra, (s) => s.players.size === 2);
      assert.equal(ra.state.phase, "waiting");
      const hitsA = collect<{ moleId: number; userId: string }>(ra, "hit");
      const hitsB = collect<{ moleId: number; userId: string }>(rb, "hit");
      const errsA = errors(ra);
      const errsB = errors(rb);
      ra.send("ready");
      await until(ra, (s) => s.players.get(a.account.user.id).ready);
      assert.equal(ra.state.phase, "waiting", "waits for every player");
      rb.send("ready");
      await until(ra, (s) => s.phase === "countdown");

      const late = await player("Late");
      await assert.rejects(join(late, "versus", ra.roomId));

      await until(ra, (s) => upMoles(s).length > 0);
      const [mole] = upMoles(ra.state);
      await sleep(120);
      ra.send("whack", { hole: mole.hole, moleId: mole.moleId });
      rb.send("whack", { hole: mole.hole, moleId: mole.moleId });
      await until(ra, () => hitsA.length + errsA.length >= 1 && hitsB.length + errsB.length >= 1);
      await sleep(200);
      assert.equal(hitsA.length, 1, "both see the one hit");
      assert.deepEqual(hitsB, hitsA);
      const winner = hitsA[0].userId;
      const loserErrors = winner === a.account.user.id ? errsB : errsA;
      assert.deepEqual(
        loserErrors.map((e) => e.code),
        ["ALREADY_HIT"],
      );
      assert.deepEqual(winner === a.account.user.id ? errsA : errsB, []);

      // One player's session ends: their round ends, the other plays on; when both have ended, the round ends.
      const endedA = nextMessage<{ reason: string }>(ra, "ended");
      const roundEndB = nextMessage<any>(rb, "round:end");
      await stop(t, a.sessionToken);
      assert.equal((await endedA).reason, "session_ended");
      assert.equal(codeOf(await replyTo(ra, () => ra.send("whack", { hole: 0 }))), "NOT_PLAYING");
      assert.equal(rb.state.phase, "playing");
      await stop(t, b.sessionToken);
      const end = await roundEndB;
      assert.equal(end.reason, "session_ended");
      assert.equal(end.scores.length, 2);
      const winnerScore = end.scores.find((s: any) => s.userId === winner);
      assert.equal(winnerScore.hits, 1);
    });
  });
});
