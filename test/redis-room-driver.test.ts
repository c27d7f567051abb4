import assert from "node:assert/strict";
import { initializeRoomCache, type IRoomCache } from "@colyseus/core";
import { Redis } from "ioredis";
import { COUNT_WRITE_DELAY_MS, RoomNamePartitionedRedisDriver } from "../src/redis-room-driver";

/** A Redis database of its own: the test servers' room caches live in database 0. */
const DRIVER_DB = 13;

describe("room-name partitioned Redis driver", function () {
  let driver: RoomNamePartitionedRedisDriver;
  let redis: Redis;
  before(function () {
    if (!process.env.REDIS_URL) {
      console.log("    (skipped: set REDIS_URL to test the Redis room driver)");
      return this.skip();
    }
    const url = new URL(process.env.REDIS_URL);
    url.pathname = `/${DRIVER_DB}`;
    driver = new RoomNamePartitionedRedisDriver(url.toString());
    redis = new Redis(url.toString());
  });
  beforeEach(async () => driver && (await driver.clear()));
  after(async () => {
    await driver?.clear();
    await driver?.shutdown();
    redis?.disconnect();
  });

  const room = (roomId: string, name: string, extra: Partial<IRoomCache> = {}) =>
    initializeRoomCache({ roomId, name, processId: "p1", clients: 0, maxClients: 2, locked: false, ...extra });

  it("answers name-filtered lookups from that name's hash only, and keeps Colyseus's own hash whole", async () => {
    await driver.persist(room("q1", "match_queue", { metadata: { region: "eu", language: "en" } }));
    await driver.persist(room("q2", "match_queue", { metadata: { region: "na", language: "en" } }));
    for (let i = 0; i < 50; i++) await driver.persist(room(`c${i}`, "video_call"));
    assert.equal(await redis.hlen("roomcaches"), 52);
    assert.equal(await redis.hlen("roomcaches:match_queue"), 2);

    const found = await driver.findOne({ name: "match_queue", locked: false, region: "na" } as never);
    assert.equal(found.roomId, "q2");
    assert.deepEqual((await driver.query({ name: "match_queue" })).map((r) => r.roomId).sort(), ["q1", "q2"]);
    assert.equal((await driver.findOne({ roomId: "c7" })).name, "video_call");
    assert.equal((await driver.query({ processId: "p1" })).length, 52, "unnamed queries still see every room");
  });

  it("updates, removes and cleans up in both hashes", async () => {
    const q = room("q1", "match_queue");
    await driver.persist(q);
    await driver.update(q, { $inc: { clients: 1 }, $set: { locked: true } });
    const updated = JSON.parse((await redis.hget("roomcaches:match_queue", "q1"))!);
    assert.deepEqual([updated.clients, updated.locked], [1, true]);
    assert.equal(await driver.findOne({ name: "match_queue", locked: false } as never), undefined);

    assert.equal(await driver.remove("q1"), true);
    assert.equal(await driver.remove("q1"), false);
    assert.equal(await redis.hlen("roomcaches:match_queue"), 0);
    assert.equal(await driver.has("q1"), false);

    await driver.persist(room("s1", "stream", { processId: "dead" }));
    await driver.persist(room("s2", "stream", { processId: "alive" }));
    await driver.cleanup("dead");
    assert.deepEqual(await redis.hkeys("roomcaches:stream"), ["s2"]);
    assert.deepEqual(await redis.hkeys("roomcaches"), ["s2"]);
  });

  it("writes client-count changes of a window together, a lock at once, and never re-lists a removed room", async () => {
    const listed = async (id: string) => {
      const raw = await redis.hget("roomcaches:match_queue", id);
      return raw ? (JSON.parse(raw) as IRoomCache) : undefined;
    };
    const q = room("q1", "match_queue", { maxClients: 3 });
    await driver.persist(q);
    for (let i = 0; i < 3; i++) await driver.update(q, { $inc: { clients: 1 }, $set: { locked: false } });
    await driver.update(q, { $inc: { clients: -1 }, $set: { locked: false } });
    assert.equal((await listed("q1"))?.clients, 0, "a count change alone waits for the window");
    await sleep(COUNT_WRITE_DELAY_MS + 50);
    assert.equal((await listed("q1"))?.clients, 2, "then the last count of the window is written");
    assert.equal(JSON.parse((await redis.hget("roomcaches", "q1"))!).clients, 2, "in both hashes");

    await driver.update(q, { $inc: { clients: 1 }, $set: { locked: true } });
    assert.deepEqual(
      [(await listed("q1"))?.clients, (await listed("q1"))?.locked],
      [3, true],
      "a lock is written at once",
    );

    const gone = room("q2", "match_queue");
    await driver.persist(gone);
    await driver.update(gone, { $inc: { clients: 1 }, $set: { locked: false } });
    assert.equal(await driver.remove("q2"), true);
    await sleep(COUNT_WRITE_DELAY_MS + 50);
    assert.equal(await listed("q2"), undefined, "the pending count write was dropped with the room");
    assert.equal(await redis.hexists("roomcaches", "q2"), 0);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
