import { initializeRoomCache, type IRoomCache, logger, type SortOptions } from "@colyseus/core";
import { RedisDriver } from "@colyseus/redis-driver";
import { Query } from "@colyseus/redis-driver/Query";
import type { Redis } from "ioredis";
import { logRedisErrors } from "./process-guard";

/** Colyseus's own key, kept whole: lookups by room id, process clean-up and other tools still use it. */
const ALL_ROOMS = "roomcaches";
const roomsNamed = (name: string) => `${ALL_ROOMS}:${name}`;

/**
 * Colyseus's RedisDriver keeps every room in one hash and answers every
 * join/joinOrCreate with HGETALL of that hash, parsed in JS: a queue join
 * costs O(all rooms), and with 500 live calls that is ~150 KB read per join,
 * which is what made matchmaking fall behind under load. This driver also
 * keeps one hash per room name and answers name-filtered lookups from it, so
 * a queue join reads the few queue rooms only. Written here because the
 * driver has no option for it; everything else is the stock driver.
 */
export class RoomNamePartitionedRedisDriver extends RedisDriver {
  private readonly redis: Redis;
  /** Concurrent lookups of one name share one read. */
  private readonly reads = new Map<string, Promise<IRoomCache[]>>();

  constructor(url: string) {
    super(url);
    // The stock driver's own connection (its private `_client`): one connection, and its ioredis copy.
    this.redis = (this as unknown as { _client: Redis })._client;
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
    const json = JSON.stringify(room);
    await this.redis.multi().hset(ALL_ROOMS, room.roomId, json).hset(roomsNamed(room.name), room.roomId, json).exec();
    return true;
  }

  override async update(
    room: IRoomCache,
    operations: Partial<{ $set: Partial<IRoomCache>; $inc: Partial<IRoomCache> }>,
  ): Promise<boolean> {
    Object.assign(room, operations.$set ?? {});
    for (const [field, by] of Object.entries(operations.$inc ?? {})) {
      (room as any)[field] += by as number;
    }
    return this.persist(room);
  }

  override async remove(roomId: string): Promise<boolean> {
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

  override async clear(): Promise<void> {
    const named = await this.redis.keys(`${ALL_ROOMS}:*`);
    await this.redis.del(ALL_ROOMS, ...named);
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
