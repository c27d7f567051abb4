import type { Logger } from "pino";
import type { DataSource, EntityManager } from "typeorm";
import { analyticsEvents, analyticsQueued } from "../metrics";
import {
  ANALYTICS_PROVIDERS,
  type AnalyticsProvider,
  type AnalyticsProviderName,
  type OutboxEvent,
  ProviderError,
} from "./analytics-providers/types";
import { pseudonymousId, scrubProperties } from "./analytics-pseudonym";

/** A product event as producers hand it over. */
export interface AnalyticsEvent {
  name: string;
  userId?: string;
  occurredAt: Date;
  /** Unique per event: the outbox keeps one row per (provider, insertId), providers dedup on it. */
  insertId: string;
  properties: Record<string, unknown>;
  /** The original client, when the event comes from a request (only Plausible's rows keep it). */
  client?: { ip: string; userAgent: string };
}

export interface ProviderStatus {
  enabled: boolean;
  queued: number;
  sent: number;
  failed: number;
  dropped: number;
  lastError: string | null;
  lastErrorAt: string | null;
}

export interface AnalyticsOptions {
  /** The HMAC key of pseudonymous user ids. */
  idSecret: string;
  /** Most rows kept per provider; beyond it the oldest are trimmed (counted as dropped). */
  maxRows: number;
  /** First retry delay; doubled per attempt up to retryMaxMs, with jitter. */
  retryBaseMs: number;
  retryMaxMs?: number;
  pollMs?: number;
  clock?: () => Date;
  random?: () => number;
  logger?: Pick<Logger, "warn" | "error">;
}

/** A claimed row is not picked again for this long (its sender may still be sending it). */
const CLAIM_MS = 60_000;
/** Batches one drain sends at most, so one provider's backlog does not hold its loop forever. */
const MAX_BATCHES_PER_DRAIN = 20;

interface Row {
  id: string;
  name: string;
  distinct_id: string | null;
  insert_id: string;
  occurred_at: Date;
  properties: Record<string, unknown>;
  client_ip: string | null;
  client_user_agent: string | null;
  attempts: number;
}

export interface DrainResult {
  sent: number;
  failed: number;
  retried: number;
  dropped: number;
}

/**
 * The analytics outbox. `track` inserts one row per enabled provider in the caller's transaction
 * (so an event exists exactly when the change it describes was committed, and never blocks on a
 * provider). A loop per provider claims due rows with `FOR UPDATE SKIP LOCKED` (a short claim of
 * its own, so several processes never send one row at the same time), sends them outside any
 * transaction, and deletes what was delivered. Retryable failures back off exponentially with
 * jitter and are never given up; a 400 drops the batch (counted failed). A crash between send and
 * delete resends the batch later: the providers' dedup ids (Mixpanel `$insert_id`, PostHog uuid)
 * make that harmless. The outbox is bounded per provider: the oldest rows beyond the bound are
 * trimmed and counted as dropped.
 */
export class AnalyticsService {
  private readonly clock: () => Date;
  private readonly random: () => number;
  private readonly timers = new Map<AnalyticsProviderName, NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = true;

  constructor(
    private readonly dataSource: DataSource,
    readonly providers: AnalyticsProvider[],
    private readonly options: AnalyticsOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.random = options.random ?? Math.random;
  }

  /** Queues the event for every enabled provider that takes it, inside the caller's transaction. */
  async track(m: EntityManager, e: AnalyticsEvent): Promise<void> {
    const targets = this.providers.filter((p) => p.accepts(e));
    if (targets.length === 0) return;
    const distinctId = e.userId === undefined ? null : pseudonymousId(this.options.idSecret, e.userId);
    const properties = JSON.stringify(scrubProperties(e.properties));
    // Only Plausible takes the client's address and agent.
    const client = (p: AnalyticsProvider) => (p.name === "plausible" ? e.client : undefined);
    // One statement for every provider: this runs in the caller's transaction (a domain-event delivery).
    await m.query(
      `INSERT INTO analytics_events (provider, name, distinct_id, insert_id, occurred_at, properties, client_ip, client_user_agent, next_attempt_at)
       SELECT t.provider, $2, $3, $4, $5, $6::jsonb, t.ip, t.agent, $5
         FROM unnest($1::text[], $7::text[], $8::text[]) AS t(provider, ip, agent)
       ON CONFLICT (provider, insert_id) DO NOTHING`,
      [
        targets.map((p) => p.name),
        e.name.slice(0, 128),
        distinctId,
        e.insertId.slice(0, 200),
        e.occurredAt,
        properties,
        targets.map((p) => client(p)?.ip.slice(0, 64) ?? null),
        targets.map((p) => client(p)?.userAgent.slice(0, 512) ?? null),
      ],
    );
  }

  /** Starts one sender loop per enabled provider. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const p of this.providers) this.schedule(p, 0);
  }

  /** Stops the loops and waits for a send in flight (its rows stay claimed, then due again). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  private schedule(p: AnalyticsProvider, delayMs: number) {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      let more = false;
      const run = this.drainPass(p.name)
        .then((pass) => void (more = pass.more))
        .catch((err) => this.options.logger?.error({ err, provider: p.name }, "analytics send loop failed"))
        .finally(() => {
          this.running.delete(run);
          // A backlog (the pass stopped at its bound) goes on at once; otherwise the next poll.
          this.schedule(p, more ? 0 : (this.options.pollMs ?? 2_000));
        });
      this.running.add(run);
    }, delayMs);
    timer.unref();
    this.timers.set(p.name, timer);
  }

  /** Trims the provider's outbox to its bound, then sends due batches until none is left (bounded). */
  async drain(name: AnalyticsProviderName): Promise<DrainResult> {
    return (await this.drainPass(name)).result;
  }

  /** One drain; `more` when it stopped at its bound with batches possibly still due. */
  private async drainPass(name: AnalyticsProviderName): Promise<{ result: DrainResult; more: boolean }> {
    const provider = this.providers.find((p) => p.name === name);
    const total: DrainResult = { sent: 0, failed: 0, retried: 0, dropped: 0 };
    if (!provider) return { result: total, more: false };
    total.dropped = await this.trim(name);
    let batches = 0;
    for (; batches < MAX_BATCHES_PER_DRAIN; batches++) {
      const r = await this.sendBatch(provider);
      if (!r) break;
      total.sent += r.sent;
      total.failed += r.failed;
      total.retried += r.retried;
    }
    const [{ queued }]: Array<{ queued: number }> = await this.dataSource.query(
      `SELECT count(*)::int AS queued FROM analytics_events WHERE provider = $1`,
      [name],
    );
    analyticsQueued.set({ provider: name }, queued);
    // Only retries in the pass: they are not due yet, so waiting for the poll is right.
    const more = batches === MAX_BATCHES_PER_DRAIN && total.sent + total.failed > 0;
    return { result: total, more };
  }

  /** Every enabled provider's drain. */
  async drainAll(): Promise<Record<string, DrainResult>> {
    const out: Record<string, DrainResult> = {};
    for (const p of this.providers) out[p.name] = await this.drain(p.name);
    return out;
  }

  /** Per provider: enabled here, rows waiting, and the totals of every process (from the database). */
  async status(): Promise<Record<AnalyticsProviderName, ProviderStatus>> {
    const queued: Array<{ provider: string; n: number }> = await this.dataSource.query(
      `SELECT provider, count(*)::int AS n FROM analytics_events GROUP BY provider`,
    );
    const stats: Array<{
      provider: string;
      sent: string;
      failed: string;
      dropped: string;
      last_error: string | null;
      last_error_at: Date | null;
    }> = await this.dataSource.query(`SELECT * FROM analytics_provider_stats`);
    const out = {} as Record<AnalyticsProviderName, ProviderStatus>;
    for (const name of ANALYTICS_PROVIDERS) {
      const s = stats.find((x) => x.provider === name);
      out[name] = {
        enabled: this.providers.some((p) => p.name === name),
        queued: queued.find((q) => q.provider === name)?.n ?? 0,
        sent: Number(s?.sent ?? 0),
        failed: Number(s?.failed ?? 0),
        dropped: Number(s?.dropped ?? 0),
        lastError: s?.last_error ?? null,
        lastErrorAt: s?.last_error_at ? new Date(s.last_error_at).toISOString() : null,
      };
    }
    return out;
  }

  /** Delay before attempt n+1 after n failures: base·2^(n-1), capped, with "equal jitter" (½–1×). */
  backoffMs(failures: number): number {
    const cap = this.options.retryMaxMs ?? 10 * 60_000;
    const full = Math.min(cap, this.options.retryBaseMs * 2 ** Math.max(0, failures - 1));
    return Math.round(full / 2 + (this.random() * full) / 2);
  }

  private async trim(name: AnalyticsProviderName): Promise<number> {
    const rows = await this.returning(
      `DELETE FROM analytics_events WHERE id IN (
         SELECT id FROM analytics_events WHERE provider = $1 ORDER BY id DESC OFFSET $2 FOR UPDATE SKIP LOCKED)
       RETURNING id`,
      [name, this.options.maxRows],
    );
    if (rows.length > 0) {
      analyticsEvents.inc({ provider: name, outcome: "dropped" }, rows.length);
      await this.addStats(name, { dropped: rows.length }, `outbox over ${this.options.maxRows} rows: oldest dropped`);
      this.options.logger?.warn(
        { provider: name, dropped: rows.length },
        "analytics outbox full: oldest events dropped",
      );
    }
    return rows.length;
  }

  /** One claimed batch sent; undefined when nothing was due. */
  private async sendBatch(p: AnalyticsProvider): Promise<Omit<DrainResult, "dropped"> | undefined> {
    const now = this.clock();
    const due = `provider = $1 AND next_attempt_at <= $2`;
    // GA4: the batch is the oldest due row's user (one client id per request).
    const sameUser = p.batchPerUser
      ? ` AND distinct_id IS NOT DISTINCT FROM (SELECT distinct_id FROM analytics_events WHERE ${due} ORDER BY id LIMIT 1)`
      : "";
    const rows = await this.returning<Row>(
      `UPDATE analytics_events SET next_attempt_at = $3
        WHERE id IN (SELECT id FROM analytics_events WHERE ${due}${sameUser}
                      ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
        RETURNING id, name, distinct_id, insert_id, occurred_at, properties, client_ip, client_user_agent, attempts`,
      [p.name, now, new Date(now.getTime() + CLAIM_MS), p.maxBatch],
    );
    if (rows.length === 0) return undefined;
    rows.sort((a, b) => Number(a.id) - Number(b.id));
    const ids = rows.map((r) => r.id);
    try {
      await p.send(rows.map(toEvent));
    } catch (err) {
      const error =
        err instanceof ProviderError ? err : new ProviderError(String((err as Error)?.message ?? err), false);
      if (error.permanent) {
        const gone = (await this.returning(`DELETE FROM analytics_events WHERE id = ANY($1) RETURNING id`, [ids]))
          .length;
        const accepted = Math.min(error.accepted, gone);
        analyticsEvents.inc({ provider: p.name, outcome: "failed" }, gone - accepted);
        if (accepted) analyticsEvents.inc({ provider: p.name, outcome: "sent" }, accepted);
        await this.addStats(p.name, { sent: accepted, failed: gone - accepted }, error.message);
        this.options.logger?.warn({ provider: p.name, events: gone, error: error.message }, "analytics batch refused");
        return { sent: accepted, failed: gone - accepted, retried: 0 };
      }
      const attempts = Math.max(...rows.map((r) => r.attempts)) + 1;
      await this.dataSource.query(
        `UPDATE analytics_events SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = ANY($1)`,
        [ids, new Date(this.clock().getTime() + this.backoffMs(attempts)), error.message],
      );
      analyticsEvents.inc({ provider: p.name, outcome: "retried" }, rows.length);
      await this.addStats(p.name, {}, error.message);
      return { sent: 0, failed: 0, retried: rows.length };
    }
    const sent = (await this.returning(`DELETE FROM analytics_events WHERE id = ANY($1) RETURNING id`, [ids])).length;
    analyticsEvents.inc({ provider: p.name, outcome: "sent" }, sent);
    await this.addStats(p.name, { sent });
    return { sent, failed: 0, retried: 0 };
  }

  private async addStats(
    provider: string,
    n: { sent?: number; failed?: number; dropped?: number },
    lastError?: string,
  ): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO analytics_provider_stats AS s (provider, sent, failed, dropped, last_error, last_error_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (provider) DO UPDATE SET sent = s.sent + EXCLUDED.sent, failed = s.failed + EXCLUDED.failed,
         dropped = s.dropped + EXCLUDED.dropped,
         last_error = COALESCE(EXCLUDED.last_error, s.last_error),
         last_error_at = COALESCE(EXCLUDED.last_error_at, s.last_error_at)`,
      [
        provider,
        n.sent ?? 0,
        n.failed ?? 0,
        n.dropped ?? 0,
        lastError?.slice(0, 500) ?? null,
        lastError ? this.clock() : null,
      ],
    );
  }

  /** The rows of an UPDATE/DELETE … RETURNING (TypeORM answers those as [rows, affected]). */
  private async returning<T = { id: string }>(sql: string, params: unknown[]): Promise<T[]> {
    const result = (await this.dataSource.query(sql, params)) as unknown;
    if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === "number") {
      return result[0] as T[];
    }
    return result as T[];
  }
}

function toEvent(r: Row): OutboxEvent {
  return {
    name: r.name,
    distinctId: r.distinct_id ?? undefined,
    occurredAt: new Date(r.occurred_at),
    insertId: r.insert_id,
    properties: typeof r.properties === "string" ? JSON.parse(r.properties) : r.properties,
    client:
      r.client_ip !== null && r.client_user_agent !== null
        ? { ip: r.client_ip, userAgent: r.client_user_agent }
        : undefined,
  };
}
