import assert from "node:assert/strict";
import jwt from "jsonwebtoken";
import { LedgerEntry, PlaySession } from "../src/entities";
import { testApp, type TestApp } from "./helpers/app";
import { demoGame, heartbeat, sleep, startSession, stop } from "./helpers/play";
import { type Account, bearer, register, remember } from "./helpers/users";
import { fund } from "./helpers/wallet";

describe("play sessions over HTTP", () => {
  let t: TestApp;
  let player: Account;
  beforeEach(async () => {
    t = await testApp();
    player = await register();
  });
  const session = (id: string) => t.app.dataSource.getRepository(PlaySession).findOneByOrFail({ id });

  it("lists the seeded games with their assets", async () => {
    const { games } = await (await t.fetch("/api/games")).json();
    const slugs = games.map((g: { slug: string }) => g.slug);
    assert.ok(slugs.includes("demo-arcade") && slugs.includes("whack-arena-deluxe"));
    const paid = games.find((g: { slug: string }) => g.slug === "whack-arena-deluxe");
    assert.equal(paid.pricePerMinute, 2);
    assert.equal(paid.assets.length, 2);
    assert.ok(paid.assets.some((a: { size: number }) => a.size > 3_000_000));
    assert.equal((await t.fetch(`/api/games/${paid.id}`)).status, 200);
    assert.equal((await t.fetch(`/api/games/00000000-0000-4000-8000-000000000000`)).status, 404);
  });

  it("starts a session with a rolling session token; one live session per user", async () => {
    const game = await demoGame(t, "demo-arcade");
    const started = await startSession(t, player.accessToken, game.id);
    assert.equal(started.status, 201);
    const body = started.body;
    remember(body.sessionToken);
    assert.deepEqual(Object.keys(body).sort(), [
      "expiresAt",
      "heartbeatIntervalSec",
      "roomId",
      "sessionId",
      "sessionToken",
    ]);
    const claims = jwt.decode(body.sessionToken) as jwt.JwtPayload;
    assert.equal(claims.typ, "session");
    assert.equal(claims.sid, body.sessionId);
    assert.equal(claims.sub, player.user.id);
    assert.equal(claims.gid, game.id);
    assert.equal(claims.exp! - claims.iat!, 300);
    const again = await startSession(t, player.accessToken, game.id);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.details.sessionId, body.sessionId);
    assert.equal((await startSession(t, player.accessToken, "00000000-0000-4000-8000-000000000000")).status, 404);
    await stop(t, body.sessionToken);
  });

  it("heartbeats roll the token; stop ends it and its tokens stop working at once", async () => {
    const game = await demoGame(t, "demo-arcade");
    const { body } = await startSession(t, player.accessToken, game.id);
    const beat = await heartbeat(t, body.sessionToken);
    assert.equal(beat.status, 200);
    const next = await beat.json();
    remember(next.sessionToken);
    assert.notEqual(next.sessionToken, body.sessionToken);
    assert.ok(Date.parse(next.expiresAt) > Date.now());
    const stopped = await stop(t, next.sessionToken);
    assert.equal(stopped.status, 200);
    const result = await stopped.json();
    assert.equal(result.sessionId, body.sessionId);
    assert.equal(result.charged, 0);
    assert.ok(result.durationSec >= 0);
    for (const token of [body.sessionToken, next.sessionToken]) {
      const res = await heartbeat(t, token);
      assert.equal(res.status, 401);
      assert.equal((await res.json()).error.code, "SESSION_ENDED");
    }
    assert.equal((await session(body.sessionId)).status, "stopped");
    assert.equal((await startSession(t, player.accessToken, game.id)).status, 201, "a new session may start");
  });

  it("session and access tokens are never accepted for each other", async () => {
    const game = await demoGame(t, "demo-arcade");
    const { body } = await startSession(t, player.accessToken, game.id);
    assert.equal((await t.fetch("/api/auth/me", { headers: bearer(body.sessionToken) })).status, 401);
    assert.equal((await heartbeat(t, player.accessToken)).status, 401);
    assert.equal(
      (await t.fetch(`/api/assets/${game.assets[0].id}`, { headers: bearer(player.accessToken) })).status,
      401,
    );
    await stop(t, body.sessionToken);
  });

  it("expires after two missed heartbeat intervals", async () => {
    const game = await demoGame(t, "demo-arcade");
    const { body } = await startSession(t, player.accessToken, game.id);
    await sleep(2600);
    assert.equal((await session(body.sessionId)).status, "expired");
    assert.equal((await heartbeat(t, body.sessionToken)).status, 401);
  });

  it("paid games: 402 without a minute's price; billed per started period with one key each", async () => {
    const game = await demoGame(t, "whack-arena-deluxe");
    const broke = await startSession(t, player.accessToken, game.id);
    assert.equal(broke.status, 402);
    assert.equal(await t.app.dataSource.getRepository(PlaySession).countBy({ userId: player.user.id }), 0);

    await fund(t, player.user.id, 100);
    const { body } = await startSession(t, player.accessToken, game.id);
    assert.equal(await t.app.services.wallet.balance(player.user.id), 98, "first period charged at start");
    await sleep(1300);
    const beat = await heartbeat(t, body.sessionToken);
    assert.equal(beat.status, 200);
    const stopped = await (await stop(t, (await beat.json()).sessionToken)).json();
    const row = await session(body.sessionId);
    assert.equal(row.charged, stopped.charged);
    assert.equal(row.charged, row.periodsBilled * 2);
    assert.ok(row.periodsBilled >= 2);
    const entries = await t.app.dataSource.getRepository(LedgerEntry).findBy({ refId: body.sessionId });
    assert.equal(entries.length, row.periodsBilled);
    assert.deepEqual(
      entries.map((e) => e.idempotencyKey).sort(),
      Array.from({ length: row.periodsBilled }, (_, i) => `play:${body.sessionId}:${i + 1}`).sort(),
    );
    assert.equal(await t.app.services.wallet.balance(player.user.id), 100 - row.charged);
  });

  it("ends the session with insufficient_funds when the wallet runs dry (HTTP 402)", async () => {
    const game = await demoGame(t, "whack-arena-deluxe");
    await fund(t, player.user.id, 3);
    const { body } = await startSession(t, player.accessToken, game.id);
    await sleep(1200);
    const res = await heartbeat(t, body.sessionToken);
    // The billing tick may have ended it a moment before the heartbeat arrived.
    assert.ok([401, 402].includes(res.status), `status ${res.status}`);
    const row = await session(body.sessionId);
    assert.equal(row.status, "insufficient_funds");
    assert.equal(row.charged, 2);
    assert.equal(await t.app.services.wallet.balance(player.user.id), 1);
  });

  it("closes sessions left live by a crash, billed to their last heartbeat", async () => {
    const game = await demoGame(t, "demo-arcade");
    const repo = t.app.dataSource.getRepository(PlaySession);
    const orphan = await repo.save({
      userId: player.user.id,
      gameId: game.id,
      roomId: "gone-room",
      pricePerPeriod: 0,
      startedAt: new Date(Date.now() - 60_000),
      lastHeartbeatAt: new Date(Date.now() - 30_000),
    });
    assert.ok((await t.app.services.play.sweep([])) >= 1);
    const row = await repo.findOneByOrFail({ id: orphan.id });
    assert.equal(row.status, "expired");
  });
});
