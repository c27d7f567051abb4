import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import os from "node:os";
import { Client, type Room } from "@colyseus/sdk";
import type { DataSource } from "typeorm";
import { openDatabase } from "../src/db/data-source";
import { Call, Game, PlaySession } from "../src/entities";
import { GameService } from "../src/services/games";
import { seed } from "../src/services/seed";
import { WalletService } from "../src/services/wallet";
import { createScratchDatabase } from "./helpers/database";
import { startServerProcess } from "./helpers/process";
import { json, bearer, strongPassword, uniqueEmail, remember } from "./helpers/users";
import { nextMessage } from "./helpers/video";

/**
 * SIGTERM with a player in a play session and two users in a live call: a
 * spawned server on a scratch PostgreSQL database (the test reads and funds
 * wallets beside it).
 */
describe("rooms at graceful shutdown (SIGTERM)", function () {
  this.timeout(120_000);
  let dataSource: DataSource | undefined;
  let drop: (() => Promise<void>) | undefined;
  after(async () => {
    await dataSource?.destroy();
    await drop?.();
  });

  it("sends session:ended / session:end with reason shutdown before the close, and refunds the cut call", async function () {
    let scratch;
    try {
      scratch = await createScratchDatabase(process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
    } catch {
      return this.skip(); // no PostgreSQL: the spawned server and this test need to share one
    }
    drop = scratch.drop;
    dataSource = await openDatabase({ url: scratch.url, embeddedDir: "" });
    await seed(dataSource, new GameService(dataSource, os.tmpdir(), 1024));
    const wallet = new WalletService(dataSource);
    const server = await startServerProcess({
      DATABASE_URL: scratch.url,
      REDIS_URL: "",
      NODE_ENV: "development",
      HEARTBEAT_INTERVAL_SEC: "60",
      CALL_DURATION_SEC: "120",
    });
    try {
      const signUp = async (displayName: string) => {
        const res = await fetch(
          `${server.baseUrl}/api/auth/register`,
          json({ email: uniqueEmail("shutdown"), password: strongPassword(), displayName }),
        );
        assert.equal(res.status, 201, await res.clone().text());
        const body = (await res.json()) as { accessToken: string; refreshToken: string; user: { id: string } };
        remember(body.accessToken);
        remember(body.refreshToken);
        const sdk = new Client(server.baseUrl);
        sdk.auth.token = body.accessToken;
        return { ...body, sdk };
      };
      const [player, a, b] = await Promise.all([signUp("Player"), signUp("Caller A"), signUp("Caller B")]);
      for (const u of [a, b]) {
        await wallet.apply([
          { userId: u.user.id, delta: 3, reason: "adjustment", idempotencyKey: `fund:${randomUUID()}` },
        ]);
      }

      // The play session.
      const game = await dataSource.getRepository(Game).findOneByOrFail({ slug: "demo-arcade" });
      const started = await fetch(
        `${server.baseUrl}/api/play/start`,
        json({ gameId: game.id }, bearer(player.accessToken)),
      );
      assert.equal(started.status, 201, await started.clone().text());
      const { sessionId, roomId, sessionToken } = (await started.json()) as Record<string, string>;
      remember(sessionToken);
      const play = await player.sdk.joinById(roomId);
      remember((await nextMessage<{ sessionToken: string }>(play, "session")).sessionToken);

      // The live call.
      const bucket = { region: "eu", language: "en" };
      const queues = await Promise.all([a, b].map((u) => u.sdk.joinOrCreate("match_queue", bucket)));
      const matched = await Promise.all(queues.map((q) => nextMessage<{ callId: string; seat: any }>(q, "matched")));
      await Promise.all(queues.map((q) => q.leave()));
      const calls = await Promise.all([a, b].map((u, i) => u.sdk.consumeSeatReservation(matched[i].seat)));
      await Promise.all(calls.map((c) => nextMessage(c, "session:start")));
      assert.deepEqual(await Promise.all([a, b].map((u) => wallet.balance(u.user.id))), [2, 2], "fees charged");

      // What each client sees, in order, until its connection closes.
      const seen = (room: Room, type: string) => {
        const events: string[] = [];
        room.onMessage(type, (m: { reason?: string }) => events.push(`${type}:${m.reason}`));
        room.onMessage("*", () => {});
        const closed = new Promise<string[]>((resolve) =>
          room.onLeave((code) => resolve([...events, `close:${code}`])),
        );
        return closed;
      };
      const playSeen = seen(play, "session:ended");
      const callSeen = calls.map((c) => seen(c, "session:end"));

      assert.equal(await server.kill("SIGTERM"), 0, server.output());
      assert.deepEqual(await playSeen, ["session:ended:shutdown", "close:4001"]);
      for (const c of callSeen) assert.deepEqual(await c, ["session:end:shutdown", "close:4001"]);

      // The call did not get its duration: both fees are back; the session is closed.
      assert.deepEqual(await Promise.all([a, b].map((u) => wallet.balance(u.user.id))), [3, 3], "fees refunded");
      const call = await dataSource.getRepository(Call).findOneByOrFail({ id: matched[0].callId });
      assert.equal(call.phase, "ended");
      assert.equal(call.endReason, "shutdown");
      const session = await dataSource.getRepository(PlaySession).findOneByOrFail({ id: sessionId });
      assert.equal(session.status, "expired");
      assert.deepEqual(await wallet.checkInvariants(), []);
    } finally {
      await server.kill("SIGKILL");
    }
  });
});
