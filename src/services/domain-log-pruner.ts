import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { domainEventsPruned } from "./domain-log-metrics";
import { isUnavailable } from "./unavailable";

export interface DomainEventPrunerOptions {
  /** Events older than this (by `occurred_at`) whose deliveries are all done are deleted. */
  retentionHours: number;
  /** Events one statement deletes at most: short transactions, short row locks. */
  batchSize?: number;
  /** Batches one pass runs at most; a larger backlog is worked off over the next passes. */
  maxBatchesPerPass?: number;
  /** How often each process runs a pass. */
  intervalMs?: number;
  logger?: Pick<Logger, "info" | "warn" | "error">;
  clock?: { now(): Date };
}

/**
 * Deletes delivered domain events after the retention, on every process. An event is delivered
 * when no delivery row is left: a pending or poisoned delivery keeps its event (and its payload,
 * for the retry or the investigation). Deliveries are written with their event, in one
 * transaction, so "no delivery left" never means "not written yet". Each batch is one statement
 * that locks what it deletes with SKIP LOCKED: passes on several processes at once take disjoint
 * rows (or find nothing), never wait on each other and never delete twice.
 */
export class DomainEventPruner {
  private readonly retentionMs: number;
  private readonly batchSize: number;
  private readonly maxBatchesPerPass: number;
  private readonly intervalMs: number;
  private readonly clock: { now(): Date };
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: DomainEventPrunerOptions,
  ) {
    this.retentionMs = options.retentionHours * 3_600_000;
    this.batchSize = options.batchSize ?? 500;
    this.maxBatchesPerPass = options.maxBatchesPerPass ?? 20;
    this.intervalMs = options.intervalMs ?? 60_000;
    this.clock = options.clock ?? { now: () => new Date() };
  }

  /** A pass now, then one every interval. */
  start(): void {
    if (this.timer) return;
    let running = false;
    const tick = () => {
      if (running) return; // a slow pass is not joined by the next one
      running = true;
      this.current = this.pruneOnce()
        .then((pruned) => {
          if (pruned > 0) this.options.logger?.info({ pruned }, "delivered domain events pruned");
        })
        .catch((err) => {
          if (isUnavailable(err))
            this.options.logger?.warn({ cause: (err as Error).message }, "domain-event prune skipped");
          else this.options.logger?.error({ err }, "domain-event prune failed; retried next interval");
        })
        .finally(() => (running = false));
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    tick();
  }

  /** Stops the passes and waits for one under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /**
   * One pass: batches until one comes back short (or the per-pass bound). Cheap when nothing is
   * due: one range scan of the `occurred_at` index below the cutoff.
   */
  async pruneOnce(now = this.clock.now()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.retentionMs);
    let total = 0;
    for (let i = 0; i < this.maxBatchesPerPass; i++) {
      const deleted = await this.deleteBatch(cutoff);
      total += deleted;
      domainEventsPruned.inc(deleted);
      if (deleted < this.batchSize) break;
    }
    return total;
  }

  private async deleteBatch(cutoff: Date): Promise<number> {
    const result = (await this.dataSource.query(
      `DELETE FROM domain_events WHERE id IN (
         SELECT e.id FROM domain_events e
          WHERE e.occurred_at < $1
            AND NOT EXISTS (SELECT 1 FROM domain_event_deliveries d WHERE d.event_id = e.id)
          ORDER BY e.occurred_at
          LIMIT $2
          FOR UPDATE OF e SKIP LOCKED)
       RETURNING id`,
      [cutoff, this.batchSize],
    )) as unknown;
    // TypeORM answers DELETE … RETURNING as [rows, affected] on PostgreSQL.
    const rows = Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) ? result[0] : result;
    return (rows as unknown[]).length;
  }
}
