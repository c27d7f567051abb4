import type { Presence } from "@colyseus/core";
import type { DataSource } from "typeorm";
import { AppError, badRequest, conflict } from "./errors";

/** Tokens a call costs each participant, charged when the call starts. */
export const QUEUE_FEE = 1;

export interface Bucket {
  region: string;
  language: string;
}

/** Users this one must not be paired with, and until when (epoch ms; Infinity for blocks). */
export type AvoidList = Map<string, number>;

export interface MatchmakingDependencies {
  dataSource: DataSource;
  presence: Presence;
  blockedEitherWay(userId: string): Promise<Set<string>>;
  activeBan(userId: string): Promise<{ expiresAt: Date; reason: string } | null>;
  regions: string[];
  repeatCooldownSec: number;
  keyPrefix: string;
}

/** How long a "queued" marker outlives its last refresh (a crashed process's markers fade by then). */
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
      throw badRequest("INVALID_REGION", `region must be one of ${this.deps.regions.join(", ")}`);
    }
    if (typeof language !== "string" || !/^[a-z]{2}$/.test(language)) {
      throw badRequest("INVALID_LANGUAGE", "language must be a two-letter ISO 639-1 code");
    }
    return { region, language };
  }

  /** May this user enter a queue now? Throws the reason: banned (403), no tokens (402), in a call (409). */
  async admit(userId: string): Promise<void> {
    const ban = await this.deps.activeBan(userId);
    if (ban) {
      throw new AppError(403, "BANNED", `Banned from video chat until ${ban.expiresAt.toISOString()}`, {
        until: ban.expiresAt.toISOString(),
      });
    }
    // One round trip for both checks: this runs on every queue join.
    const [{ balance, in_call }] = await this.deps.dataSource.query(
      `SELECT coalesce((SELECT balance FROM wallets WHERE user_id = $1), 0) AS balance,
              EXISTS (SELECT 1 FROM calls WHERE (user_a = $1 OR user_b = $1) AND phase IN ('connecting', 'live')) AS in_call`,
      [userId],
    );
    if (Number(balance) < QUEUE_FEE) {
      throw new AppError(402, "INSUFFICIENT_FUNDS", `Video chat needs at least ${QUEUE_FEE} token`);
    }
    if (in_call) throw conflict("IN_CALL", "Finish the current call first");
  }

  /** Marks the user as queued (any bucket, any process); false if they already are. */
  async markQueued(userId: string): Promise<boolean> {
    const key = this.queuedKey(userId);
    const [count] = await Promise.all([
      this.deps.presence.incr(key),
      this.deps.presence.expire(key, QUEUED_MARKER_TTL_SEC),
    ]);
    if (count > 1) {
      await this.deps.presence.decr(key);
      return false;
    }
    return true;
  }

  /** Keeps the markers of users still waiting from fading. */
  async refreshQueued(userIds: Iterable<string>): Promise<void> {
    await Promise.all([...userIds].map((id) => this.deps.presence.expire(this.queuedKey(id), QUEUED_MARKER_TTL_SEC)));
  }

  async unmarkQueued(userId: string): Promise<void> {
    await this.deps.presence.del(this.queuedKey(userId));
  }

  /** Blocked users (either direction, forever) and recent partners (until the cooldown ends). */
  async avoidList(userId: string): Promise<AvoidList> {
    const avoid: AvoidList = new Map();
    const blocked = this.deps.blockedEitherWay(userId);
    const recent: Array<{ partner: string; until: string | Date }> = await this.deps.dataSource.query(
      `SELECT CASE WHEN user_a = $1 THEN user_b ELSE user_a END AS partner,
              max(created_at) + make_interval(secs => $2) AS until
       FROM calls
       WHERE (user_a = $1 OR user_b = $1) AND created_at > now() - make_interval(secs => $2)
       GROUP BY 1`,
      [userId, this.deps.repeatCooldownSec],
    );
    for (const row of recent) avoid.set(row.partner, new Date(row.until).getTime());
    for (const id of await blocked) avoid.set(id, Infinity);
    return avoid;
  }

  private queuedKey(userId: string) {
    return `${this.deps.keyPrefix}queued:${userId}`;
  }
}
