import { matchMaker } from "@colyseus/core";
import type { RoomGateway } from "../services/room-gateway";
import { isUnavailable, unavailable, withTimeout } from "../services/unavailable";

export interface GatewayOptions {
  /** Bound on a call to a room (Colyseus gives up on a silent remote room after 2 s: above that). */
  callTimeoutMs: number;
  /** Bound on creating a room (a remote attempt, then possibly a local one). */
  createTimeoutMs: number;
  /** Resolves when Redis answers: tells "the room is gone" from "Redis is not answering". */
  probeRedis?: () => Promise<unknown>;
}

const DEFAULTS: GatewayOptions = { callTimeoutMs: 3_000, createTimeoutMs: 8_000 };
const PROBE_TIMEOUT_MS = 1_000;

/**
 * The services' way to create rooms and call them on whatever process hosts
 * them, bounded in time. Colyseus's IPC request never settles when Redis is
 * down or hung (its failed `presence.subscribe` escapes as an unhandled
 * rejection instead), so without a bound an HTTP request would hang. A call
 * that times out or fails on a dependency becomes 503 UNAVAILABLE; a remote
 * room that does not answer while Redis does keeps Colyseus's own error
 * (the room is gone, its process died).
 */
export function createMatchMakerGateway(options: Partial<GatewayOptions> = {}): RoomGateway {
  const { callTimeoutMs, createTimeoutMs, probeRedis } = { ...DEFAULTS, ...options };
  const redisAnswers = async () => {
    if (!probeRedis) return true;
    return withTimeout(probeRedis(), PROBE_TIMEOUT_MS, "Redis").then(
      () => true,
      () => false,
    );
  };
  return {
    async create(roomName, roomOptions) {
      try {
        const room = await withTimeout(matchMaker.createRoom(roomName, roomOptions), createTimeoutMs, "room creation");
        return room.roomId;
      } catch (err) {
        throw isUnavailable(err) ? unavailable() : err;
      }
    },
    async call<T>(roomId: string, method: string, args?: unknown[]) {
      try {
        return (await withTimeout(
          matchMaker.remoteRoomCall(roomId, method as never, args),
          callTimeoutMs,
          `room ${method}`,
        )) as T;
      } catch (err) {
        if (isUnavailable(err)) throw unavailable();
        // Colyseus's timeout: the room's process is gone, or Redis swallowed the request.
        if (!matchMaker.getLocalRoomById(roomId) && !(await redisAnswers())) throw unavailable();
        throw err;
      }
    },
  };
}

/** The gateway with default bounds and no Redis probe (embedded mode, tests). */
export const matchMakerGateway: RoomGateway = createMatchMakerGateway();
