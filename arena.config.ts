import { defineRoom, defineServer, type Presence, type Server } from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";
import type { Api } from "./src/http/api";
import { configureHttp, type HttpDependencies } from "./src/http/app";
import { guardCloseReasons } from "./src/rooms/close-reason";
import { guardRoom } from "./src/rooms/guard";
import { LeaderboardRoom } from "./src/rooms/LeaderboardRoom";
import { LobbyRoom } from "./src/rooms/LobbyRoom";
import { MatchChatRoom } from "./src/rooms/MatchChatRoom";
import { MatchQueueRoom } from "./src/rooms/MatchQueueRoom";
import type { RoomNamePartitionedRedisDriver } from "./src/redis-room-driver";
import { PlaySessionRoom } from "./src/rooms/PlaySessionRoom";
import { StreamRoom } from "./src/rooms/StreamRoom";
import { VideoCallRoom } from "./src/rooms/VideoCallRoom";
import { configureWhackRoom, WhackRoom } from "./src/rooms/WhackRoom";
import { setRoomServices } from "./src/rooms/services";

export interface ServerOptions {
  /** Colyseus installs SIGTERM/SIGINT handlers and exits when done (off in tests). */
  gracefullyShutdown: boolean;
  /** Shared with the services (auth-state invalidation): Redis-backed when REDIS_URL is set. */
  presence: Presence;
  /** Receives the HTTP API once Express is configured (tests read its registry). */
  onHttpReady?: (api: Api) => void;
}

/**
 * The server definition: rooms, the Express side app, and the presence/driver
 * choice (Redis when REDIS_URL is set, in-process otherwise).
 */
export function createServer(deps: HttpDependencies, options: ServerOptions): Server {
  const { config, logger } = deps;
  const redisUrl = config.REDIS_URL;
  setRoomServices(deps.services, {
    seatReservationSec: config.ROOM_SEAT_RESERVATION_SEC,
    createCap: config.ROOM_CREATE_CAP,
  });
  configureWhackRoom({ roundSec: config.WHACK_ROUND_SEC, reconnectSec: config.WHACK_RECONNECT_SEC });
  guardCloseReasons();
  // SDP offers exceed the 4 KB default; handlers enforce the real per-type limits.
  const transport = new WebSocketTransport({ maxPayload: 64 * 1024 });
  return defineServer({
    rooms: {
      // Every room goes through guardRoom: no client message, timer or hook can end the process.
      lobby: defineRoom(guardRoom(LobbyRoom)),
      play_session: defineRoom(guardRoom(PlaySessionRoom)),
      match_queue: defineRoom(guardRoom(MatchQueueRoom)).filterBy(["region", "language"]),
      video_call: defineRoom(guardRoom(VideoCallRoom)),
      match_chat: defineRoom(guardRoom(MatchChatRoom)).filterBy(["matchId"]),
      stream: defineRoom(guardRoom(StreamRoom)).filterBy(["streamId"]).enableRealtimeListing(),
      leaderboard: defineRoom(guardRoom(LeaderboardRoom)).filterBy(["boardId"]),
      whack: defineRoom(guardRoom(WhackRoom)).filterBy(["mode"]).enableRealtimeListing(),
    },
    express: (app) => {
      const api = configureHttp(app, deps, transport.server);
      options.onHttpReady?.(api);
    },
    transport,
    presence: options.presence,
    driver: redisUrl ? new (redisRoomDriver())(redisUrl) : undefined,
    publicAddress: config.PUBLIC_ADDRESS,
    logger: logger.child({ module: "colyseus" }),
    greet: false,
    gracefullyShutdown: options.gracefullyShutdown,
  });
}

/** Required only with REDIS_URL: an embedded start never loads the Redis driver and its client. */
function redisRoomDriver(): typeof RoomNamePartitionedRedisDriver {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require("./src/redis-room-driver") as typeof import("./src/redis-room-driver"))
    .RoomNamePartitionedRedisDriver;
}
