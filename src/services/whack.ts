import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { DataSource, EntityManager } from "typeorm";
import { User, WhackRound, WhackRoundHit, WhackRoundMole, WhackRoundPlayer } from "../entities";
import { notFound } from "./errors";
import type { DomainLog } from "./domain-log";
import type { LeaderboardService } from "./leaderboards";
import { whackFlaggedRounds, whackRounds } from "./whack-metrics";
import { OUTBOX_GRACE_MS, WhackOutbox } from "./whack-outbox";
import { rankResults } from "./whack-ranks";
import { decodeScoresCursor, encodeScoresCursor } from "./whack-scores-cursor";

// The types below are the contract between the whack room and this service.

export type WhackMode = "solo" | "versus";
export type MoleKind = "normal" | "golden" | "bomb";

/** A mole as spawned: it is up in `hole` from `spawnAt` until `despawnAt` (or until hit). */
export interface WhackMole {
  moleId: number;
  hole: number;
  kind: MoleKind;
  spawnAt: Date;
  despawnAt: Date;
}

/** A valid hit: `at` is the server's receive time minus the player's latency allowance. */
export interface WhackHit {
  moleId: number;
  userId: string;
  at: Date;
  points: number;
}

export interface WhackPlayer {
  userId: string;
  displayName: string;
  playSessionId: string;
}

/** A player's standing when the round ends for them. */
export interface WhackPlayerResult {
  userId: string;
  /** Whacks on an empty hole (or a mole no longer up). */
  misses: number;
  /** Why the round was flagged for this player (`rate`, `reaction`); flagged results never reach a leaderboard. */
  flags: string[];
  /** Set when the round ended early for this player (`session_ended`, `left`, …); null when they played to the end. */
  endReason: string | null;
}

export interface WhackRoundEnd {
  endedAt: Date;
  /** `time_up`, `all_left`, `session_ended`, … */
  reason: string;
  /** Moles and hits not yet passed to recordProgress (all of them is fine too: writes are idempotent). */
  moles: WhackMole[];
  hits: WhackHit[];
  players: WhackPlayerResult[];
}

export interface WhackScore {
  userId: string;
  displayName: string;
  score: number;
  hits: number;
  misses: number;
  rank: number;
  flagged: boolean;
}

export interface WhackAudit {
  roundId: string;
  mode: WhackMode;
  startedAt: string;
  endedAt: string;
  seedHash: string;
  seed: string;
  moles: Array<{ moleId: number; hole: number; kind: MoleKind; spawnAt: string; despawnAt: string }>;
  hits: Array<{ moleId: number; userId: string; at: string; points: number }>;
  scores: WhackScore[];
}

/** One finished round in a user's history (GET /api/users/:id/scores). */
export interface WhackUserRound {
  roundId: string;
  mode: WhackMode;
  endedAt: string;
  score: number;
  hits: number;
  misses: number;
  /** The user's rank in the round (1 = best). */
  rank: number;
  /** How many played the round. */
  players: number;
  /** The user's result was kept off the leaderboards. */
  flagged: boolean;
  /** Why the round ended for the user: their own early end (`left`, `session_ended`, …), else the round's. */
  endReason: string;
}

export interface WhackServiceOptions {
  /** Tags started rounds with their process (ProcessLeases.processId), so a sweep finds a dead one's rounds. */
  processId?: string;
  logger?: Pick<Logger, "warn" | "error">;
  clock?: { now(): Date };
  /** Where round_finished and mole_hit go (absent: not recorded). */
  domainLog?: DomainLog;
}

/** A round lost with its process ends with this reason (see `sweep`). */
export const SERVER_LOST = "server_lost";
const INSERT_CHUNK = 500;
const roundNotFound = () => notFound("No finished round with this id", "ROUND_NOT_FOUND");

/** The seed's public commitment: sha256 over the UTF-8 bytes of the seed string (64 hex characters). */
export function seedHashOf(seed: string): string {
  return createHash("sha256").update(seed, "utf8").digest("hex");
}

/**
 * Whack rounds: storage, scores, the audit, and the exactly-once leaderboard writes.
 * The room owns the clock and the rules (src/services/whack-rules.ts); this service owns the rows.
 *
 * While a round plays, the room writes its moles and hits behind (recordProgress, about every
 * 250 ms); if its process dies, a sweep on a surviving (or restarted) process finishes the round
 * from what was stored, as `server_lost`: at most the last unwritten window is lost.
 */
export class WhackService {
  readonly outbox: WhackOutbox;
  /** Replaced in tests (when the outbox may retry). Round times come from the room, not from here. */
  readonly clock: { now(): Date };

  constructor(
    readonly dataSource: DataSource,
    readonly leaderboards: LeaderboardService,
    private readonly options: WhackServiceOptions = {},
  ) {
    this.clock = options.clock ?? { now: () => new Date() };
    this.outbox = new WhackOutbox(dataSource, leaderboards, options.logger);
  }

  /** A new round id, a secret seed (hex) and its public sha256 (hex). Nothing stored yet. */
  newRound(mode: WhackMode): { roundId: string; seed: string; seedHash: string; mode: WhackMode } {
    const seed = randomBytes(32).toString("hex");
    return { roundId: randomUUID(), seed, seedHash: seedHashOf(seed), mode };
  }

  /** Stores the round as playing (the seed stays private until the end) with its players. */
  async startRound(round: {
    roundId: string;
    mode: WhackMode;
    seed: string;
    seedHash: string;
    startedAt: Date;
    players: WhackPlayer[];
  }): Promise<void> {
    // The audit promises sha256(seed) = seedHash: refuse a pair that would break it.
    if (seedHashOf(round.seed) !== round.seedHash) throw new Error("seedHash is not sha256(seed)");
    await this.dataSource.transaction(async (m) => {
      await m
        .createQueryBuilder()
        .insert()
        .into(WhackRound)
        .values({
          id: round.roundId,
          mode: round.mode,
          seed: round.seed,
          seedHash: round.seedHash,
          status: "playing",
          startedAt: round.startedAt,
          processId: this.options.processId ?? null,
        })
        .orIgnore()
        .execute();
      if (round.players.length === 0) return;
      await m
        .createQueryBuilder()
        .insert()
        .into(WhackRoundPlayer)
        .values(
          round.players.map((p) => ({
            roundId: round.roundId,
            userId: p.userId,
            displayName: p.displayName.slice(0, 64),
            playSessionId: p.playSessionId,
            flags: [],
          })),
        )
        .orIgnore()
        .execute();
    });
  }

  /**
   * Write-behind of spawned moles and valid hits while the round runs (idempotent). `players`
   * (optional): their misses and flags so far, so a round finished after a crash keeps them
   * (a flagged player stays off the boards). Ignored once the round has ended.
   */
  async recordProgress(
    roundId: string,
    moles: WhackMole[],
    hits: WhackHit[],
    players?: WhackPlayerResult[],
  ): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      // FOR SHARE: an end in progress waits for this write or this write sees the end.
      const round = await m.findOne(WhackRound, { where: { id: roundId }, lock: { mode: "pessimistic_read" } });
      if (!round || round.status !== "playing") return;
      await insertProgress(m, roundId, moles, hits);
      for (const p of players ?? []) {
        await m.update(
          WhackRoundPlayer,
          { roundId, userId: p.userId },
          { misses: p.misses, flags: p.flags, endReason: p.endReason },
        );
      }
    });
  }

  /** Stores the end (one transaction, with its leaderboard outbox), then applies the leaderboard writes. */
  async finishRound(roundId: string, end: WhackRoundEnd): Promise<WhackScore[]> {
    return (await this.end(roundId, end)).scores;
  }

  /** finishRound, telling whether this call ended the round (false: it had ended before). */
  private async end(roundId: string, end: WhackRoundEnd): Promise<{ scores: WhackScore[]; endedNow: boolean }> {
    const finished = await this.dataSource.transaction(async (m) => {
      const round = await m.findOne(WhackRound, { where: { id: roundId }, lock: { mode: "pessimistic_write" } });
      if (!round) throw roundNotFound();
      if (round.status !== "playing") return undefined; // ended before: its stored scores are the answer
      await insertProgress(m, roundId, end.moles, end.hits);
      const totals = new Map<string, { score: number; hits: number }>(
        (
          (await m.query(
            `SELECT user_id, sum(points)::int AS score, count(*)::int AS hits
               FROM whack_hits WHERE round_id = $1 GROUP BY user_id`,
            [roundId],
          )) as Array<{ user_id: string; score: number; hits: number }>
        ).map((t) => [t.user_id, { score: t.score, hits: t.hits }]),
      );
      const given = new Map(end.players.map((p) => [p.userId, p]));
      const players = await m.find(WhackRoundPlayer, { where: { roundId } });
      const ranked = rankResults(
        players.map((p) => {
          const result = given.get(p.userId);
          const flags = result?.flags ?? p.flags;
          return {
            userId: p.userId,
            displayName: p.displayName,
            score: totals.get(p.userId)?.score ?? 0,
            hits: totals.get(p.userId)?.hits ?? 0,
            misses: result?.misses ?? p.misses,
            flags,
            flagged: flags.length > 0,
            endReason: result ? result.endReason : p.endReason,
          };
        }),
      );
      // Nothing was ever spawned: nothing was played; the round is abandoned, off the boards.
      const [{ moles }] = await m.query(`SELECT count(*)::int AS moles FROM whack_moles WHERE round_id = $1`, [
        roundId,
      ]);
      const played = moles > 0;
      for (const p of ranked) {
        await m.update(
          WhackRoundPlayer,
          { roundId, userId: p.userId },
          {
            score: p.score,
            hits: p.hits,
            misses: p.misses,
            rank: p.rank,
            flags: p.flags,
            flagged: p.flagged,
            endReason: p.endReason,
            endedAt: played ? end.endedAt : null,
          },
        );
      }
      if (played) await this.recordEvents(m, roundId, round.mode, end, ranked);
      const pending = played && ranked.some((p) => !p.flagged);
      await m.update(
        WhackRound,
        { id: roundId },
        {
          status: played ? "ended" : "abandoned",
          endedAt: end.endedAt,
          endReason: end.reason,
          leaderboardPending: pending,
          leaderboardRetryAt: pending ? new Date(this.clock.now().getTime() + OUTBOX_GRACE_MS) : null,
        },
      );
      return { mode: round.mode, pending, scores: ranked.map(toScore) };
    });
    if (!finished) return { scores: await this.scores(roundId), endedNow: false };
    whackRounds.inc({ mode: finished.mode, reason: end.reason });
    if (finished.scores.some((s) => s.flagged)) whackFlaggedRounds.inc();
    if (finished.pending) await this.outbox.tryApply(roundId, this.clock.now());
    return { scores: finished.scores, endedNow: true };
  }

  /** round_finished per player and mole_hit (counts by kind) per player who hit any, in the end's transaction. */
  private async recordEvents(
    m: EntityManager,
    roundId: string,
    mode: string,
    end: Pick<WhackRoundEnd, "endedAt" | "reason">,
    ranked: Array<{
      userId: string;
      score: number;
      hits: number;
      misses: number;
      rank: number;
      flagged: boolean;
      endReason: string | null;
    }>,
  ): Promise<void> {
    const log = this.options.domainLog;
    if (!log) return;
    const at = { occurredAt: end.endedAt };
    for (const p of ranked) {
      const { userId, score, hits, misses, rank, flagged } = p;
      await log.record(
        m,
        "round_finished",
        { roundId, mode, userId, score, hits, misses, rank, flagged, endReason: p.endReason ?? end.reason },
        { userId, ...at },
      );
    }
    const kinds: Array<{ user_id: string; kind: string; n: number }> = await m.query(
      `SELECT h.user_id, mo.kind, count(*)::int AS n
         FROM whack_hits h JOIN whack_moles mo ON mo.round_id = h.round_id AND mo.mole_id = h.mole_id
        WHERE h.round_id = $1 GROUP BY h.user_id, mo.kind ORDER BY h.user_id, mo.kind`,
      [roundId],
    );
    const byUser = new Map<string, Record<string, number>>();
    for (const k of kinds) byUser.set(k.user_id, { ...byUser.get(k.user_id), [k.kind]: k.n });
    const flagged = new Map(ranked.map((p) => [p.userId, p.flagged]));
    for (const [userId, byKind] of byUser) {
      const total = Object.values(byKind).reduce((a, b) => a + b, 0);
      const payload = { roundId, userId, total, byKind, flagged: flagged.get(userId) ?? false };
      await log.record(m, "mole_hit", payload, { userId, ...at });
    }
  }

  /** The stored result of a round that is over, best rank first. */
  async scores(roundId: string): Promise<WhackScore[]> {
    const players = await this.dataSource
      .getRepository(WhackRoundPlayer)
      .find({ where: { roundId }, order: { rank: "ASC", userId: "ASC" } });
    return players.map((p) => toScore({ ...p, rank: p.rank ?? 0 }));
  }

  async audit(roundId: string): Promise<WhackAudit> {
    const round = await this.dataSource.getRepository(WhackRound).findOneBy({ id: roundId });
    // A running round has no audit yet: the seed is still secret.
    if (!round || round.status === "playing" || !round.endedAt) throw roundNotFound();
    const [moles, hits, scores] = await Promise.all([
      this.dataSource.getRepository(WhackRoundMole).find({ where: { roundId }, order: { moleId: "ASC" } }),
      this.dataSource.getRepository(WhackRoundHit).find({ where: { roundId }, order: { at: "ASC", moleId: "ASC" } }),
      this.scores(roundId),
    ]);
    return {
      roundId,
      mode: round.mode,
      startedAt: round.startedAt.toISOString(),
      endedAt: round.endedAt.toISOString(),
      seedHash: round.seedHash,
      seed: round.seed,
      moles: moles.map((m) => ({
        moleId: m.moleId,
        hole: m.hole,
        kind: m.kind,
        spawnAt: m.spawnAt.toISOString(),
        despawnAt: m.despawnAt.toISOString(),
      })),
      hits: hits.map((h) => ({ moleId: h.moleId, userId: h.userId, at: h.at.toISOString(), points: h.points })),
      scores,
    };
  }

  /** A user's finished rounds, newest first; `cursor` is the previous page's `nextCursor`. */
  async userRounds(
    userId: string,
    opts: { limit: number; cursor?: string },
  ): Promise<{ rounds: WhackUserRound[]; nextCursor: string | null }> {
    if (!(await this.dataSource.getRepository(User).existsBy({ id: userId }))) {
      throw notFound("No such user", "USER_NOT_FOUND");
    }
    const after = opts.cursor ? decodeScoresCursor(opts.cursor, userId) : undefined;
    const rows: UserRoundRow[] = await this.dataSource.query(
      `SELECT p.round_id, r.mode, p.ended_at, p.score, p.hits, p.misses, p.rank, p.flagged,
              COALESCE(p.end_reason, r.end_reason) AS end_reason,
              (SELECT count(*)::int FROM whack_round_players q WHERE q.round_id = p.round_id) AS players
         FROM whack_round_players p JOIN whack_rounds r ON r.id = p.round_id
        WHERE p.user_id = $1 AND p.ended_at IS NOT NULL
          ${after ? "AND (p.ended_at, p.round_id) < ($3, $4)" : ""}
        ORDER BY p.ended_at DESC, p.round_id DESC
        LIMIT $2`,
      after ? [userId, opts.limit + 1, after.endedAt, after.roundId] : [userId, opts.limit + 1],
    );
    const page = rows.slice(0, opts.limit).map(toUserRound);
    const last = page[page.length - 1];
    return {
      rounds: page,
      nextCursor: rows.length > opts.limit && last ? encodeScoresCursor(userId, last.endedAt, last.roundId) : null,
    };
  }

  /** Processes hosting rounds still playing (the sweep checks which of them are dead). */
  async openProcessIds(): Promise<string[]> {
    const rows: Array<{ process_id: string }> = await this.dataSource.query(
      `SELECT DISTINCT process_id FROM whack_rounds WHERE status = 'playing' AND process_id IS NOT NULL`,
    );
    return rows.map((r) => r.process_id);
  }

  /**
   * Finishes the rounds of dead processes from what recordProgress stored, as `server_lost`:
   * scores counted, seed revealed, leaderboards written (through the outbox). The end time is
   * the round's last stored event (its last spawn or hit, else its start): the crash time itself
   * is unknown, and this keeps the round in the period it was played in. Returns how many.
   */
  async sweep(deadProcessIds: string[]): Promise<number> {
    if (deadProcessIds.length === 0) return 0;
    const orphans: Array<{ id: string; last_event: Date }> = await this.dataSource.query(
      `SELECT r.id, GREATEST(r.started_at,
                (SELECT max(spawn_at) FROM whack_moles m WHERE m.round_id = r.id),
                (SELECT max(at) FROM whack_hits h WHERE h.round_id = r.id)) AS last_event
         FROM whack_rounds r
        WHERE r.status = 'playing' AND r.process_id = ANY($1)`,
      [deadProcessIds],
    );
    let finished = 0;
    for (const orphan of orphans) {
      try {
        if (await this.endOrphan(orphan.id, new Date(orphan.last_event))) finished++;
      } catch (err) {
        // One round that cannot be ended (yet) does not hold up the others; the next sweep retries.
        this.options.logger?.error({ err, roundId: orphan.id }, "ending a lost whack round failed");
      }
    }
    return finished;
  }

  /** Ends a lost round with what its players had so far (the room's last write). */
  private async endOrphan(roundId: string, endedAt: Date): Promise<boolean> {
    const players = await this.dataSource.getRepository(WhackRoundPlayer).findBy({ roundId });
    const { endedNow } = await this.end(roundId, {
      endedAt,
      reason: SERVER_LOST,
      moles: [],
      hits: [],
      players: players.map((p) => ({
        userId: p.userId,
        misses: p.misses,
        flags: p.flags,
        endReason: p.endReason ?? SERVER_LOST,
      })),
    });
    return endedNow;
  }

  /** The outbox pass: applies the leaderboard writes of ended rounds still pending (see WhackOutbox). */
  async applyPendingLeaderboards(now = this.clock.now()) {
    return this.outbox.applyDue(now);
  }
}

interface UserRoundRow {
  round_id: string;
  mode: WhackMode;
  ended_at: Date;
  score: number;
  hits: number;
  misses: number;
  rank: number;
  flagged: boolean;
  end_reason: string;
  players: number;
}

function toUserRound(r: UserRoundRow): WhackUserRound {
  return {
    roundId: r.round_id,
    mode: r.mode,
    endedAt: new Date(r.ended_at).toISOString(),
    score: r.score,
    hits: r.hits,
    misses: r.misses,
    rank: r.rank,
    players: r.players,
    flagged: r.flagged,
    endReason: r.end_reason,
  };
}

function toScore(p: {
  userId: string;
  displayName: string;
  score: number;
  hits: number;
  misses: number;
  rank: number;
  flagged: boolean;
}): WhackScore {
  const { userId, displayName, score, hits, misses, rank, flagged } = p;
  return { userId, displayName, score, hits, misses, rank, flagged };
}

/** Batch inserts that skip rows already stored: a write-behind repeated after a retry changes nothing. */
async function insertProgress(m: EntityManager, roundId: string, moles: WhackMole[], hits: WhackHit[]) {
  for (let i = 0; i < moles.length; i += INSERT_CHUNK) {
    await m
      .createQueryBuilder()
      .insert()
      .into(WhackRoundMole)
      .values(moles.slice(i, i + INSERT_CHUNK).map((mole) => ({ roundId, ...mole })))
      .orIgnore()
      .execute();
  }
  for (let i = 0; i < hits.length; i += INSERT_CHUNK) {
    await m
      .createQueryBuilder()
      .insert()
      .into(WhackRoundHit)
      .values(hits.slice(i, i + INSERT_CHUNK).map((hit) => ({ roundId, ...hit })))
      .orIgnore()
      .execute();
  }
}
