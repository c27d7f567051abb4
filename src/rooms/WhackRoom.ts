import { type AuthContext, type Client, logger, Room, ServerError } from "@colyseus/core";
import { Counter, Gauge } from "prom-client";
import { z } from "zod";
import { registry } from "../metrics";
import type { DomainEvents } from "../services/events";
import type { GameService } from "../services/games";
import type { MessageParams } from "../services/i18n-messages";
import type { PlaySessionService } from "../services/play-sessions";
import type { WhackHit, WhackMode, WhackMole, WhackPlayerResult, WhackScore, WhackService } from "../services/whack";
import { WHACK_SEAT_TTL_SEC, type WhackSeats } from "../services/whack-seats";
import {
  HOLES,
  judge,
  judgedAt,
  type JudgedMole,
  LatencyEstimator,
  moleSchedule,
  WhackRateWindow,
} from "../services/whack-rules";
import { authenticateRoomClient, joinCheck, type RoomAuth } from "./auth";
import { inBackground } from "./background";
import { NoPayload, sendError, unknownMessage } from "./messages";
import { MessageRateLimiter } from "./rate-limit";
import { WhackPlayerState, WhackState } from "./schema/WhackState";
import { roomServices } from "./services";

const Mode = z.enum(["solo", "versus"]);
const JoinOptions = z.object({ mode: Mode, sessionToken: z.string().min(1).max(4096) });
/** `moleId` may be null or left out to swing at a hole: judged against the last mole that hole showed. */
const Whack = z.strictObject({
  hole: z
    .number()
    .int()
    .min(0)
    .max(HOLES - 1),
  moleId: z.number().int().min(1).max(1_000_000).nullish(),
});
const Ping = z.strictObject({ t: z.number().finite() });

export const WHACK_GAME_SLUG = "whack";
const COUNTDOWN_MS = 3_000;
/** Versus: the round starts this long after the second player joined, ready or not. */
const VERSUS_AUTOSTART_MS = 10_000;
/** Spawned moles and hits reach storage at most this late (write-behind). */
const FLUSH_MS = 250;
/** Players' miss counts alone (no new flag or end) are written behind at most this often. */
const PLAYERS_FLUSH_MS = 2_000;
/** After `round:end`, clients get this long to read it before the room closes. */
const CLOSE_AFTER_END_MS = 1_000;
const FINISH_ATTEMPTS = 3;

/** Set once at start from the configuration (arena.config.ts). */
let settings = { roundSec: 60, reconnectSec: 10 };
export function configureWhackRoom(s: { roundSec: number; reconnectSec: number }): void {
  settings = s;
}

/** What a whack client carries as `client.auth`: the user and the play session that admitted them. */
export interface WhackAuth extends RoomAuth {
  playSessionId: string;
}

type Phase = "waiting" | "countdown" | "playing" | "ended";
type Delayed = ReturnType<Room["clock"]["setTimeout"]>;

/** A player's server-side seat: what the state does not show. */
interface Seat {
  userId: string;
  displayName: string;
  playSessionId: string;
  sessionId: string;
  /** away: dropped, may still reconnect; ended: left, or their play session ended. */
  status: "active" | "away" | "ended";
  endReason: string | null;
  flags: Set<string>;
  rate: WhackRateWindow;
  latency: LatencyEstimator;
  unsubscribe?: () => void;
  /** The play session's claim on this room (WhackSeats), held until the player leaves. */
  claimed: boolean;
}

interface ScheduledMole extends JudgedMole {
  hitAt?: number;
}

/**
 * One whack-a-mole round (filtered by `mode`: solo or versus): the server owns
 * the clock, the seeded mole schedule and every judgement; clients only see
 * moles already up and send whacks. Storage is write-behind through
 * WhackService; `round:end` (with the seed) goes out after the round is stored.
 */
export class WhackRoom extends Room<{ state: WhackState; metadata: { mode: WhackMode } }> {
  static async onAuth(token: string, options: unknown, _ctx: AuthContext): Promise<WhackAuth> {
    const auth = await authenticateRoomClient(token, options);
    const parsed = JoinOptions.safeParse(options);
    if (!parsed.success) {
      throw new ServerError(400, "INVALID_OPTIONS: join with {mode: solo|versus, sessionToken}");
    }
    const { play, games } = roomServices();
    const session = await joinCheck(() => play.authorize(parsed.data.sessionToken));
    if (session.userId !== auth.userId) {
      throw new ServerError(403, "FOREIGN_SESSION: this play session belongs to another user");
    }
    if (session.gameId !== (await whackGameId(games))) {
      throw new ServerError(403, "WRONG_GAME: this play session is not for the whack game");
    }
    return { ...auth, playSessionId: session.sessionId };
  }

  state = new WhackState();
  /** Honest clients whack ≤ 20/s and ping a few times a second; the 20/s rule is judged per whack below. */
  maxMessagesPerSecond = 50;

  private mode: WhackMode = "solo";
  private whack!: WhackService;
  private play!: PlaySessionService;
  private events!: DomainEvents;
  private seatClaims!: WhackSeats;
  private readonly seats = new Map<string, Seat>();
  /** Users whose join is between its checks and its seat. */
  private readonly joining = new Set<string>();
  private readonly pingLimit = new MessageRateLimiter(10, 10);
  private round?: { roundId: string; seed: string; seedHash: string };
  private schedule: ScheduledMole[] = [];
  private nextSpawn = 0;
  private readonly spawned = new Map<number, ScheduledMole>();
  private readonly hits: WhackHit[] = [];
  /** Index into `schedule` / `hits` of what storage already has. */
  private flushed = { moles: 0, hits: 0 };
  private lastFlushAt = 0;
  private flushedPlayers = "";
  private flushedStanding = "";
  private playersFlushedAt = 0;
  private writing = false;
  /** Storage writes, in order; each link catches its own failure. */
  private storage: Promise<void> = Promise.resolve();
  private stored = true;
  private autostart?: Delayed;
  private ending?: Promise<void>;

  messages = {
    ready: (client: Client, payload: unknown) => {
      if (!NoPayload.safeParse(payload).success) {
        return sendError(client, "BAD_MESSAGE", "ready takes no payload", { type: "ready" });
      }
      const seat = this.seatOf(client);
      if (this.phase !== "waiting" || !seat || seat.status === "ended") {
        return sendError(client, "NOT_WAITING", "The round has started");
      }
      this.state.players.get(seat.userId)!.ready = true;
      this.maybeStart();
    },
    whack: (client: Client, payload: unknown) => {
      const parsed = Whack.safeParse(payload);
      if (!parsed.success) return refuse(client, "BAD_MESSAGE", "whack {hole: 0..8, moleId}", { type: "whack" });
      this.judgeWhack(client, parsed.data.hole, parsed.data.moleId ?? undefined);
    },
    ping: (client: Client, payload: unknown) => {
      const parsed = Ping.safeParse(payload);
      if (!parsed.success) return sendError(client, "BAD_MESSAGE", "ping {t: number}", { type: "ping" });
      const seat = this.seatOf(client);
      if (!seat) return;
      if (!this.pingLimit.take(client.sessionId)) {
        return sendError(client, "RATE_LIMITED", "Too many pings", {
          seconds: this.pingLimit.retryAfterSec(client.sessionId),
        });
      }
      seat.latency.received(parsed.data.t, Date.now());
      const serverTime = Date.now();
      client.send("pong", { t: parsed.data.t, serverTime });
      seat.latency.sent(serverTime);
    },
    "*": unknownMessage,
  };

  async onCreate(options: { mode?: unknown }) {
    const services = roomServices();
    this.whack = services.whack;
    this.play = services.play;
    this.events = services.events;
    this.seatClaims = services.whackSeats;
    this.mode = Mode.catch("solo").parse(options?.mode);
    this.maxClients = this.mode === "solo" ? 1 : 4;
    rooms.add(this);
    // Every clock tick (the patch rate): moles spawn and go down on time, progress is flushed.
    this.clock.setInterval(() => this.tick(), 10);
    // Well within the claim's TTL: two refreshes may fail before a live seat lapses.
    this.clock.setInterval(() => this.refreshClaims(), (WHACK_SEAT_TTL_SEC * 1000) / 3);
  }

  async onJoin(client: Client, _options: unknown, auth: WhackAuth) {
    if (this.phase !== "waiting") throw new ServerError(409, "ROUND_STARTED: this round has started");
    if (this.seats.has(auth.userId) || this.joining.has(auth.userId)) {
      throw new ServerError(409, "ALREADY_JOINED: you are in this room already");
    }
    const seat: Seat = {
      userId: auth.userId,
      displayName: auth.displayName,
      playSessionId: auth.playSessionId,
      sessionId: client.sessionId,
      status: "active",
      endReason: null,
      flags: new Set(),
      rate: new WhackRateWindow(),
      latency: new LatencyEstimator(),
      claimed: false,
    };
    // Seated only once every check passed: a round starting meanwhile never counts a half-joined player.
    this.joining.add(auth.userId);
    try {
      // One whack room per play session, across processes.
      seat.claimed = await this.seatClaims.claim(seat.playSessionId, this.roomId);
      if (!seat.claimed) {
        throw new ServerError(409, "SESSION_IN_USE: this play session is seated in another whack room");
      }
      seat.unsubscribe = await this.events.subscribe("play.ended", seat.playSessionId, ({ reason }) =>
        this.sessionEnded(seat, reason),
      );
      // The session may have ended between the join check and the subscription.
      await joinCheck(() => this.play.authorizeSession(seat.playSessionId));
      // A versus round may have started while this join awaited.
      if (this.phase !== "waiting") throw new ServerError(409, "ROUND_STARTED: this round has started");
    } catch (err) {
      seat.unsubscribe?.();
      this.releaseClaim(seat);
      throw err;
    } finally {
      this.joining.delete(auth.userId);
    }
    this.seats.set(auth.userId, seat);
    this.state.players.set(
      auth.userId,
      new WhackPlayerState().assign({ userId: auth.userId, name: auth.displayName, ready: false }),
    );
    if (this.mode === "versus" && this.activeSeats().length === 2 && !this.autostart) {
      this.autostart = this.clock.setTimeout(() => {
        this.autostart = undefined;
        if (this.phase === "waiting" && this.activeSeats().length >= 2) this.start();
      }, VERSUS_AUTOSTART_MS);
    }
  }

  async onDrop(client: Client) {
    const seat = this.seatOf(client);
    if (!seat || this.phase === "ended") return;
    if (seat.status === "active") seat.status = "away";
    // Rejected when the time is up: Colyseus then calls onLeave.
    await this.allowReconnection(client, settings.reconnectSec).catch(() => {});
  }

  onReconnect(client: Client) {
    const seat = this.seatOf(client);
    if (seat?.status === "away") seat.status = "active";
  }

  onLeave(client: Client) {
    const seat = this.seatOf(client);
    if (!seat) return;
    this.releaseClaim(seat);
    if (this.phase === "waiting") {
      seat.unsubscribe?.();
      this.seats.delete(seat.userId);
      this.state.players.delete(seat.userId);
      if (this.activeSeats().length < 2) {
        this.autostart?.clear();
        this.autostart = undefined;
      }
      this.maybeStart();
      return;
    }
    if (seat.status !== "ended") {
      seat.status = "ended";
      seat.endReason ??= "left";
    }
    this.endIfNobodyPlays();
  }

  async onDispose() {
    rooms.delete(this);
    // Disposed mid-round (shutdown): store what happened; crash recovery covers a process that dies.
    if (this.phase === "countdown" || this.phase === "playing") this.end("shutdown");
    await this.ending;
    for (const seat of this.seats.values()) {
      seat.unsubscribe?.();
      this.releaseClaim(seat);
    }
  }

  private get phase(): Phase {
    return this.state.phase as Phase;
  }

  private seatOf(client: Client): Seat | undefined {
    const seat = this.seats.get((client.auth as WhackAuth | undefined)?.userId ?? "");
    return seat;
  }

  /** Frees the seat's play session for another whack room (never throws: a lapsed claim frees itself). */
  private releaseClaim(seat: Seat) {
    if (!seat.claimed) return;
    seat.claimed = false;
    inBackground(this.seatClaims.release(seat.playSessionId, this.roomId), "whack seat release");
  }

  /** Keeps the seated sessions' claims alive; one lost meanwhile (e.g. Redis restarted) is taken again. */
  private refreshClaims() {
    for (const seat of this.seats.values()) {
      if (seat.claimed) inBackground(this.renewClaim(seat), "whack seat refresh");
    }
  }

  private async renewClaim(seat: Seat) {
    if (await this.seatClaims.refresh(seat.playSessionId, this.roomId)) return;
    // Released meanwhile (the player left): nothing to take again.
    if (!seat.claimed) return;
    if (!(await this.seatClaims.claim(seat.playSessionId, this.roomId))) {
      logger.warn({ roomId: this.roomId, userId: seat.userId }, "whack seat claim lost to another room");
    } else if (!seat.claimed) {
      await this.seatClaims.release(seat.playSessionId, this.roomId);
    }
  }

  private activeSeats() {
    return [...this.seats.values()].filter((s) => s.status !== "ended");
  }

  /** Solo starts on `ready`; versus once every player (≥ 2) is ready. */
  private maybeStart() {
    if (this.phase !== "waiting") return;
    const seats = this.activeSeats();
    const allReady = seats.length > 0 && seats.every((s) => this.state.players.get(s.userId)?.ready);
    if (allReady && (this.mode === "solo" || seats.length >= 2)) this.start();
  }

  private start() {
    this.autostart?.clear();
    this.autostart = undefined;
    inBackground(this.lock(), "whack room lock");
    let round: { roundId: string; seed: string; seedHash: string };
    try {
      round = this.whack.newRound(this.mode);
    } catch (err) {
      logger.error({ err, roomId: this.roomId }, "whack round could not be created");
      for (const client of this.clients) sendError(client, "UNAVAILABLE", "The round could not start; try again");
      this.state.phase = "ended";
      this.clock.setTimeout(() => void this.disconnect(), CLOSE_AFTER_END_MS);
      return;
    }
    this.round = round;
    const startsAt = Date.now() + COUNTDOWN_MS;
    const roundMs = settings.roundSec * 1000;
    this.schedule = moleSchedule(round.seed, roundMs).map((m) => ({
      moleId: m.moleId,
      hole: m.hole,
      kind: m.kind,
      spawnAt: startsAt + m.spawnOffsetMs,
      despawnAt: startsAt + m.despawnOffsetMs,
    }));
    Object.assign(this.state, {
      roundId: round.roundId,
      seedHash: round.seedHash,
      phase: "countdown",
      startsAt,
      endsAt: startsAt + roundMs,
    });
    const players = [...this.seats.values()].map((s) => ({
      userId: s.userId,
      displayName: s.displayName,
      playSessionId: s.playSessionId,
    }));
    this.stored = false;
    this.write(async () => {
      await this.whack.startRound({ ...round, mode: this.mode, startedAt: new Date(startsAt), players });
      this.stored = true;
    }, "whack round start");
    roundsStarted.inc({ mode: this.mode });
  }

  private tick() {
    const now = Date.now();
    if (this.phase === "countdown" && now >= this.state.startsAt) this.state.phase = "playing";
    if (this.phase !== "playing") return;
    while (this.nextSpawn < this.schedule.length && this.schedule[this.nextSpawn].spawnAt <= now) {
      const mole = this.schedule[this.nextSpawn++];
      this.spawned.set(mole.moleId, mole);
      if (mole.despawnAt > now) {
        this.state.holes[mole.hole].assign({
          moleId: mole.moleId,
          kind: mole.kind,
          spawnAt: mole.spawnAt,
          despawnAt: mole.despawnAt,
        });
      }
    }
    for (const hole of this.state.holes) {
      if (hole.moleId && hole.despawnAt <= now) clearHole(hole);
    }
    if (now - this.lastFlushAt >= FLUSH_MS) this.flush(now);
    if (now >= this.state.endsAt) this.end("time_up");
  }

  private judgeWhack(client: Client, hole: number, moleId: number | undefined) {
    const seat = this.seatOf(client);
    if (this.phase !== "playing" || !seat || seat.status === "ended") {
      return refuse(client, "NOT_PLAYING", "No round is being played");
    }
    const now = Date.now();
    if (!seat.rate.take(now)) {
      seat.flags.add("rate");
      return refuse(client, "RATE_LIMITED", "More than 20 whacks a second", { seconds: 1 });
    }
    const mole = moleId === undefined ? this.lastMoleIn(hole) : this.spawned.get(moleId);
    const at = judgedAt(now, seat.latency.oneWayMs());
    // A swing at a hole names no mole: a hole whose last mole is gone (or never came) is empty.
    const swing = moleId === undefined && (!mole || mole.hitBy);
    const verdict = swing ? ({ outcome: "MISS" } as const) : judge(mole, hole, at);
    const player = this.state.players.get(seat.userId)!;
    if (verdict.outcome !== "hit") {
      if (verdict.outcome === "MISS") player.misses++;
      return refuse(client, verdict.outcome, MESSAGES[verdict.outcome]);
    }
    const hit = mole!;
    hit.hitBy = seat.userId;
    hit.hitAt = at;
    if (verdict.tooFast) seat.flags.add("reaction");
    this.hits.push({ moleId: hit.moleId, userId: seat.userId, at: new Date(at), points: verdict.points });
    player.score += verdict.points;
    player.hits++;
    if (this.state.holes[hit.hole].moleId === hit.moleId) clearHole(this.state.holes[hit.hole]);
    whacks.inc({ outcome: "hit" });
    this.broadcast("hit", { moleId: hit.moleId, userId: seat.userId, points: verdict.points });
  }

  /** The latest mole spawned in `hole` (for a whack that names no mole). */
  private lastMoleIn(hole: number): ScheduledMole | undefined {
    for (let i = this.nextSpawn - 1; i >= 0; i--) if (this.schedule[i].hole === hole) return this.schedule[i];
    return undefined;
  }

  /** The player's play session ended (stop, expiry, no funds): their round ends; solo rounds end. */
  private sessionEnded(seat: Seat, sessionReason: string) {
    if (seat.status === "ended" || this.phase === "ended") return;
    seat.status = "ended";
    seat.endReason = "session_ended";
    const client = this.clients.find((c) => c.sessionId === seat.sessionId);
    client?.send("ended", { reason: "session_ended", session: sessionReason });
    if (this.phase === "waiting") {
      // Not playing yet: the seat goes (onLeave removes it).
      this.clock.setTimeout(() => client?.leave(), 100);
      return;
    }
    this.endIfNobodyPlays();
  }

  private endIfNobodyPlays() {
    if (this.phase !== "countdown" && this.phase !== "playing") return;
    if (this.activeSeats().length) return;
    const all = [...this.seats.values()];
    this.end(all.every((s) => s.endReason === "session_ended") ? "session_ended" : "all_left");
  }

  /** Each player's misses, flags and end so far (stored with the progress: a crash keeps them). */
  private results(): WhackPlayerResult[] {
    return [...this.seats.values()].map((s) => ({
      userId: s.userId,
      misses: this.state.players.get(s.userId)?.misses ?? 0,
      flags: [...s.flags],
      endReason: s.status === "ended" ? s.endReason : null,
    }));
  }

  /** Sends new moles and hits to storage (write-behind; never awaited by a handler). */
  private flush(now: number) {
    // One write in flight at a time: what arrives meanwhile goes with the next one (fewer, larger transactions).
    if (this.writing) return;
    this.lastFlushAt = now;
    const moles = this.schedule.slice(this.flushed.moles, this.nextSpawn);
    const hits = this.hits.slice(this.flushed.hits);
    const players = this.results();
    // Flags and ends go at once; misses alone ride along at most every PLAYERS_FLUSH_MS.
    const standing = JSON.stringify(players.map((p) => [p.flags, p.endReason]));
    const sendPlayers =
      standing !== this.flushedStanding ||
      (now - this.playersFlushedAt >= PLAYERS_FLUSH_MS && JSON.stringify(players) !== this.flushedPlayers);
    if (!moles.length && !hits.length && !sendPlayers) return;
    this.flushed = { moles: this.nextSpawn, hits: this.hits.length };
    if (sendPlayers) {
      this.flushedStanding = standing;
      this.flushedPlayers = JSON.stringify(players);
      this.playersFlushedAt = now;
    }
    const roundId = this.round!.roundId;
    this.writing = true;
    this.write(
      () => this.whack.recordProgress(roundId, moles.map(toMole), hits, sendPlayers ? players : undefined),
      "whack progress",
    );
    this.storage = this.storage.finally(() => (this.writing = false));
  }

  private write(task: () => Promise<void>, what: string) {
    this.storage = this.storage.then(task).catch((err) => logger.error({ err, roomId: this.roomId }, `${what} failed`));
  }

  /** Ends the round once: stored first, then `round:end` with the seed, then the room closes. */
  private end(reason: string) {
    if (this.ending || !this.round) return;
    this.state.phase = "ended";
    this.state.holes.forEach(clearHole);
    this.ending = this.finish(reason, this.round).catch((err) =>
      logger.error({ err, roomId: this.roomId }, "whack round end failed"),
    );
  }

  private async finish(reason: string, round: { roundId: string; seed: string }) {
    const endedAt = new Date();
    const moles = this.schedule.slice(0, this.nextSpawn).map(toMole);
    const players = this.results();
    await this.storage;
    let scores: WhackScore[] | undefined;
    for (let attempt = 1; !scores && attempt <= FINISH_ATTEMPTS && this.stored; attempt++) {
      try {
        // Everything again (writes are idempotent): nothing depends on which flush made it.
        scores = await this.whack.finishRound(round.roundId, { endedAt, reason, moles, hits: this.hits, players });
      } catch (err) {
        logger.error({ err, roomId: this.roomId, attempt }, "whack round could not be stored");
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
    if (scores) this.broadcast("round:end", { roundId: round.roundId, seed: round.seed, scores, reason });
    else for (const client of this.clients) sendError(client, "UNAVAILABLE", "The round result is not stored yet");
    this.clock.setTimeout(() => void this.disconnect(), CLOSE_AFTER_END_MS);
  }
}

const MESSAGES = {
  MISS: "Nothing was up in that hole",
  ALREADY_HIT: "That mole was already hit",
  UNKNOWN_MOLE: "No such mole is up",
  WRONG_HOLE: "That mole is in another hole",
} as const;

/** An `error {code}` reply to a whack, counted by outcome. */
function refuse(client: Client, code: string, message: string, params?: MessageParams) {
  whacks.inc({ outcome: code.toLowerCase() });
  sendError(client, code, message, params);
}

function clearHole(hole: WhackState["holes"][number]) {
  hole.assign({ moleId: 0, kind: "", spawnAt: 0, despawnAt: 0 });
}

const toMole = (m: ScheduledMole): WhackMole => ({
  moleId: m.moleId,
  hole: m.hole,
  kind: m.kind,
  spawnAt: new Date(m.spawnAt),
  despawnAt: new Date(m.despawnAt),
});

/** The whack game's id never changes once found; a lookup that fails is tried again next join. */
let gameId: Promise<string> | undefined;
function whackGameId(games: GameService): Promise<string> {
  gameId ??= games.findBySlug(WHACK_GAME_SLUG).then((game) => {
    if (!game) throw new ServerError(503, "GAME_UNAVAILABLE: the whack game is not installed");
    return game.id;
  });
  gameId.catch(() => (gameId = undefined));
  return gameId;
}

const whacks = new Counter({
  name: "whack_whacks_total",
  help: "Whacks judged, by outcome (hit, miss, already_hit, unknown_mole, wrong_hole, rate_limited, not_playing, bad_message)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});
const roundsStarted = new Counter({
  name: "whack_rounds_started_total",
  help: "Whack rounds started, by mode",
  labelNames: ["mode"] as const,
  registers: [registry],
});

/** Whack rooms on this process. */
const rooms = new Set<WhackRoom>();
new Gauge({
  name: "whack_rooms",
  help: "Whack rooms on this process, by phase",
  labelNames: ["phase"] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const room of rooms) this.inc({ phase: (room.state as WhackState).phase });
  },
});
