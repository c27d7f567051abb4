import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { randomBytes } from "node:crypto";
import type { Room } from "@colyseus/sdk";
import "reflect-metadata";
import { openDatabase } from "../../src/db/data-source";
import { GameService } from "../../src/services/games";
import { seed } from "../../src/services/seed";
import { WalletService } from "../../src/services/wallet";
import { clusterDatabase } from "../helpers/database";
import { postTo, type ServerProcess, startProcessPair } from "../helpers/process";
import { TestClient } from "../helpers/sdk";

/**
 * Two server processes sharing one PostgreSQL database and one Redis, each with
 * its own public address, as in production behind a load balancer.
 */
describe("cluster: two processes sharing PostgreSQL and Redis", function () {
  this.timeout(90_000);
  let a: ServerProcess;
  let b: ServerProcess;
  let dropDatabase: (() => Promise<void>) | undefined;
  let databaseUrl = "";
  const dataDir = `/tmp/arcadia-cluster-${process.pid}`;
  const RATE_LIMIT_MAX = 60;

  before(async function () {
    const scratch = await clusterDatabase(this);
    if (!scratch) return;
    dropDatabase = scratch.drop;
    databaseUrl = scratch.url;
    const shared = {
      DATABASE_URL: scratch.url,
      REDIS_URL: scratch.redisUrl,
      REDIS_KEY_PREFIX: `cluster-${randomBytes(4).toString("hex")}:`,
      RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
      AUTH_RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
      RATE_LIMIT_WINDOW_SEC: "60",
      DATA_DIR: dataDir,
    };
    [a, b] = await startProcessPair(shared);
  });

  after(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await dropDatabase?.();
  });

  it("both report ready with the database and Redis named", async () => {
    for (const server of [a, b]) {
      const body = await (await fetch(`${server.baseUrl}/health/ready`)).json();
      assert.equal(body.status, "ready");
      assert.equal(body.checks.database.ok, true);
      assert.equal(body.checks.redis.ok, true);
    }
  });

  it("a room created on one process is found and joined through the other", async () => {
    const host = await new TestClient(a.baseUrl).joinOrCreate("lobby");
    host.onMessage("rooms", () => {});
    try {
      // Colyseus places a new room on the least-busy process, which may be either.
      // Asked of either process, matchmaking names the one hosting it: one answer crosses processes.
      const seatOn = async (server: ServerProcess) =>
        (
          await fetch(`${server.baseUrl}/matchmake/joinById/${host.roomId}`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: "{}",
          })
        ).json();
      const [viaA, viaB] = [await seatOn(a), await seatOn(b)];
      assert.equal(viaA.roomId, host.roomId);
      assert.equal(viaB.roomId, host.roomId);
      assert.equal(viaA.publicAddress, viaB.publicAddress);
      assert.ok([a.publicAddress, b.publicAddress].includes(viaA.publicAddress));

      // And SDK clients pointed at either process end up in that same room.
      const guestServer = viaA.publicAddress === a.publicAddress ? b : a;
      const guest = await new TestClient(guestServer.baseUrl).joinById(host.roomId);
      const listing = new Promise((resolve) => guest.onMessage("rooms", resolve));
      // Through the shared entry (behind nginx: any process answers matchmaking), the seat still routes.
      const third = await new TestClient(a.entryUrl).joinById(host.roomId);
      try {
        assert.equal(guest.roomId, host.roomId);
        assert.equal(third.roomId, host.roomId);
        assert.ok(Array.isArray(await listing), "the guest is connected and receiving messages");
      } finally {
        await Promise.all([guest.leave(), third.leave()]);
      }
    } finally {
      await host.leave();
    }
  });

  const meOn = (server: ServerProcess, token: string) =>
    fetch(`${server.baseUrl}/api/auth/me`, { headers: { Authorization: `Bearer ${token}` } });

  it("logout-all on one process revokes the access token on the other at once", async () => {
    const email = `cluster-${randomBytes(4).toString("hex")}@arcadia.test`;
    const registered = await postTo(a, "/api/auth/register", {
      email,
      password: "Cluster-pass-1",
      displayName: "Clustered",
    });
    assert.equal(registered.status, 201);
    const { accessToken } = await registered.json();
    assert.equal((await meOn(b, accessToken)).status, 200, "B has the token cached as valid");
    assert.equal((await postTo(a, "/api/auth/logout-all", {}, accessToken)).status, 204);
    const after = await meOn(b, accessToken);
    assert.equal(after.status, 401);
    assert.equal((await after.json()).error.code, "TOKEN_REVOKED");
  });

  it("failed logins count across processes toward the account lockout", async () => {
    const email = `lockout-${randomBytes(4).toString("hex")}@arcadia.test`;
    assert.equal(
      (await postTo(b, "/api/auth/register", { email, password: "Lockout-pass-1", displayName: "Locked" })).status,
      201,
    );
    const statuses = [];
    for (let i = 0; i < 10; i++)
      statuses.push((await postTo(i % 2 ? a : b, "/api/auth/login", { email, password: `bad-${i}` })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 401, 401, 401, 401, 429]);
    assert.equal((await postTo(a, "/api/auth/login", { email, password: "Lockout-pass-1" })).status, 429);
  });

  it("a play session's heartbeat and stop reach its room from either process", async () => {
    // The operator seeds a PostgreSQL deployment once (`npm run seed`); here, through the same code.
    const ds = await openDatabase({ url: databaseUrl, embeddedDir: "" });
    try {
      await seed(ds, new GameService(ds, `${dataDir}/assets`, 1024 * 1024));
    } finally {
      await ds.destroy();
    }
    const email = `player-${randomBytes(4).toString("hex")}@arcadia.test`;
    const registered = await postTo(a, "/api/auth/register", {
      email,
      password: "Player-pass-1",
      displayName: "Player",
    });
    assert.equal(registered.status, 201, await registered.clone().text());
    const { accessToken } = await registered.json();
    const { games } = await (await fetch(`${a.baseUrl}/api/games`)).json();
    const game = games.find((g: { slug: string }) => g.slug === "demo-arcade");
    const started = await postTo(a, "/api/play/start", { gameId: game.id }, accessToken);
    assert.equal(started.status, 201);
    const { sessionToken, roomId } = await started.json();
    const beat = (server: ServerProcess, token: string) => postTo(server, "/api/play/heartbeat", {}, token);
    const viaA = await beat(a, sessionToken);
    assert.equal(viaA.status, 200);
    const viaB = await beat(b, (await viaA.json()).sessionToken);
    assert.equal(viaB.status, 200, "the process without the room forwards to it");
    const { sessionToken: latest } = await viaB.json();
    const stopped = await postTo(b, "/api/play/stop", {}, latest);
    assert.equal(stopped.status, 200);
    assert.equal((await beat(a, latest)).status, 401, "ended on every process at once");
    assert.ok(roomId);
  });

  /** Registers a user on `server` with `tokens` in their wallet (credited directly, as an operator adjustment). */
  async function funded(server: ServerProcess, name: string, tokens = 3) {
    const email = `${name.toLowerCase()}-${randomBytes(4).toString("hex")}@arcadia.test`;
    const res = await postTo(server, "/api/auth/register", { email, password: "Video-pass-1", displayName: name });
    assert.equal(res.status, 201, await res.clone().text());
    const { user, accessToken } = await res.json();
    if (!tokens) return { id: user.id as string, accessToken: accessToken as string };
    const ds = await openDatabase({ url: databaseUrl, embeddedDir: "" });
    try {
      await new WalletService(ds).apply([
        { userId: user.id, delta: tokens, reason: "adjustment", idempotencyKey: `fund:${user.id}` },
      ]);
    } finally {
      await ds.destroy();
    }
    return { id: user.id as string, accessToken: accessToken as string };
  }
  const sdkOn = (server: ServerProcess, token: string) => {
    const client = new TestClient(server.baseUrl);
    client.auth.token = token;
    return client;
  };
  const next = <T = any>(room: Room, type: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type}`)), 10_000);
      room.onMessage(type, (m: T) => (clearTimeout(timer), resolve(m)));
    });

  /** Two users queued through different processes, matched, and live in their call. */
  async function liveCallAcross(bucket: { region: string; language: string }) {
    const x = await funded(a, "Xena");
    const y = await funded(b, "Yuri");
    const qx = await sdkOn(a, x.accessToken).joinOrCreate("match_queue", bucket);
    const matchedX = next<any>(qx, "matched");
    const qy = await sdkOn(b, y.accessToken).joinOrCreate("match_queue", bucket);
    const matchedY = next<any>(qy, "matched");
    assert.equal(qx.roomId, qy.roomId, "one bucket, one queue room, whichever process was asked");
    const [mx, my] = await Promise.all([matchedX, matchedY]);
    await Promise.all([qx.leave(), qy.leave()]);
    assert.equal(mx.callId, my.callId);
    const rx = await sdkOn(a, x.accessToken).consumeSeatReservation(mx.seat);
    const startX = next(rx, "session:start");
    const ry = await sdkOn(b, y.accessToken).consumeSeatReservation(my.seat);
    await startX;
    return { x, y, rx, ry, callId: mx.callId as string, seat: mx.seat };
  }

  it("matches two users whose queue joins go through different processes, and relays between them", async () => {
    const { rx, ry } = await liveCallAcross({ region: "eu", language: "de" });
    try {
      const offer = next(ry, "offer");
      rx.send("offer", { sdp: "v=0 across processes" });
      assert.deepEqual(await offer, { sdp: "v=0 across processes" });
    } finally {
      await Promise.all([rx.leave(), ry.leave()]);
    }
  });

  it("a ban issued on one process ends a call hosted on the other", async () => {
    const { x, y, rx, ry, callId, seat } = await liveCallAcross({ region: "na", language: "fr" });
    try {
      // The moderator acts through the process that does not host the call's room.
      const host = [a, b].find((p) => seat.publicAddress === p.publicAddress);
      assert.ok(host, "the seat names the hosting process");
      const other = host === a ? b : a;
      const moderator = await funded(other, "Mod", 0);
      const ds = await openDatabase({ url: databaseUrl, embeddedDir: "" });
      try {
        await ds.query(`UPDATE users SET role = 'moderator' WHERE id = $1`, [moderator.id]);
      } finally {
        await ds.destroy();
      }
      const report = await postTo(
        other,
        "/api/reports",
        { reportedUserId: x.id, sessionId: callId, reason: "nudity" },
        y.accessToken,
      );
      assert.equal(report.status, 201);
      const { report: created } = await report.json();
      const action = next(rx, "moderation:action");
      const ended = next<{ reason: string }>(ry, "session:end");
      const res = await postTo(
        other,
        `/api/reports/${created.id}/moderate`,
        { action: "ban", durationHours: 1 },
        moderator.accessToken,
      );
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal((await action).action, "ban");
      assert.equal((await ended).reason, "moderation");
    } finally {
      await Promise.all([rx.leave().catch(() => {}), ry.leave().catch(() => {})]);
    }
  });

  it("a stream's update, tips and end reach its room from either process", async () => {
    const owner = await funded(a, "Caster", 0);
    const fan = await funded(b, "Fan", 10);
    const created = await postTo(a, "/api/streams", { title: "Across" }, owner.accessToken);
    assert.equal(created.status, 201);
    const { id: streamId } = await created.json();
    const room = await sdkOn(b, fan.accessToken).joinOrCreate("stream", { streamId });
    room.onMessage("history", () => {});
    try {
      const live = async (p: ServerProcess) =>
        /^streams_live (\d+)/m.exec(await (await fetch(`${p.baseUrl}/metrics`)).text())?.[1];
      const counts = [await live(a), await live(b)];
      assert.deepEqual([...counts].sort(), ["0", "1"], "exactly one process hosts the stream's room");
      const host = counts[0] === "1" ? a : b;
      const other = host === a ? b : a;
      const put = (p: ServerProcess, title: string) =>
        fetch(`${p.baseUrl}/api/streams/${streamId}`, {
          method: "PUT",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${owner.accessToken}` },
          body: JSON.stringify({ title }),
        });
      const updated = next<{ title: string }>(room, "streamUpdate");
      assert.equal((await put(other, "From the other process")).status, 200);
      assert.equal((await updated).title, "From the other process");
      const tip = next<{ amount: number }>(room, "tipReceived");
      assert.equal(
        (
          await postTo(other, "/api/payments/tip", { streamId, amount: 2 }, fan.accessToken, {
            "Idempotency-Key": randomUUID(),
          })
        ).status,
        200,
      );
      assert.equal((await tip).amount, 2);
      const ended = next(room, "streamEnded");
      const closed = new Promise<void>((resolve) => room.onLeave(() => resolve()));
      const del = await fetch(`${other.baseUrl}/api/streams/${streamId}`, {
        method: "DELETE",
        headers: { Authorization: `Bearer ${owner.accessToken}` },
      });
      assert.equal(del.status, 204);
      await ended;
      await closed;
    } finally {
      if (room.connection.isOpen) await room.leave();
    }
  });

  it("the global rate limit counts requests to both processes together", async () => {
    const statuses: number[] = [];
    // Earlier tests spent some of this window's budget; count until the first 429.
    for (let i = 0; i < RATE_LIMIT_MAX + 2; i++) {
      const server = i % 2 === 0 ? a : b;
      statuses.push((await fetch(`${server.baseUrl}/docs/openapi.json`)).status);
    }
    const firstLimited = statuses.indexOf(429);
    assert.ok(firstLimited > 0 && firstLimited <= RATE_LIMIT_MAX, `statuses: ${statuses}`);
    assert.ok(
      statuses.slice(firstLimited).every((s) => s === 429),
      "both processes refuse once the shared budget is spent",
    );
    const remaining = Number(
      /r=(\d+)/.exec((await fetch(`${a.baseUrl}/docs/openapi.json`)).headers.get("ratelimit") ?? "")?.[1],
    );
    assert.equal(remaining, 0);
  });

  it("both processes shut down cleanly on SIGTERM, with no errors logged (runs last)", async () => {
    const codes = await Promise.all([a.kill("SIGTERM"), b.kill("SIGTERM")]);
    assert.deepEqual(codes, [0, 0]);
    for (const server of [a, b]) {
      assert.match(server.output(), /shutdown complete/);
      assert.doesNotMatch(server.output(), /"level":50/, "no error-level log lines");
    }
  });
});
