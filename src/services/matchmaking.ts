import type { Presence } from "@colyseus/core";
import type { DataSource } from "typeorm";
import { BLOCKED_EITHER_WAY_SQL } from "./blocks";
import { AppError, badRequest, conflict } from "./errors";
import type { ProcessLeases } from "./process-leases";

/** Tokens a call costs each participant, charged when the call starts. */
export const QUEUE_FEE = 1;

export interface Bucket {
  region: string;
  language: string;
}

/** "Until" of a block: it has no end (Infinity does not survive JSON). */
export const FOREVER = Number.MAX_SAFE_INTEGER;

/** A user this one must not be paired with, and until when (epoch ms). Plain data: it travels in `client.auth`. */
export type AvoidEntry = [userId: string, until: number];

export interface MatchmakingDependencies {
  dataSource: DataSource;
  presence: Presence;
  regions: string[];
  repeatCooldownSec: number;
  keyPrefix: string;
  leases: ProcessLeases;
  /** How long a queued marker outlives its last refresh (QUEUED_MARKER_TTL_SEC; shorter in tests). */
  markerTtlSec?: number;
}

/**
 * How long a "queued" marker outlives its last refresh: a backstop only, since
 * the sweep removes a dead process's markers as soon as its lease is gone.
 */
const QUEUED_MARKER_TTL_SEC = 120;

/**
 * The rules of the match queue; the `match_queue` room (one per bucket) does
 * the pairing. Who may queue (funds, bans, not already queued or in a call),
 * which buckets exist, and whom a user must not meet.
 */
export class MatchmakingService {
  constructor(private readonly deps: MatchmakingDependencies) {}

  get regions(): string[] {
    return this.deps.regions;
  }

  /** The bucket a join asks for, validated against the configured regions and ISO 639-1 codes. */
  bucket(options: unknown): Bucket {
    const { region, language } = (options ?? {}) as Record<string, unknown>;
    if (typeof region !== "string" || !this.deps.regions.includes(region)) {
      const regions = this.deps.regions.join(", ");
      throw badRequest("INVALID_REGION", `region must be one of ${regions}`).withParams({ regions });
    }
    if (typeof language !== "string" || !/^[a-z]{2}$/.test(language)) {
      throw badRequest("INVALID_LANGUAGE", "language must be a two-letter ISO 639-1 code");
    }
    return { region, language };
  }

  /**
   * May this user enter a queue now? Throws the reason: banned (403), no
   * tokens (402), in a call (409). Answers whom they must not meet: users
   * blocked either way (forever) and recent partners (until the cooldown
   * ends). One query for all of it: this runs on every queue join.
   */
  async admit(userId: string): Promise<AvoidEntry[]> {
    const [row] = await this.deps.dataSource.query(
      `SELECT
         coalesce((SELECT balance FROM wallets WHERE user_id = $1), 0) AS balance,
         EXISTS (SELECT 1 FROM calls WHERE (user_a = $1 OR user_b = $1) AND phase IN ('connecting', 'live')) AS in_call,
         (SELECT json_build_object('until', expires_at, 'reason', reason) FROM bans
           WHERE user_id = $1 AND expires_at > now() ORDER BY expires_at DESC LIMIT 1) AS ban,
         (SELECT coalesce(json_agg(json_build_array(partner, until)), '[]') FROM (
            SELECT CASE WHEN user_a = $1 THEN user_b ELSE user_a END AS partner,
                   (extract(epoch FROM max(created_at)) * 1000)::bigint + $2::bigint * 1000 AS until
            FROM calls WHERE (user_a = $1 OR user_b = $1) AND created_at > now() - make_interval(secs => $2)
            GROUP BY 1
            UNION ALL
            SELECT id, NULL FROM (${BLOCKED_EITHER_WAY_SQL}) blocked
         ) avoid) AS avoid`,
      [userId, this.deps.repeatCooldownSec],
    );
    if (row.ban) {
      const until = new Date(row.ban.until).toISOString();
      throw new AppError(403, "BANNED", `Banned from video chat until ${until}`, { until }).withParams({ until });
    }
    if (Number(row.balance) < QUEUE_FEE) {
      throw new AppError(402, "INSUFFICIENT_FUNDS", `Video chat needs at least ${QUEUE_FEE} token`).withParams({
        context: "queue",
        needed: QUEUE_FEE,
      });
    }
    if (row.in_call) throw conflict("IN_CALL", "Finish the current call first");
    return (row.avoid as Array<[string, number | null]>).map(([id, until]) => [id, until ?? FOREVER]);
  }

  /**
   * Marks the user as queued (any bucket, any process); false if they already
   * are. Only a successful mark sets the expiry: a refused retry must not push
   * the existing marker's end further away. The marker is listed under this
   * process, so it goes when the process dies.
   */
  async markQueued(userId: string): Promise<boolean> {
    const key = this.queuedKey(userId);
    const count = await this.deps.presence.incr(key);
    if (count > 1) {
      await this.deps.presence.decr(key);
      return false;
    }
    await Promise.all([
      this.deps.presence.expire(key, this.markerTtlSec),
      this.deps.presence.sadd(this.processMarkersKey(this.deps.leases.processId), userId),
    ]);
    return true;
  }

  /** Keeps the markers of users still waiting from fading. */
  async refreshQueued(userIds: Iterable<string>): Promise<void> {
    await Promise.all([...userIds].map((id) => this.deps.presence.expire(this.queuedKey(id), this.markerTtlSec)));
  }

  /** Writes the markers of users still waiting again, after Redis lost them (a restart without persistence). */
  async reclaimQueued(userIds: Iterable<string>): Promise<void> {
    await Promise.all(
      [...userIds].map((id) => this.deps.presence.setex(this.queuedKey(id), "1", QUEUED_MARKER_TTL_SEC)),
    );
  }

  async unmarkQueued(userId: string): Promise<void> {
    await Promise.all([
      this.deps.presence.del(this.queuedKey(userId)),
      this.deps.presence.srem(this.processMarkersKey(this.deps.leases.processId), userId),
    ]);
  }

  /** Removes the queue markers a dead process left: its waiters may queue again at once. */
  async clearMarkersOf(processId: string): Promise<number> {
    const setKey = this.processMarkersKey(processId);
    const userIds = await this.deps.presence.smembers(setKey);
    await Promise.all(userIds.map((id) => this.deps.presence.del(this.queuedKey(id))));
    await this.deps.presence.del(setKey);
    return userIds.length;
  }

  private processMarkersKey(processId: string) {
    return `${this.deps.keyPrefix}queued-by:${processId}`;
  }

  private get markerTtlSec() {
    return this.deps.markerTtlSec ?? QUEUED_MARKER_TTL_SEC;
  }

  private queuedKey(userId: string) {
    return `${this.deps.keyPrefix}queued:${userId}`;
  }
}
