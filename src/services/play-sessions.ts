import type { Presence } from "@colyseus/core";
import { Counter } from "prom-client";
import type { DataSource } from "typeorm";
import { Game, PlaySession, type PlaySessionStatus } from "../entities";
import { registry } from "../metrics";
import { AppError, conflict, forbidden, isUniqueViolation, notFound, unauthorized } from "./errors";
import { signSessionToken, verifySessionToken } from "./session-tokens";
import { type RoomAnswer, type RoomGateway, unwrapAnswer } from "./room-gateway";
import { SharedCache } from "./shared-cache";
import type { DomainEvents } from "./events";
import type { ProcessLeases } from "./process-leases";
import type { WalletService } from "./wallet";

export type EndReason = Exclude<PlaySessionStatus, "live">;

export interface PlayConfig {
  sessionSecret: string;
  sessionTtlSec: number;
  heartbeatIntervalSec: number;
  billingPeriodSec: number;
}

export interface SessionGrant {
  sessionToken: string;
  expiresAt: string;
}
export interface StartResult extends SessionGrant {
  sessionId: string;
  heartbeatIntervalSec: number;
  roomId: string;
}
export interface StopResult {
  sessionId: string;
  durationSec: number;
  charged: number;
}

/** A live session as the asset door needs it. */
export interface LiveSessionInfo {
  userId: string;
  gameId: string;
}

const started = new Counter({
  name: "play_sessions_started_total",
  help: "Play sessions started",
  registers: [registry],
});
const ended = new Counter({
  name: "play_sessions_ended_total",
  help: "Play sessions ended, by reason",
  labelNames: ["reason"] as const,
  registers: [registry],
});

export const PLAY_SESSION_ROOM = "play_session";

/**
 * Play sessions. The live phase of each session is one `play_session` room,
 * which owns its timers (heartbeat expiry, billing tick) and calls the
 * actor-side methods here; HTTP reaches the same room methods through the
 * room gateway, so start/heartbeat/stop have one implementation whichever door
 * they come through.
 */
export class PlaySessionService {
  /** sessionId → live info, or null once ended; invalidated on every process when a session ends. */
  readonly live: SharedCache<LiveSessionInfo | null>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly wallet: WalletService,
    private readonly rooms: RoomGateway,
    presence: Presence,
    readonly config: PlayConfig,
    private readonly leases: ProcessLeases,
    /** Announces `play.ended` to the rooms the session feeds. */
    private readonly events?: DomainEvents,
  ) {
    this.live = new SharedCache(presence, "arcadia:play-session", async (sessionId) => {
      const s = await this.dataSource.getRepository(PlaySession).findOne({ where: { id: sessionId } });
      return s && s.status === "live" ? { userId: s.userId, gameId: s.gameId } : null;
    });
  }

  // ---- HTTP door -------------------------------------------------------

  /** Creates the session (charging its first period) and its room. */
  async start(userId: string, gameId: string): Promise<StartResult> {
    const session = await this.begin(userId, gameId);
    let roomId: string;
    try {
      roomId = await this.rooms.create(PLAY_SESSION_ROOM, { sessionId: session.id, userId });
    } catch (err) {
      await this.finish(session.id, "expired", session.startedAt);
      throw new AppError(503, "ROOM_UNAVAILABLE", "Could not start the session; try again", undefined, undefined, {
        cause: err,
      });
    }
    return {
      sessionId: session.id,
      roomId,
      heartbeatIntervalSec: this.config.heartbeatIntervalSec,
      ...this.grant(session),
    };
  }

  /** Heartbeat through HTTP: reaches the session's room wherever it runs. */
  heartbeatByToken(sessionToken: string): Promise<SessionGrant> {
    return this.callRoom<SessionGrant>(sessionToken, "heartbeat");
  }

  stopByToken(sessionToken: string): Promise<StopResult> {
    return this.callRoom<StopResult>(sessionToken, "stop");
  }

  // ---- actor side: called by the play_session room -----------------------

  /**
   * Opens a session: one live session per user (409 naming it), and for paid
   * games the first period is charged in the same transaction (402 if short).
   * It belongs to this process until a room elsewhere attaches it.
   */
  async begin(userId: string, gameId: string, roomId?: string): Promise<PlaySession> {
    const game = await this.dataSource.getRepository(Game).findOne({ where: { id: gameId } });
    if (!game) throw notFound("No such game", "GAME_NOT_FOUND");
    const now = new Date();
    try {
      const session = await this.dataSource.transaction(async (m) => {
        const s = await m.save(
          m.create(PlaySession, {
            userId,
            gameId,
            roomId: roomId ?? null,
            processId: this.leases.processId,
            pricePerPeriod: game.pricePerMinute,
            startedAt: now,
            lastHeartbeatAt: now,
          }),
        );
        if (s.pricePerPeriod > 0) {
          await this.wallet.apply([this.periodCharge(s, 1)], m);
          s.periodsBilled = 1;
          s.charged = s.pricePerPeriod;
          await m.update(PlaySession, { id: s.id }, { periodsBilled: 1, charged: s.charged });
        }
        return s;
      });
      started.inc();
      return session;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const liveOne = await this.dataSource.getRepository(PlaySession).findOne({ where: { userId, status: "live" } });
      throw conflict("SESSION_ALREADY_LIVE", "You already have a live play session", { sessionId: liveOne?.id });
    }
  }

  async attachRoom(sessionId: string, roomId: string, ownerId: string): Promise<PlaySession> {
    const repo = this.dataSource.getRepository(PlaySession);
    // Only the owner's own session: the session id is public (the `sid` of signed asset URLs).
    await repo.update({ id: sessionId, userId: ownerId, status: "live" }, { roomId, processId: this.leases.processId });
    const session = await repo.findOne({ where: { id: sessionId } });
    if (!session || session.userId !== ownerId)
      throw forbidden("This is another player's session", "NOT_SESSION_OWNER");
    return session;
  }

  /**
   * Charges every period started by `until` that is not yet charged, one at a
   * time with its own idempotency key (session + period). False when the
   * wallet ran dry: the caller ends the session.
   */
  async settle(sessionId: string, until: Date): Promise<boolean> {
    return this.settleSession(
      await this.dataSource.getRepository(PlaySession).findOneOrFail({ where: { id: sessionId } }),
      until,
    );
  }

  private async settleSession(session: PlaySession, until: Date): Promise<boolean> {
    const sessionId = session.id;
    if (session.pricePerPeriod === 0) return true;
    const due = Math.floor((until.getTime() - session.startedAt.getTime()) / (this.config.billingPeriodSec * 1000)) + 1;
    for (let period = session.periodsBilled + 1; period <= due; period++) {
      try {
        const over = await this.dataSource.transaction(async (m) => {
          // An ended session bills nothing more (a sweep may have ended it while its room still ticks).
          const [row] = await m.query(`SELECT status FROM play_sessions WHERE id = $1 FOR UPDATE`, [sessionId]);
          if (row?.status !== "live") return true;
          const { replayed } = await this.wallet.apply([this.periodCharge(session, period)], m);
          if (replayed) return false;
          await m.query(
            `UPDATE play_sessions SET periods_billed = GREATEST(periods_billed, $2), charged = charged + $3 WHERE id = $1`,
            [sessionId, period, session.pricePerPeriod],
          );
          return false;
        });
        if (over) break;
      } catch (err) {
        if (err instanceof AppError && err.status === 402) return false;
        throw err;
      }
    }
    return true;
  }

  /** A heartbeat: bills elapsed time, records it, and rolls the token. */
  async beat(sessionId: string, now = new Date()): Promise<{ ok: true; grant: SessionGrant } | { ok: false }> {
    const repo = this.dataSource.getRepository(PlaySession);
    const session = await repo.findOneOrFail({ where: { id: sessionId } });
    if (!(await this.settleSession(session, now))) return { ok: false };
    await repo.update({ id: sessionId, status: "live" }, { lastHeartbeatAt: now });
    // The token carries only ids, which never change: no need to read the row again.
    return { ok: true, grant: this.grant(session) };
  }

  /**
   * Ends a live session: bills up to `billUntil` (now for a stop, the last
   * heartbeat for an expiry), records why, and makes its tokens useless on
   * every process at once. Ending twice answers the first ending.
   */
  async finish(sessionId: string, reason: EndReason, billUntil: Date): Promise<StopResult> {
    const repo = this.dataSource.getRepository(PlaySession);
    if (reason !== "insufficient_funds") await this.settle(sessionId, billUntil);
    const endedAt = new Date();
    const { affected } = await repo.update({ id: sessionId, status: "live" }, { status: reason, endedAt });
    if (affected) ended.inc({ reason });
    await this.live.invalidate(sessionId);
    const s = await repo.findOneOrFail({ where: { id: sessionId } });
    if (affected) await this.events?.publish("play.ended", sessionId, { sessionId, userId: s.userId, reason });
    return {
      sessionId,
      durationSec: Math.round(((s.endedAt ?? endedAt).getTime() - s.startedAt.getTime()) / 1000),
      charged: s.charged,
    };
  }

  load(sessionId: string): Promise<PlaySession | null> {
    return this.dataSource.getRepository(PlaySession).findOne({ where: { id: sessionId } });
  }

  /** Processes hosting live sessions. */
  async openProcessIds(): Promise<string[]> {
    const rows: Array<{ process_id: string }> = await this.dataSource.query(
      `SELECT DISTINCT process_id FROM play_sessions WHERE status = 'live' AND process_id IS NOT NULL`,
    );
    return rows.map((r) => r.process_id);
  }

  /**
   * Sessions whose process died (no room can expire them any more): closed as
   * expired, billed up to their last heartbeat. Rows from before process ids
   * were recorded are taken once they missed two heartbeats (plus a second).
   */
  async sweep(deadProcessIds: string[], now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - (2 * this.config.heartbeatIntervalSec + 1) * 1000);
    const stale = await this.dataSource
      .getRepository(PlaySession)
      .createQueryBuilder("s")
      .where("s.status = 'live'")
      .andWhere("(s.processId = ANY(:dead) OR (s.processId IS NULL AND s.lastHeartbeatAt < :cutoff))", {
        dead: deadProcessIds,
        cutoff,
      })
      .limit(500)
      .getMany();
    for (const s of stale) await this.finish(s.id, "expired", s.lastHeartbeatAt);
    return stale.length;
  }

  // ---- token door (assets) -------------------------------------------------

  /** A session token that is valid and whose session is still live (401 otherwise). */
  async authorize(sessionToken: string): Promise<LiveSessionInfo & { sessionId: string }> {
    const claims = verifySessionToken(this.config.sessionSecret, sessionToken);
    return this.authorizeSession(claims.sid);
  }

  async authorizeSession(sessionId: string): Promise<LiveSessionInfo & { sessionId: string }> {
    const info = await this.live.get(sessionId);
    if (!info) throw unauthorized("This play session has ended", "SESSION_ENDED");
    return { sessionId, ...info };
  }

  private async callRoom<T>(sessionToken: string, method: "heartbeat" | "stop"): Promise<T> {
    const { sid } = verifySessionToken(this.config.sessionSecret, sessionToken);
    const session = await this.load(sid);
    if (!session || session.status !== "live") throw unauthorized("This play session has ended", "SESSION_ENDED");
    if (!session.roomId) throw forbidden("The session has no room yet", "SESSION_NOT_READY");
    let answer: RoomAnswer<T>;
    try {
      answer = await this.rooms.call<RoomAnswer<T>>(session.roomId, method);
    } catch (err) {
      // Redis or the room's process is not answering right now: the session goes on, the client retries.
      if (err instanceof AppError && err.status === 503) throw err;
      // The room is gone (its process died): the session cannot continue.
      await this.finish(sid, "expired", session.lastHeartbeatAt);
      throw unauthorized("This play session has ended", "SESSION_ENDED");
    }
    return unwrapAnswer(answer);
  }

  private grant(session: PlaySession): SessionGrant {
    const { token, expiresAt } = signSessionToken(
      this.config.sessionSecret,
      { sid: session.id, sub: session.userId, gid: session.gameId },
      this.config.sessionTtlSec,
    );
    return { sessionToken: token, expiresAt: expiresAt.toISOString() };
  }

  private periodCharge(session: PlaySession, period: number) {
    return {
      userId: session.userId,
      delta: -session.pricePerPeriod,
      reason: "play",
      refType: "play_session",
      refId: session.id,
      idempotencyKey: `play:${session.id}:${period}`,
    };
  }
}
