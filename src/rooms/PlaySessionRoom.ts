import { type AuthContext, type Client, CloseCode, logger, Room, ServerError } from "@colyseus/core";
import { Gauge } from "prom-client";
import type { PlaySession } from "../entities";
import { registry } from "../metrics";
import { AppError } from "../services/errors";
import type { EndReason, PlaySessionService, SessionGrant, StopResult } from "../services/play-sessions";
import type { RoomAnswer } from "../services/room-gateway";
import { authenticateRoomClient, type RoomAuth } from "./auth";
import { CREATOR, countCreation, matchmakeMethod, uncountCreation } from "./creation";
import { NoPayload, sendError, unknownMessage, validated } from "./messages";
import { inBackground } from "./background";
import { MessageRateLimiter } from "./rate-limit";
import { PlaySessionState } from "./schema/PlaySessionState";
import { Serial } from "./serial";
import { roomServices } from "./services";

interface CreateOptions {
  /** Set when POST /api/play/start created the session (server-side only: see onAuth). */
  sessionId?: string;
  /** The session's owner, set with `sessionId`. */
  userId?: string;
  /** Set when an SDK client creates the room to start a session itself. */
  gameId?: string;
  /** The client who created the room (set by onAuth). */
  [CREATOR]?: string;
}

/** Options only the server may pass: a client naming a session could attach a room to someone else's. */
const SERVER_ONLY = ["sessionId", "userId", CREATOR];

/**
 * The actor of one play session: it owns the session's timers (expiry after
 * two missed heartbeats, the billing tick) and serialises everything that
 * happens to the session. `heartbeat` and `stop` are the same methods whether
 * they arrive as room messages or as remote calls from the HTTP door.
 */
export class PlaySessionRoom extends Room<{ state: PlaySessionState }> {
  /**
   * Client requests only (server-side creates skip onAuth): a client creates
   * a room with `{gameId}` or joins its own by id; naming a session, or
   * `join`/`joinOrCreate` (which would pick any player's room), is refused.
   */
  static async onAuth(token: string, options: unknown, ctx: AuthContext): Promise<RoomAuth> {
    const auth = await authenticateRoomClient(token, options);
    const method = matchmakeMethod(ctx);
    if (method === "join" || method === "joinOrCreate") {
      throw new ServerError(400, "CREATE_OR_JOIN_BY_ID: create a play_session with {gameId}, or join yours by id");
    }
    const given = options && typeof options === "object" ? (options as Record<string, unknown>) : {};
    if (SERVER_ONLY.some((key) => key in given)) {
      throw new ServerError(403, "FORBIDDEN: clients start a session with {gameId} only");
    }
    if (method === "create") {
      if (typeof given.gameId !== "string") throw new ServerError(400, "INVALID_OPTIONS: gameId is required");
      await countCreation(ctx, given, auth.userId);
    }
    return auth;
  }
  maxClients = 1;
  state = new PlaySessionState();

  private play!: PlaySessionService;
  private session?: PlaySession;
  private gameId?: string;
  private expiry?: Delayed;
  private billingTick?: Delayed;
  private ending?: Promise<StopResult>;
  private creatorId?: string;
  private uncounted = false;
  /** One change at a time: heartbeats, ticks and stops never interleave. */
  private readonly serial = new Serial("play_session");

  /** Legit clients beat every HEARTBEAT_INTERVAL_SEC and stop once: anything faster is refused before any database work. */
  private readonly beatLimit = new MessageRateLimiter(3, 1);
  private readonly stopLimit = new MessageRateLimiter(2, 0.2);
  maxMessagesPerSecond = 20;

  messages = {
    heartbeat: validated("heartbeat", NoPayload, async (client) => {
      if (!this.beatLimit.take(client.sessionId)) {
        return sendError(client, "RATE_LIMITED", "Too many heartbeats", {
          seconds: this.beatLimit.retryAfterSec(client.sessionId),
        });
      }
      const answer = await this.heartbeat();
      if (answer.ok) client.send("session", { sessionId: this.state.sessionId, ...answer.value });
      else sendError(client, answer.code, answer.message, answer.params);
    }),
    stop: validated("stop", NoPayload, async (client) => {
      if (!this.stopLimit.take(client.sessionId)) {
        return sendError(client, "RATE_LIMITED", "Too many stops", {
          seconds: this.stopLimit.retryAfterSec(client.sessionId),
        });
      }
      const answer = await this.stop();
      if (!answer.ok) sendError(client, answer.code, answer.message, answer.params);
    }),
    "*": unknownMessage,
  };

  async onCreate(options: CreateOptions) {
    this.play = roomServices().play;
    this.creatorId = options[CREATOR];
    if (options.sessionId && options.userId) {
      const session = await this.play.attachRoom(options.sessionId, this.roomId, options.userId);
      if (session.status !== "live") throw new Error(`session ${options.sessionId} is not live`);
      this.adopt(session);
    } else if (typeof options.gameId === "string") {
      this.gameId = options.gameId; // the session starts when its player joins
    } else {
      throw new Error("play_session needs a sessionId or a gameId");
    }
  }

  async onJoin(client: Client, _options: unknown, auth: RoomAuth) {
    if (this.creatorId && this.creatorId !== auth.userId) {
      throw new ServerError(403, "FORBIDDEN: this is another player's room");
    }
    this.uncount(); // the creator took its seat: the room no longer counts under its cap
    if (!this.session && this.gameId) {
      try {
        this.adopt(await this.play.begin(auth.userId, this.gameId, this.roomId));
      } catch (err) {
        this.autoDispose = true;
        if (err instanceof AppError) throw new ServerError(err.status, `${err.code}: ${err.message}`);
        throw err;
      }
    }
    if (!this.session || this.session.userId !== auth.userId) {
      throw new ServerError(403, "FORBIDDEN: this is another player's session");
    }
    const grant = await this.play.beat(this.session.id);
    if (grant.ok) client.send("session", { sessionId: this.session.id, ...grant.grant });
    // A period started while joining and the wallet cannot pay it: end right after the join completes.
    else this.clock.setTimeout(() => this.serial.post(() => this.end("insufficient_funds", new Date())), 0);
  }

  /** Heartbeat (room message or HTTP): bill, record, roll the token, push expiry back. */
  heartbeat(): Promise<RoomAnswer<SessionGrant>> {
    return this.serial.run(async () => {
      if (!this.session || this.state.status !== "live") return ended();
      const now = new Date();
      const result = await this.play.beat(this.session.id, now);
      if (!result.ok) {
        await this.end("insufficient_funds", now);
        return {
          ok: false,
          status: 402,
          code: "INSUFFICIENT_FUNDS",
          message: "Out of tokens: the session ended",
          params: { context: "session" },
        };
      }
      this.state.lastHeartbeatAt = now.getTime();
      this.armExpiry(now);
      return { ok: true, value: result.grant };
    });
  }

  /** Stop (room message or HTTP): bill up to now and end. */
  stop(): Promise<RoomAnswer<StopResult>> {
    return this.serial.run(async () => {
      if (!this.session || this.state.status !== "live") return ended();
      return { ok: true, value: await this.end("stopped", new Date()) };
    });
  }

  async onDispose() {
    this.uncount();
    liveRooms.delete(this.roomId);
    // Shutdown or a crash of the process: the session ends as expired, billed to its last heartbeat.
    if (this.session && this.state.status === "live") {
      await this.play.finish(this.session.id, "expired", new Date(this.state.lastHeartbeatAt));
    }
  }

  /** The creator joined (or the room is gone): it no longer counts against their cap. */
  private uncount() {
    if (!this.creatorId || this.uncounted) return;
    this.uncounted = true;
    inBackground(uncountCreation(this.creatorId), "room creation uncount");
  }

  private adopt(session: PlaySession) {
    this.session = session;
    // The room lives until the session ends, connected or not (HTTP heartbeats); until then it
    // disposes like any room whose seat was not taken within the reservation time.
    this.autoDispose = false;
    liveRooms.add(this.roomId);
    Object.assign(this.state, {
      sessionId: session.id,
      gameId: session.gameId,
      status: "live",
      lastHeartbeatAt: session.lastHeartbeatAt.getTime(),
      charged: session.charged,
    });
    // Billing first: when a stalled event loop makes both timers due at once, the period is charged before expiry.
    if (session.pricePerPeriod > 0) this.armBillingTick();
    this.armExpiry(session.lastHeartbeatAt);
  }

  private armExpiry(from: Date) {
    const ttl = 2 * this.play.config.heartbeatIntervalSec * 1000;
    this.state.expiresAt = from.getTime() + ttl;
    this.expiry?.clear();
    this.expiry = this.clock.setTimeout(
      () => {
        this.serial.post(() => this.end("expired", new Date(this.state.lastHeartbeatAt)));
      },
      Math.max(0, this.state.expiresAt - Date.now()),
    );
  }

  /** Charges each new period as it starts, between heartbeats too. */
  private armBillingTick() {
    const period = this.play.config.billingPeriodSec * 1000;
    const elapsed = Date.now() - this.session!.startedAt.getTime();
    this.billingTick = this.clock.setTimeout(
      () => {
        this.serial.post(async () => {
          if (this.state.status !== "live") return;
          const paid = await this.play.settle(this.session!.id, new Date());
          if (!paid) return void (await this.end("insufficient_funds", new Date()));
          this.state.charged = (await this.play.load(this.session!.id))?.charged ?? this.state.charged;
          this.armBillingTick();
        });
      },
      period - (elapsed % period) + 5,
    );
  }

  /**
   * Graceful shutdown (SIGTERM): the session ends now, billed to its last
   * heartbeat (as after a crash: time after the last proof of play is not
   * charged), and the player gets `session:ended {reason:"shutdown"}` before
   * the close (4001). Stored as `expired`. Nothing here may throw: Colyseus
   * calls it outside the guarded hooks.
   */
  onBeforeShutdown() {
    this.serial.post(async () => {
      try {
        if (this.session && this.state.status === "live") {
          await this.end("expired", new Date(this.state.lastHeartbeatAt), "shutdown");
        }
      } catch (err) {
        logger.error({ err, roomId: this.roomId }, "play session could not end at shutdown; the stale sweep will");
        this.broadcast("session:ended", { reason: "shutdown", sessionId: this.state.sessionId });
      } finally {
        await this.disconnect(CloseCode.SERVER_SHUTDOWN);
      }
    });
  }

  /**
   * Ends the session once; later calls (a timer that was already due) get the
   * first ending. A failed ending (the database is down) leaves the session
   * live: a later stop or expiry tries again.
   */
  private end(reason: EndReason, billUntil: Date, announce: string = reason): Promise<StopResult> {
    this.ending ??= this.endOnce(reason, billUntil, announce).catch((err) => {
      this.ending = undefined;
      this.expiry = this.clock.setTimeout(
        () => this.serial.post(() => this.end("expired", new Date(this.state.lastHeartbeatAt))),
        END_RETRY_MS,
      );
      throw err;
    });
    return this.ending;
  }

  private async endOnce(reason: EndReason, billUntil: Date, announce: string): Promise<StopResult> {
    this.expiry?.clear();
    this.billingTick?.clear();
    const result = await this.play.finish(this.session!.id, reason, billUntil);
    this.state.status = reason;
    this.state.charged = result.charged;
    liveRooms.delete(this.roomId);
    this.broadcast("session:ended", { ...result, reason: announce });
    // Let the message reach the client, then close the room (at shutdown, the caller closes it).
    if (announce !== "shutdown") this.clock.setTimeout(() => void this.disconnect(), 50);
    return result;
  }
}

type Delayed = ReturnType<Room["clock"]["setTimeout"]>;

/** After a failed ending (an outage), the room tries again this much later. */
const END_RETRY_MS = 5_000;

const ended = (): RoomAnswer<never> => ({
  ok: false,
  status: 401,
  code: "SESSION_ENDED",
  message: "This play session has ended",
});

/** Rooms with a live session on this process. */
const liveRooms = new Set<string>();

new Gauge({
  name: "play_sessions_live",
  help: "Live play sessions hosted by this process (one room each)",
  registers: [registry],
  collect() {
    this.set(liveRooms.size);
  },
});
