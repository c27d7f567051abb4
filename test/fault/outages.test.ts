import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { Room } from "@colyseus/sdk";
import {
  act,
  eventually,
  FaultCluster,
  get,
  killHard,
  nextMessage,
  post,
  say,
  sdkFor,
  sleep,
  type User,
} from "../helpers/fault-cluster";
import type { ServerProcess } from "../helpers/process";

const OUTAGE_MS = 10_000;
/** Users must be able to act again within this long after a dependency is back. */
const RECOVERY_MS = 20_000;
/** A request made during an outage must be answered before the outage ends (then it did not hang on it). */
const ANSWER_WITHIN_MS = OUTAGE_MS - 2_000;

/**
 * Two server processes on a private PostgreSQL (port 5433) and Redis (6431),
 * which the scenarios stop, hang, empty and kill. Each scenario checks that
 * every process is still alive, that users can act again within seconds
 * (play session, queue, tip, chat) and that the wallet invariant holds.
 */
describe("fault: outages of PostgreSQL, Redis and processes", function () {
  this.timeout(120_000);
  let cluster: FaultCluster;
  let a: ServerProcess;
  let b: ServerProcess;
  let owner: User;
  let alice: User;
  let bob: User;
  let streamId: string;

  before(async function () {
    this.timeout(240_000);
    cluster = await FaultCluster.start(
      { postgres: 5433, redis: 6431 },
      { HEARTBEAT_INTERVAL_SEC: "10", CALL_JOIN_TIMEOUT_SEC: "5" },
    );
    [a, b] = cluster.servers;
    owner = await cluster.newUser(a, "Owner", 0);
    alice = await cluster.newUser(a, "Alice", 50);
    bob = await cluster.newUser(b, "Bob", 50);
    const created = await post(a, "/api/streams", { title: "Fault stream" }, owner.accessToken);
    assert.equal(created.status, 201, await created.clone().text());
    streamId = (await created.json()).id;
  });

  after(async () => {
    await cluster?.stop();
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed") {
      for (const s of cluster.servers) say(`last output of ${s.port}:\n${s.output().slice(-2500)}`);
    }
  });

  /** Every process alive, both users able to act through both processes, wallets consistent. */
  async function assertRecovered() {
    await cluster.assertAllAlive();
    for (const [server, user, other] of [
      [a, alice, bob],
      [b, bob, alice],
    ] as const) {
      const ms = await eventually(
        () => act(cluster, server, user, other, streamId),
        RECOVERY_MS,
        `${user.name} acting`,
      );
      say(`${user.name} played, queued, tipped and chatted through :${server.port} again after ${ms} ms`);
    }
    await cluster.assertWalletInvariant();
  }

  /** Runs `probe` during an outage; resolves with its status, or "no answer" if it hung. */
  async function duringOutage(what: string, probe: (signal: AbortSignal) => Promise<Response>) {
    try {
      const res = await probe(AbortSignal.timeout(ANSWER_WITHIN_MS));
      const body = res.status >= 400 ? ((await res.json()) as { error?: { code?: string } }) : await res.json();
      const code = (body as { error?: { code?: string } }).error?.code;
      say(`${what} → ${res.status}${code ? ` ${code}` : ""}`);
      return { status: res.status, code, body };
    } catch (err) {
      say(`${what} → no answer (${(err as Error).name})`);
      return { status: 0, code: "NO_ANSWER", body: undefined };
    }
  }

  const metric = async (server: ServerProcess, name: string) =>
    Number(new RegExp(`^${name} (\\S+)`, "m").exec(await (await get(server, "/metrics")).text())?.[1] ?? 0);

  it("baseline: both users act through both processes", async () => {
    await assertRecovered();
  });

  it("PostgreSQL stopped 10 s: processes stay up, HTTP 503, room messages error UNAVAILABLE, then back to normal", async () => {
    const started = await post(a, "/api/play/start", { gameId: cluster.gameId }, alice.accessToken);
    assert.equal(started.status, 201);
    const { roomId } = await started.json();
    const playRoom: Room = await sdkFor(a, alice).joinById(roomId);
    await nextMessage(playRoom, "session");
    // A money request during the outage is answered 503 and is safe to retry with its key.
    const tipKey = randomUUID();
    const tipOnce = (signal?: AbortSignal) =>
      post(a, "/api/payments/tip", { toUserId: bob.id, amount: 1 }, alice.accessToken, signal, {
        "Idempotency-Key": tipKey,
      });
    const stoppedAt = Date.now();
    const answers: Awaited<ReturnType<typeof duringOutage>>[] = [];
    let roomAnswer: { code: string } | undefined;
    cluster.pg.stop();
    say("PostgreSQL stopped");
    try {
      const heartbeatError = nextMessage<{ code: string }>(playRoom, "error", ANSWER_WITHIN_MS);
      playRoom.send("heartbeat");
      const probes = Promise.all([
        duringOutage("GET /api/tokens/balance via A", (signal) =>
          get(a, "/api/tokens/balance", alice.accessToken, signal),
        ),
        duringOutage("GET /api/tokens/balance via B", (signal) =>
          get(b, "/api/tokens/balance", bob.accessToken, signal),
        ),
        duringOutage("POST /api/play/start via B", (signal) =>
          post(b, "/api/play/start", { gameId: cluster.gameId }, bob.accessToken, signal),
        ),
        duringOutage("POST /api/payments/tip via A", (signal) => tipOnce(signal)),
      ]);
      answers.push(...(await probes));
      roomAnswer = await heartbeatError.catch((err) => ({ code: `none (${err.message})` }));
      say(`play_session heartbeat message → error ${roomAnswer?.code}`);
      await sleep(OUTAGE_MS - (Date.now() - stoppedAt));
    } finally {
      cluster.pg.start();
      say("PostgreSQL started again");
    }
    try {
      await cluster.assertAllAlive();
      const ms = await eventually(
        async () => {
          const beat = nextMessage<{ sessionToken: string }>(playRoom, "session", 3_000);
          playRoom.send("heartbeat");
          await beat;
        },
        RECOVERY_MS,
        "play_session heartbeat",
      );
      say(`the play session's heartbeat works again after ${ms} ms`);
    } finally {
      const ended = nextMessage(playRoom, "session:ended", 5_000).catch(() => undefined);
      playRoom.send("stop");
      await ended;
      await playRoom.leave().catch(() => undefined);
    }
    await assertRecovered();
    const retried = await eventually(
      async () => assert.equal((await tipOnce()).status, 200),
      RECOVERY_MS,
      "the tip's retry",
    );
    const replay = (await (await tipOnce()).json()) as { replayed: boolean };
    assert.equal(replay.replayed, true, "a second retry replays the first result");
    const [{ debits }] = await cluster.db.query(
      `SELECT count(*)::int AS debits FROM ledger_entries WHERE idempotency_key LIKE $1`,
      [`tip:%:${tipKey}:debit`],
    );
    assert.equal(debits, 1, "the tip moved money once");
    say(`the tip refused during the outage went through on retry after ${retried} ms, once`);
    // Asserted last: the 503 mapping (helper "http") and the rooms' UNAVAILABLE answers (helper "rooms").
    for (const answer of answers) {
      assert.equal(answer.status, 503, "HTTP answers 503 while the database is down");
      assert.equal(answer.code, "UNAVAILABLE");
    }
    assert.equal(roomAnswer?.code, "UNAVAILABLE", "the room answers error UNAVAILABLE");
  });

  /** Stops or hangs Redis for 10 s while a play session's heartbeat goes through both processes. */
  async function redisOutage(kind: "stopped" | "hung") {
    const started = await post(a, "/api/play/start", { gameId: cluster.gameId }, alice.accessToken);
    assert.equal(started.status, 201);
    let { sessionToken } = await started.json();
    const before = {
      a: await metric(a, "process_unhandled_rejections_total"),
      b: await metric(b, "process_unhandled_rejections_total"),
    };
    const outageAt = Date.now();
    if (kind === "stopped") await cluster.redis.stop({ keepData: true });
    else cluster.redis.pause();
    say(`Redis ${kind}`);
    const answers: Awaited<ReturnType<typeof duringOutage>>[] = [];
    try {
      // All at once, so the outage stays 10 s even when every probe goes unanswered.
      const token = sessionToken;
      answers.push(
        ...(await Promise.all([
          duringOutage("POST /api/play/heartbeat via A", (signal) => post(a, "/api/play/heartbeat", {}, token, signal)),
          duringOutage("POST /api/play/heartbeat via B", (signal) => post(b, "/api/play/heartbeat", {}, token, signal)),
          duringOutage("GET /api/tokens/balance via A", (signal) =>
            get(a, "/api/tokens/balance", alice.accessToken, signal),
          ),
          duringOutage("GET /api/games via B", (signal) => get(b, "/api/games", undefined, signal)),
        ])),
      );
      for (const beat of answers.slice(0, 2)) {
        if (beat.status === 200) sessionToken = (beat.body as { sessionToken: string }).sessionToken;
      }
      await sleep(OUTAGE_MS - (Date.now() - outageAt));
    } finally {
      if (kind === "stopped") await cluster.redis.start();
      else cluster.redis.resume();
    }
    say(`Redis back after ${Date.now() - outageAt} ms`);
    try {
      await checkRedisRecovery();
    } finally {
      await post(a, "/api/play/stop", {}, sessionToken).catch(() => undefined);
    }
    await assertRecovered();
    // Asserted last: requests that use Redis themselves answer in time only with helper "http"'s command timeout.
    for (const answer of answers) {
      assert.ok(
        [200, 503].includes(answer.status),
        `answered (works or 503) while Redis was ${kind}: ${answer.status}`,
      );
      if (answer.status === 503) assert.equal(answer.code, "UNAVAILABLE");
    }

    async function checkRedisRecovery() {
      await cluster.assertAllAlive();
      const after = {
        a: await metric(a, "process_unhandled_rejections_total"),
        b: await metric(b, "process_unhandled_rejections_total"),
      };
      say(`unhandled rejections logged (and survived): A ${after.a - before.a}, B ${after.b - before.b}`);
      // The session outlived the outage: its room was unreachable, not gone.
      for (const server of [a, b]) {
        const ms = await eventually(
          async () => {
            const res = await post(server, "/api/play/heartbeat", {}, sessionToken);
            assert.equal(res.status, 200, await res.clone().text());
            sessionToken = (await res.json()).sessionToken;
          },
          RECOVERY_MS,
          "heartbeat after the outage",
        );
        say(`the session's heartbeat via :${server.port} works again after ${ms} ms`);
      }
    }
  }

  it("Redis stopped 10 s: processes stay up, HTTP answers (works or 503), sessions survive, then back to normal", async () => {
    await redisOutage("stopped");
  });

  it("Redis hung (SIGSTOP) 10 s: requests answered, no process exits, SIGCONT brings everything back", async () => {
    await redisOutage("hung");
  });

  it("Redis restarted empty: rooms and queue markers are re-registered, the cluster converges", async () => {
    const viewer1 = await cluster.newUser(a, "Viewer1", 0);
    const viewer2 = await cluster.newUser(b, "Viewer2", 0);
    const waiter = await cluster.newUser(a, "Waiter", 5);
    const newcomer = await cluster.newUser(b, "Newcomer", 5);
    const bucket = { region: "eu", language: "pt" };
    const rooms: Room[] = [];
    try {
      const stream1 = await sdkFor(a, viewer1).joinOrCreate("stream", { streamId });
      stream1.onMessage("history", () => {});
      rooms.push(stream1);
      const queue1 = await sdkFor(a, waiter).joinOrCreate("match_queue", bucket);
      rooms.push(queue1);
      const waiterMatched = nextMessage<{ callId: string }>(queue1, "matched", 30_000);
      const listed = (roomId: string) => cluster.redis.cli("hexists", "roomcaches", roomId) === "1";
      assert.ok(listed(stream1.roomId) && listed(queue1.roomId));
      const viewers = async () =>
        ((await (await get(b, `/api/streams/${streamId}`)).json()) as { viewerCount: number }).viewerCount;
      await eventually(async () => assert.equal(await viewers(), 1), RECOVERY_MS, "the viewer counted");

      await cluster.redis.stop();
      await cluster.redis.start();
      say(`Redis restarted without its data (${cluster.redis.cli("dbsize")} keys right after)`);
      const ms = await eventually(
        async () => assert.ok(listed(stream1.roomId) && listed(queue1.roomId), "listings back"),
        RECOVERY_MS,
        "room listings re-registered",
      );
      say(`the stream and queue rooms are listed again after ${ms} ms`);
      await eventually(
        async () => assert.equal(cluster.redis.cli("exists", `fault:queued:${waiter.id}`), "1"),
        RECOVERY_MS,
        "queue marker re-registered",
      );
      say("the waiter's queue marker is back");
      await eventually(async () => assert.equal(await viewers(), 1), RECOVERY_MS, "viewer count re-registered");
      say("the stream's viewer count is back");

      const stream2 = await sdkFor(b, viewer2).joinOrCreate("stream", { streamId });
      stream2.onMessage("history", () => {});
      rooms.push(stream2);
      assert.equal(stream2.roomId, stream1.roomId, "a new viewer through B joins the same stream room");
      say("a new viewer through B joined the same stream room");

      const queue2 = await sdkFor(b, newcomer).joinOrCreate("match_queue", bucket);
      rooms.push(queue2);
      const newcomerMatched = nextMessage<{ callId: string }>(queue2, "matched", 30_000);
      assert.equal(queue2.roomId, queue1.roomId, "a newcomer through B joins the waiter's queue room");
      const [m1, m2] = await Promise.all([waiterMatched, newcomerMatched]);
      assert.equal(m1.callId, m2.callId);
      say("the waiter (through A) was paired with the newcomer (through B)");
    } finally {
      await Promise.all(rooms.map((r) => r.leave().catch(() => undefined)));
    }
    await assertRecovered();
  });

  it("kill -9 of a process with a live call, queue waiters and play sessions: survivors serve, users act again, the call ends crashed with refunds", async () => {
    const x = await cluster.newUser(a, "Xena", 5);
    const y = await cluster.newUser(b, "Yuri", 5);
    const bucket = { region: "na", language: "es" };
    const qx = await sdkFor(a, x).joinOrCreate("match_queue", bucket);
    const mx = nextMessage<any>(qx, "matched");
    const qy = await sdkFor(b, y).joinOrCreate("match_queue", bucket);
    const my = nextMessage<any>(qy, "matched");
    const [matchX, matchY] = await Promise.all([mx, my]);
    await Promise.all([qx.leave(), qy.leave()]);
    const rx = await sdkFor(a, x).consumeSeatReservation(matchX.seat);
    const live = nextMessage(rx, "session:start");
    const ry = await sdkFor(b, y).consumeSeatReservation(matchY.seat);
    await live;
    const callId = matchX.callId as string;
    const victim = cluster.byAddress(matchX.seat.publicAddress);
    const victimIndex = cluster.servers.indexOf(victim);
    const survivor = cluster.servers[1 - victimIndex];
    say(`live call ${callId.slice(0, 8)} hosted on :${victim.port}`);

    // More users with state on the victim: queue waiters and play sessions started through it.
    const waiter = await cluster.newUser(victim, "QueuedOnVictim", 5);
    const queued = await sdkFor(victim, waiter).joinOrCreate("match_queue", { region: "as", language: "ja" });
    const players = [await cluster.newUser(victim, "P1", 5), await cluster.newUser(victim, "P2", 5)];
    for (const p of players) {
      assert.equal((await post(victim, "/api/play/start", { gameId: cluster.gameId }, p.accessToken)).status, 201);
    }

    await killHard(victim);
    say(`process :${victim.port} killed with SIGKILL`);
    for (const room of [rx, ry, queued]) room.connection.close();
    try {
      assert.equal((await get(survivor, "/health")).status, 200, "the survivor serves");
      // Users act again within seconds: depends on the sweeps of what a dead process leaves (helper "leftovers").
      for (const user of [x, y, ...players]) {
        const ms = await eventually(
          async () => {
            const res = await post(survivor, "/api/play/start", { gameId: cluster.gameId }, user.accessToken);
            assert.equal(res.status, 201, await res.clone().text());
            const { sessionToken } = await res.json();
            await post(survivor, "/api/play/stop", {}, sessionToken);
          },
          30_000,
          `${user.name} starting a new play session`,
        );
        say(`${user.name} started a new play session through the survivor after ${ms} ms`);
      }
      for (const [user, language] of [
        [waiter, "xh"],
        [x, "sw"],
        [y, "zu"],
      ] as const) {
        const ms = await eventually(
          async () => {
            const room = await sdkFor(survivor, user).joinOrCreate("match_queue", { region: "af", language });
            await room.leave();
          },
          30_000,
          `${user.name} queueing again`,
        );
        say(`${user.name} queued again through the survivor after ${ms} ms`);
      }
    } finally {
      await cluster.respawn(victimIndex);
      [a, b] = cluster.servers;
      say(`process :${victim.port} started again`);
    }
    await assertRecovered();
    // The call's end and refunds come from the sweep of the dead process's calls (helper "leftovers").
    const ms = await eventually(
      async () => {
        const [call] = await cluster.db.query(`SELECT phase, end_reason FROM calls WHERE id = $1`, [callId]);
        assert.equal(call.end_reason, "crashed", `call ${call.phase}/${call.end_reason}`);
      },
      30_000,
      "the call ending as crashed",
    );
    const [{ refunds }] = await cluster.db.query(
      `SELECT count(*)::int AS refunds FROM ledger_entries WHERE idempotency_key LIKE $1`,
      [`call:${callId}:refund:%`],
    );
    assert.equal(refunds, 2, "both queue fees refunded");
    say(`the call ended as crashed after ${ms} ms, both fees refunded`);
  });

  it("SIGTERM: clients get their final message with reason shutdown, the process exits 0 (runs last)", async () => {
    const started = await post(a, "/api/play/start", { gameId: cluster.gameId }, alice.accessToken);
    assert.equal(started.status, 201);
    const { roomId } = await started.json();
    const listing = JSON.parse(cluster.redis.cli("hget", "roomcaches", roomId));
    const host = cluster.byAddress(listing.publicAddress);
    const room = await sdkFor(host, alice).joinById(roomId);
    await nextMessage(room, "session");
    const ended = nextMessage<{ reason: string }>(room, "session:ended", 20_000);
    const code = await host.kill("SIGTERM");
    say(`process :${host.port} exited with ${code} on SIGTERM`);
    assert.equal(code, 0);
    assert.equal((await ended).reason, "shutdown");
    await cluster.assertWalletInvariant();
  });
});
