import { createHmac, timingSafeEqual } from "node:crypto";
import type { Presence } from "@colyseus/core";
import type { Logger } from "pino";
import { Counter } from "prom-client";
import { type DataSource, type EntityManager, MoreThan } from "typeorm";
import { z } from "zod";
import { Ban, type BanSource, Call, Report, type ReportReason, type ReportStatus, User } from "../entities";
import { registry } from "../metrics";
import { AppError, badRequest, conflict, forbidden, notFound } from "./errors";
import { nulPath } from "./text";
import type { DomainEvents } from "./events";
import { SharedCache } from "./shared-cache";

export const MAX_BAN_HOURS = 8760;
/** The AI rule: this many violations within 24 h earn a 24 h ban. */
export const AI_VIOLATION_LIMIT = 3;
export const AI_BAN_HOURS = 24;
export const AI_BAN_REASON = "3 AI moderation violations in 24 h";

/** What the moderation provider posts (extra fields are ignored so provider additions do not break us). */
export const HiveEventSchema = z.object({
  id: z.string().min(1).max(128),
  userId: z.uuid(),
  callId: z.uuid().optional(),
  violation: z.boolean(),
  classes: z.array(z.string().max(64)).max(32).optional(),
});
export type HiveEvent = z.output<typeof HiveEventSchema>;
export type HiveOutcome = "recorded" | "violation" | "banned" | "duplicate";

const reportsSubmitted = new Counter({
  name: "reports_submitted_total",
  help: "Abuse reports submitted, by reason",
  labelNames: ["reason"] as const,
  registers: [registry],
});
const bansTotal = new Counter({
  name: "bans_total",
  help: "Bans issued, by source (moderator or ai)",
  labelNames: ["source"] as const,
  registers: [registry],
});
const hiveEvents = new Counter({
  name: "hive_webhook_events_total",
  help: "Verified AI moderation webhook deliveries, by outcome",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export interface ModerationDependencies {
  dataSource: DataSource;
  events: DomainEvents;
  /** Carries the active-ban cache invalidations to every process. */
  presence: Presence;
  /** Unset: the Hive webhook answers 503. */
  hiveWebhookSecret?: string;
  logger: Logger;
}

export interface ReportInput {
  reportedUserId: string;
  /** The call it happened in; both users must have been its participants. */
  sessionId?: string;
  reason: ReportReason;
  details?: string;
}

export interface ReportView {
  id: string;
  reporterId: string;
  reportedUserId: string;
  sessionId: string | null;
  reason: ReportReason;
  details: string | null;
  status: ReportStatus;
  moderatorId: string | null;
  resolvedAt: string | null;
  createdAt: string;
}

export type ReportAction = "dismiss" | "warn" | "ban";

export interface BanInput {
  source: BanSource;
  reason: string;
  hours: number;
  createdBy?: string;
  reportId?: string;
}

export interface ActiveBan {
  expiresAt: Date;
  reason: string;
}

/** The active-ban cache's invalidation channel: every process hears every ban on it. */
const BAN_CHANNEL = "arcadia:active-ban";
/** Longer than anyone waits in a queue. */
const RECENT_BAN_MS = 15 * 60_000;

const STATUS_BY_ACTION: Record<ReportAction, ReportStatus> = {
  dismiss: "dismissed",
  warn: "warned",
  ban: "banned",
};

/** Reports, moderator actions, bans and the AI moderation provider's verdicts. */
export class ModerationService {
  private readonly activeBans: SharedCache<{ expiresAtMs: number; reason: string } | null>;
  /** userId → when a ban of theirs was announced; bans are rare, entries fade after RECENT_BAN_MS. */
  private readonly recentBans = new Map<string, number>();
  private readonly noteBan = (userId: string) => {
    const now = Date.now();
    for (const [id, at] of this.recentBans) if (at < now - RECENT_BAN_MS) this.recentBans.delete(id);
    this.recentBans.set(userId, now);
  };

  constructor(private readonly deps: ModerationDependencies) {
    this.activeBans = new SharedCache(deps.presence, BAN_CHANNEL, (userId) => this.loadActiveBan(userId));
  }

  async start(): Promise<void> {
    await this.activeBans.start();
    await this.deps.presence.subscribe(BAN_CHANNEL, this.noteBan);
  }

  stop(): void {
    this.activeBans.stop();
    this.deps.presence.unsubscribe(BAN_CHANNEL, this.noteBan);
  }

  /**
   * True if a ban of this user was announced (on any process) since `since`
   * (epoch ms): the match queue asks this at pairing, for free, instead of
   * reading the ban of every waiting user again.
   */
  bannedSince(userId: string, since: number): boolean {
    return (this.recentBans.get(userId) ?? 0) >= since;
  }

  /** The ban that keeps the user out longest, or null. Cached; an expired ban lifts without an invalidation. */
  async activeBan(userId: string): Promise<ActiveBan | null> {
    const ban = await this.activeBans.get(userId);
    if (!ban || ban.expiresAtMs <= Date.now()) return null;
    return { expiresAt: new Date(ban.expiresAtMs), reason: ban.reason };
  }

  async report(reporterId: string, input: ReportInput): Promise<ReportView> {
    if (reporterId === input.reportedUserId) throw badRequest("SELF_REPORT", "You cannot report yourself");
    const { dataSource } = this.deps;
    const reported = await dataSource
      .getRepository(User)
      .findOne({ where: { id: input.reportedUserId }, select: { id: true, deletedAt: true } });
    if (!reported || reported.deletedAt) throw notFound("No such user", "USER_NOT_FOUND");
    if (input.sessionId) {
      const call = await dataSource
        .getRepository(Call)
        .findOne({ where: { id: input.sessionId }, select: { id: true, userA: true, userB: true } });
      const pair = call ? [call.userA, call.userB].sort().join() : "";
      if (pair !== [reporterId, input.reportedUserId].sort().join()) {
        throw badRequest("INVALID_SESSION", "sessionId must be a call between you and the reported user");
      }
    }
    const repo = dataSource.getRepository(Report);
    const report = await repo.save(
      repo.create({
        reporterId,
        reportedUserId: input.reportedUserId,
        sessionId: input.sessionId ?? null,
        reason: input.reason,
        details: input.details || null,
        status: "open",
      }),
    );
    reportsSubmitted.inc({ reason: input.reason });
    return toReportView(report);
  }

  /** Newest first; `before` is the id of the last report of the previous page. */
  async listReports(options: { status?: ReportStatus; before?: string; limit: number }) {
    const rows: Report[] = await this.deps.dataSource
      .getRepository(Report)
      .createQueryBuilder("r")
      .where(options.status ? "r.status = :status" : "TRUE", { status: options.status })
      .andWhere(
        options.before
          ? "(r.created_at, r.id) < (SELECT b.created_at, b.id FROM reports b WHERE b.id = :before)"
          : "TRUE",
        { before: options.before },
      )
      .orderBy("r.created_at", "DESC")
      .addOrderBy("r.id", "DESC")
      .limit(options.limit + 1)
      .getMany();
    const reports = rows.slice(0, options.limit).map(toReportView);
    const nextCursor = rows.length > options.limit ? reports[reports.length - 1].id : null;
    return { reports, nextCursor };
  }

  /** Resolves an open report once (409 afterwards); a ban or a warning reaches the user's live sessions. */
  async moderate(
    reportId: string,
    moderatorId: string,
    input: { action: ReportAction; durationHours?: number },
  ): Promise<{ report: ReportView; ban?: { expiresAt: string } }> {
    if (input.action === "ban") checkBanHours(input.durationHours);
    else if (input.durationHours !== undefined)
      throw badRequest("INVALID_DURATION", "durationHours goes with action ban only");

    const { report, ban } = await this.deps.dataSource.transaction(async (m) => {
      const report = await m.findOne(Report, { where: { id: reportId }, lock: { mode: "pessimistic_write" } });
      if (!report) throw notFound("No such report", "REPORT_NOT_FOUND");
      if (report.status !== "open")
        throw conflict("REPORT_RESOLVED", "This report was already resolved", { status: report.status });
      if (report.reportedUserId === moderatorId)
        throw forbidden("You cannot moderate a report about yourself", "OWN_REPORT");
      Object.assign(report, { status: STATUS_BY_ACTION[input.action], moderatorId, resolvedAt: new Date() });
      await m.update(Report, { id: report.id }, { status: report.status, moderatorId, resolvedAt: report.resolvedAt });
      const ban =
        input.action === "ban"
          ? await this.insertBan(m, report.reportedUserId, {
              source: "moderator",
              reason: report.reason,
              hours: input.durationHours!,
              createdBy: moderatorId,
              reportId: report.id,
            })
          : undefined;
      return { report, ban };
    });

    if (ban) await this.announceBan(report.reportedUserId, ban);
    if (input.action === "warn") {
      await this.announce(report.reportedUserId, { action: "warn", reason: report.reason });
    }
    return { report: toReportView(report), ...(ban && { ban: { expiresAt: ban.expiresAt.toISOString() } }) };
  }

  /** Bans the user for `hours`; their live call ends and the queue turns them away until it expires. */
  async ban(userId: string, input: BanInput): Promise<{ expiresAt: Date }> {
    checkBanHours(input.hours);
    const ban = await this.insertBan(this.deps.dataSource.manager, userId, input);
    await this.announceBan(userId, ban);
    return { expiresAt: ban.expiresAt };
  }

  /**
   * One verdict from the provider, verified over the raw bytes and recorded
   * once per provider event id. A violation ends the user's call; the third in
   * 24 h bans them, once: the user's deliveries are serialised by an advisory
   * lock, so concurrent violations see each other and the first ban.
   */
  async handleHiveWebhook(rawBody: Buffer, signatureHeader?: string): Promise<{ outcome: HiveOutcome }> {
    const secret = this.deps.hiveWebhookSecret;
    if (!secret) throw new AppError(503, "MODERATION_NOT_CONFIGURED", "AI moderation is not configured on this server");
    const body = Buffer.isBuffer(rawBody) ? rawBody : Buffer.alloc(0);
    if (!signatureMatches(secret, body, signatureHeader)) {
      throw new AppError(401, "INVALID_SIGNATURE", "Missing or bad X-Hive-Signature");
    }
    const event = parseHiveEvent(body);

    const { outcome, ban } = await this.deps.dataSource.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [event.userId]);
      const inserted = await m.query(
        `INSERT INTO moderation_events (event_id, user_id, call_id, violation, classes)
         VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (event_id) DO NOTHING RETURNING id`,
        [event.id, event.userId, event.callId ?? null, event.violation, JSON.stringify(event.classes ?? [])],
      );
      if (inserted.length === 0) return { outcome: "duplicate" as const };
      if (!event.violation) return { outcome: "recorded" as const };
      const [{ n }] = await m.query(
        `SELECT count(*)::int AS n FROM moderation_events
         WHERE user_id = $1 AND violation AND created_at > now() - interval '24 hours'`,
        [event.userId],
      );
      if (n < AI_VIOLATION_LIMIT) return { outcome: "violation" as const };
      const banned = await m.query(`SELECT 1 FROM bans WHERE user_id = $1 AND expires_at > $2 LIMIT 1`, [
        event.userId,
        new Date(),
      ]);
      if (banned.length > 0) return { outcome: "violation" as const };
      const ban = await this.insertBan(m, event.userId, { source: "ai", reason: AI_BAN_REASON, hours: AI_BAN_HOURS });
      return { outcome: "banned" as const, ban };
    });

    hiveEvents.inc({ outcome });
    this.deps.logger.info({ eventId: event.id, userId: event.userId, callId: event.callId, outcome }, "hive verdict");
    if (outcome !== "duplicate" && event.violation) {
      await this.announce(event.userId, { action: "end_call", reason: "ai_violation", callId: event.callId });
    }
    if (ban) await this.announceBan(event.userId, ban);
    return { outcome };
  }

  private async loadActiveBan(userId: string) {
    const ban = await this.deps.dataSource.getRepository(Ban).findOne({
      where: { userId, expiresAt: MoreThan(new Date()) },
      order: { expiresAt: "DESC" },
      select: { id: true, reason: true, expiresAt: true },
    });
    return ban ? { expiresAtMs: ban.expiresAt.getTime(), reason: ban.reason } : null;
  }

  private async insertBan(m: EntityManager, userId: string, input: BanInput) {
    if (!input.reason || input.reason.length > 200)
      throw badRequest("INVALID_REASON", "A ban reason is 1–200 characters");
    const expiresAt = new Date(Date.now() + input.hours * 3_600_000);
    await m.insert(Ban, {
      userId,
      source: input.source,
      reason: input.reason,
      createdBy: input.createdBy ?? null,
      reportId: input.reportId ?? null,
      expiresAt,
    });
    return { source: input.source, reason: input.reason, expiresAt };
  }

  /** After the commit, so no process can reload the cache from a snapshot without the ban. */
  private async announceBan(userId: string, ban: { source: BanSource; reason: string }) {
    bansTotal.inc({ source: ban.source });
    try {
      await this.activeBans.invalidate(userId);
    } catch (err) {
      // The ban is committed; other processes pick it up when their cache entry expires.
      this.deps.logger.error({ err, userId }, "could not invalidate the active-ban cache");
    }
    await this.announce(userId, { action: "ban", reason: ban.reason });
  }

  /** Tells the user's rooms on every process; a failed publish must not undo or hide a committed decision. */
  private async announce(
    userId: string,
    payload: { action: "warn" | "end_call" | "ban"; reason: string; callId?: string },
  ) {
    try {
      // Scope "all": each process hands it to its own rooms of that user (one subscription per process).
      await this.deps.events.publish("user.moderation", "all", { userId, ...payload });
    } catch (err) {
      this.deps.logger.error({ err, userId, action: payload.action }, "could not publish a moderation action");
    }
  }
}

function checkBanHours(hours: number | undefined) {
  if (!Number.isInteger(hours) || hours! < 1 || hours! > MAX_BAN_HOURS) {
    throw badRequest(
      "INVALID_DURATION",
      `A ban needs durationHours, a whole number from 1 to ${MAX_BAN_HOURS}`,
    ).withParams({ field: "durationHours", max: MAX_BAN_HOURS });
  }
}

/** `X-Hive-Signature: sha256=<hex>` of HMAC-SHA256(secret, raw body), compared in constant time. */
function signatureMatches(secret: string, body: Buffer, header: string | undefined): boolean {
  const hex = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? "")?.[1];
  if (!hex) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(hex, "hex"));
}

function parseHiveEvent(body: Buffer): HiveEvent {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw badRequest("INVALID_JSON", "The body is not JSON");
  }
  const nul = nulPath(json);
  if (nul !== undefined) {
    throw badRequest("VALIDATION_FAILED", "Request validation failed", [
      { in: "body", path: nul, message: "must not contain NUL characters" },
    ]);
  }
  const result = HiveEventSchema.safeParse(json);
  if (!result.success) {
    const details = result.error.issues.map((i) => ({ in: "body", path: i.path.join("."), message: i.message }));
    throw badRequest("VALIDATION_FAILED", "Request validation failed", details);
  }
  return result.data;
}

function toReportView(r: Report): ReportView {
  return {
    id: r.id,
    reporterId: r.reporterId,
    reportedUserId: r.reportedUserId,
    sessionId: r.sessionId,
    reason: r.reason,
    details: r.details,
    status: r.status,
    moderatorId: r.moderatorId,
    resolvedAt: r.resolvedAt ? new Date(r.resolvedAt).toISOString() : null,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}
