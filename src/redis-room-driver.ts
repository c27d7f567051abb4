import { initializeRoomCache, type IRoomCache, logger, type SortOptions } from "@colyseus/core";
import { RedisDriver } from "@colyseus/redis-driver";
import { Query } from "@colyseus/redis-driver/Query";
import type { Redis } from "ioredis";
import { logRedisErrors } from "./process-guard";
import { pipelineCommands } from "./redis";

/** Colyseus's own key, kept whole: lookups by room id, process clean-up and other tools still use it. */
const ALL_ROOMS = "roomcaches";
const roomsNamed = (name: string) => `${ALL_ROOMS}:${name}`;
/**
 * How long a change of a room's client count alone may wait to be written.
 * Colyseus writes the listing on every seat reservation and every leave (a
 * queue join is two writes, a call's two seats two more); the count only
 * informs listings and sorting, so the changes of a window go out as one
 * write per room. Anything else (locked, private, metadata) is written at once.
 */
export const COUNT_WRITE_DELAY_MS = 100;

/**
 * Colyseus's RedisDriver keeps every room in one hash and answers every
 * join/joinOrCreate with HGETALL of that hash, parsed in JS: a queue join
 * costs O(all rooms), and with 500 live calls that is ~150 KB read per join,
 * which is what made matchmaking fall behind under load. This driver also
 * keeps one hash per room name and answers name-filtered lookups from it, so
 * a queue join reads the few queue rooms only. Written here because the
 * driver has no option for it. It also batches client-count changes (see
 * COUNT_WRITE_DELAY_MS); everything else is the stock driver.
 */
export class RoomNamePartitionedRedisDriver extends RedisDriver {
  private readonly redis: Redis;
  /** Concurrent lookups of one name share one read. */
  private readonly reads = new Map<string, Promise<IRoomCache[]>>();
  /** Rooms whose client count changed since the last write, by id: written together when the timer fires. */
  private readonly countChanged = new Map<string, IRoomCache>();
  private countTimer?: NodeJS.Timeout;

  constructor(url: string) {
    super(url);
    // The stock driver's own connection (its private `_client`): one connection, and its ioredis copy.
    this.redis = (this as unknown as { _client: Redis })._client;
    pipelineCommands(this.redis);
    // Colyseus's logger is swapped for ours after the driver is built: look it up on each error.
    logRedisErrors(this.redis, "room driver", { warn: (obj, msg) => logger.warn(obj, msg) });
  }

  override query(conditions: Partial<IRoomCache>, sortOptions?: SortOptions): Promise<IRoomCache[]> {
    if (conditions.name === undefined) return super.query(conditions, sortOptions);
    const query = new Query<IRoomCache>(this.readNamed(conditions.name), conditions);
    if (sortOptions) query.sort(sortOptions);
    return query.all();
  }

  override findOne(conditions: Partial<IRoomCache>, sortOptions?: SortOptions): Promise<IRoomCache> {
    if (conditions.roomId !== undefined || conditions.name === undefined) return super.findOne(conditions, sortOptions);
    const query = new Query<IRoomCache>(this.readNamed(conditions.name), conditions);
    if (sortOptions) query.sort(sortOptions);
    return query as unknown as Promise<IRoomCache>; // a thenable, as the stock driver returns
  }

  override async persist(room: IRoomCache): Promise<boolean> {
    if (!room.roomId) return false;
    this.countChanged.delete(room.roomId);
    const json = JSON.stringify(room);
    await this.redis.multi().hset(ALL_ROOMS, room.roomId, json).hset(roomsNamed(room.name), room.roomId, json).exec();
    return true;
  }

  override async update(
    room: IRoomCache,
    operations: Partial<{ $set: Partial<IRoomCache>; $inc: Partial<IRoomCache> }>,
  ): Promise<boolean> {
    const set = Object.entries(operations.$set ?? {});
    const inc = Object.entries(operations.$inc ?? {});
    // Colyseus sends `locked` with every count change, mostly unchanged.
    const onlyCount =
      set.every(([field, value]) => (room as any)[field] === value) && inc.every(([field]) => field === "clients");
    Object.assign(room, operations.$set ?? {});
    for (const [field, by] of inc) (room as any)[field] += by as number;
    if (!onlyCount) return this.persist(room);
    if (!room.roomId) return false;
    this.countChanged.set(room.roomId, room);
    this.countTimer ??= setTimeout(() => this.writeCounts(), COUNT_WRITE_DELAY_MS).unref();
    return true;
  }

  override async remove(roomId: string): Promise<boolean> {
    // A pending count write must not list the room again after it is gone.
    this.countChanged.delete(roomId);
    const raw = await this.redis.hget(ALL_ROOMS, roomId);
    if (!raw) return false;
    const { name } = JSON.parse(raw) as IRoomCache;
    await this.redis.multi().hdel(ALL_ROOMS, roomId).hdel(roomsNamed(name), roomId).exec();
    return true;
  }

  override async cleanup(processId: string): Promise<void> {
    const stale = await super.query({ processId });
    const multi = this.redis.multi();
    for (const room of stale) multi.hdel(ALL_ROOMS, room.roomId).hdel(roomsNamed(room.name), room.roomId);
    if (stale.length) await multi.exec();
  }

  override async shutdown(): Promise<void> {
    clearTimeout(this.countTimer);
    this.countTimer = undefined;
    await super.shutdown();
  }

  override async clear(): Promise<void> {
    const named = await this.redis.keys(`${ALL_ROOMS}:*`);
    await this.redis.del(ALL_ROOMS, ...named);
  }

  /** One transaction for every count change of the window (the stale ones a removal dropped are not in it). */
  private writeCounts() {
    this.countTimer = undefined;
    if (!this.countChanged.size) return;
    const multi = this.redis.multi();
    for (const room of this.countChanged.values()) {
      const json = JSON.stringify(room);
      multi.hset(ALL_ROOMS, room.roomId, json).hset(roomsNamed(room.name), room.roomId, json);
    }
    this.countChanged.clear();
    // A timer's failure must not end the process; the next change or re-announcement writes the listing again.
    multi.exec().catch((err) => logger.warn({ err }, "room driver: client counts not written"));
  }

  private readNamed(name: string): Promise<IRoomCache[]> {
    let read = this.reads.get(name);
    if (!read) {
      read = this.redis
        .hvals(roomsNamed(name))
        .then((values) => values.map((json) => initializeRoomCache(JSON.parse(json))))
        .finally(() => this.reads.delete(name));
      this.reads.set(name, read);
    }
    return read;
  }
}
