import { type AuthContext, type Client, logger, Room, ServerError } from "@colyseus/core";
import { StateView } from "@colyseus/schema";
import { Counter } from "prom-client";
import { z } from "zod";
import { registry } from "../metrics";
import { AppError } from "../services/errors";
import type { LeaderboardService, RankedRecord } from "../services/leaderboards";
import { authenticateRoomClient, joinCheck, type RoomAuth } from "./auth";
import { inBackground } from "./background";
import { refuseCreate } from "./creation";
import { LeaderboardEntry, LeaderboardState, Standing } from "./schema/LeaderboardState";
import { roomServices } from "./services";

const TOP_SIZE = 10;
/** A burst of writes costs one refresh per interval: the first write of a burst refreshes at once, the rest after. */
const REFRESH_INTERVAL_MS = 100;
/**
 * The period timer wakes at least this often and compares the service clock with the period's end:
 * periods are wall-clock (cron in UTC) while room timers are monotonic, so a stepped clock (NTP,
 * or a test moving the service clock) is noticed, and no wait ever nears setTimeout's 24.8-day limit.
 */
const PERIOD_CHECK_MS = 1000;

const BoardId = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/)
  .max(64);

const refreshes = new Counter({
  name: "leaderboard_room_refreshes_total",
  help: "Leaderboard room refreshes (top 10 and every viewer's standing), after writes or a period rollover",
  registers: [registry],
});

interface Top {
  records: RankedRecord[];
  periodStart: string | null;
  periodEnd: string | null;
}
type StandingView = { rank: number; score: number };

/**
 * Every read the room makes of the leaderboard service, in one place: index-backed reads
 * (top with ranks, a batched rank lookup) replace these bodies without touching the room.
 */
function boardReads(service: LeaderboardService) {
  return {
    async exists(boardId: string): Promise<boolean> {
      return (await service.list()).some((b) => b.id === boardId);
    },
    top(boardId: string): Promise<Top> {
      return service.records(boardId, { limit: TOP_SIZE });
    },
    /** The users' standings in the period starting at `periodStart` (null: the board never resets). */
    async standings(boardId: string, userIds: string[], periodStart: string | null) {
      const records = await service.standings(boardId, userIds, periodStart ?? "current");
      return new Map<string, StandingView>(records.map((r) => [r.userId, { rank: r.rank, score: r.score }]));
    },
  };
}
type BoardReads = ReturnType<typeof boardReads>;

/**
 * One live board (filtered by `boardId`): the current period's top 10 for everyone, and each
 * client's own rank and score (`me`, visible to that client only). Writes on any process arrive
 * as `leaderboard.changed` domain events; a timer rolls the room over at the end of a period.
 * Clients send nothing.
 */
export class LeaderboardRoom extends Room<{ state: LeaderboardState; metadata: { boardId: string } }> {
  state = new LeaderboardState();
  private reads!: BoardReads;
  /** The service's clock (tests move it): periods are its wall-clock time. */
  private serviceClock!: { now(): Date };
  private boardId!: string;
  private unsubscribe = () => {};
  private refreshing = false;
  private dirty = false;
  private lastRefreshAt = -Infinity;
  private refreshTimer?: Delayed;
  /** Standing reads are numbered; a session keeps the newest one applied (a join's read may finish after a refresh's). */
  private readSeq = 0;
  private appliedSeq = new Map<string, number>();

  static async onAuth(token: string, options: unknown, ctx: AuthContext): Promise<RoomAuth> {
    refuseCreate(ctx, "leaderboard");
    const auth = await authenticateRoomClient(token, options);
    const boardId = boardIdOption(options);
    const exists = await joinCheck(() => boardReads(roomServices().leaderboards).exists(boardId));
    if (!exists) throw new ServerError(404, `LEADERBOARD_NOT_FOUND: No leaderboard ${boardId}`);
    return auth;
  }

  async onCreate(options: { boardId: string }) {
    const { leaderboards, events } = roomServices();
    this.reads = boardReads(leaderboards);
    this.serviceClock = leaderboards.clock;
    this.boardId = boardIdOption(options);
    this.state.boardId = this.boardId;
    // Subscribed before the first read, so no write falls between them; changes announced
    // during the read are marked and refreshed after it.
    this.refreshing = true;
    this.unsubscribe = await events.subscribe("leaderboard.changed", this.boardId, () => this.requestRefresh());
    try {
      this.applyTop(await joinCheck(() => this.reads.top(this.boardId)));
    } catch (err) {
      this.unsubscribe();
      throw err;
    } finally {
      this.refreshing = false;
    }
    if (this.dirty) this.requestRefresh();
    if (this.state.periodEnd) this.watchPeriod();
  }

  async onJoin(client: Client, _options: unknown, auth: RoomAuth) {
    // Before anything awaits: a refresh running meanwhile already counts this client.
    client.view = new StateView();
    const seq = ++this.readSeq;
    const periodStart = this.state.periodStart || null;
    const standings = await this.reads.standings(this.boardId, [auth.userId], periodStart);
    // The period moved meanwhile: the refresh that moved it also read this client's standing.
    if (periodStart !== (this.state.periodStart || null)) return;
    this.applyStanding(client, standings.get(auth.userId), seq);
  }

  onLeave(client: Client) {
    this.state.me.delete(client.sessionId);
    this.appliedSeq.delete(client.sessionId);
    // Frees the view's slot in the encoder now rather than at garbage collection.
    client.view?.dispose();
  }

  onDispose() {
    this.unsubscribe();
  }

  /** A write changed the board: refresh now, or once the interval since the last refresh has passed. */
  private requestRefresh() {
    this.dirty = true;
    if (this.refreshing || this.refreshTimer) return;
    const wait = this.lastRefreshAt + REFRESH_INTERVAL_MS - performance.now();
    if (wait <= 0) return void this.refresh();
    this.refreshTimer = this.clock.setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refresh();
    }, wait);
  }

  /** Top 10, the period, and every connected client's standing; one at a time, never throws. */
  private async refresh() {
    this.refreshing = true;
    this.dirty = false;
    this.lastRefreshAt = performance.now();
    refreshes.inc();
    try {
      const top = await this.reads.top(this.boardId);
      const rolledOver = this.applyTop(top);
      try {
        await this.refreshStandings(top);
      } finally {
        // Announced even if the standings failed: the period did move, and no later refresh would say so.
        if (rolledOver) this.announceRollover();
      }
    } catch (err) {
      if (err instanceof AppError && err.code === "LEADERBOARD_NOT_FOUND") {
        // The board was deleted: nothing left to show.
        logger.info({ boardId: this.boardId, roomId: this.roomId }, "leaderboard deleted; closing its room");
        inBackground(this.disconnect(), "leaderboard room close");
        return;
      }
      logger.error({ err, boardId: this.boardId, roomId: this.roomId }, "leaderboard room refresh failed");
    } finally {
      this.refreshing = false;
      if (this.dirty) this.requestRefresh();
    }
  }

  /** Sent after the patch: a client handling it already has the new period's state. */
  private announceRollover() {
    const { boardId, periodStart, periodEnd } = this.state;
    this.broadcast(
      "period:rollover",
      { boardId, periodStart: periodStart || null, periodEnd: periodEnd || null },
      { afterNextPatch: true },
    );
  }

  /** Sets the period and the top 10 (entries updated in place: unchanged rows cost no patch); true on a new period. */
  private applyTop({ records, periodStart, periodEnd }: Top): boolean {
    const rolledOver = this.state.periodStart !== "" && this.state.periodStart !== (periodStart ?? "");
    this.state.periodStart = periodStart ?? "";
    this.state.periodEnd = periodEnd ?? "";
    const top = this.state.top;
    records.forEach((record, i) => {
      const entry = top[i] ?? new LeaderboardEntry();
      entry.assign({ rank: record.rank, userId: record.userId, name: record.displayName, score: record.score });
      if (!top[i]) top.push(entry);
    });
    if (top.length > records.length) top.splice(records.length, top.length - records.length);
    return rolledOver;
  }

  /** Everyone's rank can move on any write: one read of all connected users (the top 10 already known). */
  private async refreshStandings(top: Top) {
    const seq = ++this.readSeq;
    const clients = new Set(this.clients);
    const known = new Map<string, StandingView>(top.records.map((r) => [r.userId, { rank: r.rank, score: r.score }]));
    const missing = [...new Set([...clients].map((c) => authOf(c).userId))].filter((id) => !known.has(id));
    const found = await this.reads.standings(this.boardId, missing, top.periodStart);
    for (const client of this.clients) {
      // Joined after this read started: its own join read covers it.
      if (!clients.has(client)) continue;
      const userId = authOf(client).userId;
      this.applyStanding(client, known.get(userId) ?? found.get(userId), seq);
    }
  }

  /** The client's `me`: present (and in its view only) while it has a record, absent otherwise. */
  private applyStanding(client: Client, standing: StandingView | undefined, seq: number) {
    const id = client.sessionId;
    if (!client.view || seq <= (this.appliedSeq.get(id) ?? 0)) return;
    this.appliedSeq.set(id, seq);
    const entry = this.state.me.get(id);
    if (!standing) {
      if (entry) this.state.me.delete(id);
      return;
    }
    if (entry) {
      entry.assign(standing);
      return;
    }
    const created = new Standing().assign(standing);
    this.state.me.set(id, created);
    client.view.add(created);
  }

  /**
   * Boards with resets: wakes at the period's end by the service clock (checking at least every
   * PERIOD_CHECK_MS), then asks for a refresh, which reads the new period and announces it. Past
   * the end it keeps asking every PERIOD_CHECK_MS until a refresh succeeds (the database may be down).
   */
  private watchPeriod() {
    const left = Date.parse(this.state.periodEnd) - this.serviceClock.now().getTime();
    if (left <= 0) this.requestRefresh();
    this.clock.setTimeout(() => this.watchPeriod(), left <= 0 ? PERIOD_CHECK_MS : Math.min(left, PERIOD_CHECK_MS));
  }
}

type Delayed = ReturnType<Room["clock"]["setTimeout"]>;

const authOf = (client: Client) => client.auth as RoomAuth;

function boardIdOption(options: unknown): string {
  const parsed = BoardId.safeParse((options as Record<string, unknown> | undefined)?.boardId);
  if (!parsed.success) throw new ServerError(400, "INVALID_BOARD: boardId must be a leaderboard id (a slug)");
  return parsed.data;
}
