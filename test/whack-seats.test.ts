import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { createRedis } from "../src/redis";
import { createWhackSeats, type WhackSeats } from "../src/services/whack-seats";
import { sleep } from "./helpers/play";

/**
 * Whack seat claims: one room per play session. Two claim stores sharing Redis are two
 * processes; in memory (embedded mode) one store serves the only process.
 */
describe("whack seat claims", function () {
  this.timeout(20_000);
  const redisUrl = process.env.REDIS_URL;
  let redis: Redis | undefined;
  const prefix = `whack-seats-${randomBytes(4).toString("hex")}:`;

  before(() => {
    if (redisUrl) redis = createRedis(redisUrl);
  });
  after(async () => {
    if (!redis) return;
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  /** Two views of the claims: two processes on Redis, the same store in memory. */
  function stores(ttlSec: number): [WhackSeats, WhackSeats] {
    if (!redis) {
      const only = createWhackSeats(undefined, prefix, ttlSec);
      return [only, only];
    }
    return [createWhackSeats(redis, prefix, ttlSec), createWhackSeats(redis, prefix, ttlSec)];
  }

  it(`one room holds a session: others are refused until it releases; only the holder refreshes or releases (${process.env.REDIS_URL ? "Redis" : "memory"})`, async () => {
    const [here, there] = stores(30);
    const session = randomUUID();
    assert.equal(await here.claim(session, "room-a"), true);
    assert.equal(await there.claim(session, "room-b"), false);
    assert.equal(await here.claim(session, "room-a2"), false);
    // Another room cannot extend or free room-a's claim.
    assert.equal(await there.refresh(session, "room-b"), false);
    await there.release(session, "room-b");
    assert.equal(await there.claim(session, "room-b"), false);
    assert.equal(await here.refresh(session, "room-a"), true);
    // Other sessions are independent.
    assert.equal(await there.claim(randomUUID(), "room-b"), true);
    await here.release(session, "room-a");
    assert.equal(await there.claim(session, "room-b"), true);
    assert.equal(await here.claim(session, "room-a"), false);
  });

  it(`a claim nobody refreshes (its process died) lapses after its TTL; a refreshed one stays (${process.env.REDIS_URL ? "Redis" : "memory"})`, async () => {
    const [dead, alive] = stores(1);
    const lost = randomUUID();
    const kept = randomUUID();
    assert.equal(await dead.claim(lost, "room-dead"), true);
    assert.equal(await alive.claim(kept, "room-alive"), true);
    for (let i = 0; i < 3; i++) {
      await sleep(450);
      assert.equal(await alive.refresh(kept, "room-alive"), true);
    }
    // 1.35 s later: the unrefreshed claim is gone, the refreshed one holds.
    assert.equal(await alive.claim(lost, "room-new"), true);
    assert.equal(await dead.claim(kept, "room-other"), false);
    // The lapsed holder can no longer refresh (or free) what another room now holds.
    assert.equal(await dead.refresh(lost, "room-dead"), false);
    await dead.release(lost, "room-dead");
    assert.equal(await dead.claim(lost, "room-dead"), false);
  });
});
