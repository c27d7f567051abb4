import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  QueryRunner,
  TransactionCommitEvent,
} from "typeorm";
import { domainEventDeliveries, domainEventLag, domainEventsRecorded } from "./domain-log-metrics";

/**
 * Every domain event's payload, by event name. Ids, amounts and scores only: never an email,
 * an address or free text a user typed (consumers keep these rows; personal data stays out).
 */
export interface DomainEventPayloads {
  user_registered: { userId: string; upgradedFromGuest: boolean };
  login: { userId: string };
  tip_sent: { fromUserId: string; toUserId: string; amount: number; streamId: string | null };
  stream_started: { streamId: string; ownerId: string };
  purchase_completed: { purchaseId: string; userId: string; packId: string; tokens: number };
  call_started: { callId: string; userA: string; userB: string; region: string; language: string };
  match_made: { matchId: string; callId: string; userA: string; userB: string };
  /** One per player of a played round. */
  round_finished: {
    roundId: string;
    mode: string;
    userId: string;
    score: number;
    hits: number;
    misses: number;
    rank: number;
    flagged: boolean;
    endReason: string;
  };
  /** The moles one player hit in one round, counted by kind (one event per player per round). */
  mole_hit: { roundId: string; userId: string; total: number; byKind: Record<string, number>; flagged: boolean };
  /** A badge was awarded (its reward, if any, credited in the same transaction). */
  badge_awarded: { userId: string; badgeId: string; period: string; reward: number };
  /** A daily challenge's reward was claimed. */
  challenge_claimed: { userId: string; challengeId: string; day: string; reward: number };
}

export type DomainEventType = keyof DomainEventPayloads;

export interface DomainEvent<T extends DomainEventType = DomainEventType> {
  id: string;
  type: T;
  /** The user the event is about (the actor), when there is one. */
  userId: string | null;
  payload: DomainEventPayloads[T];
  occurredAt: Date;
}

/**
 * A consumer's handler: its database work goes through `m`, the dispatcher's transaction, which
 * also completes the delivery. Throwing rolls its effects back; the delivery is retried later.
 */
export type DomainEventHandler = (m: EntityManager, event: DomainEvent) => Promise<void>;

export interface DomainLogOptions {
  logger?: Pick<Logger, "warn" | "error">;
  clock?: { now(): Date };
  /** How often each process looks for due deliveries (besides the nudge after a local commit). */
  pollMs?: number;
  /** Deliveries taken per transaction: small, so a dispatch pass never holds the database for long. */
  batchSize?: number;
  /** The first retry waits this long; each further one twice as long, up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** After this many failures a delivery is kept as poisoned: counted, never picked again. */
  maxAttempts?: number;
}

interface PendingRow {
  event_id: string;
  consumer: string;
  attempts: number;
  type: DomainEventType;
  user_id: string | null;
  payload: DomainEventPayloads[DomainEventType];
  occurred_at: Date;
}

/**
 * The domain-event log (a transactional outbox). `record` writes the event and one delivery row
 * per registered consumer in the caller's transaction: the event exists if and only if the change
 * it describes committed. The dispatcher, on every process, takes due deliveries with
 * `FOR UPDATE SKIP LOCKED` and runs each consumer in the same transaction that deletes its
 * delivery: a consumer's database effects happen exactly once, and a crash before the commit
 * only means the delivery is taken again. Per-delivery rows (not a cursor over event ids) so an
 * event that commits after a later-numbered one is never skipped.
 *
 * Consumers register (by a stable name) before `start`; an event gets deliveries for the
 * consumers registered when it is recorded. Order between events is not guaranteed (retries).
 */
export class DomainLog {
  private readonly consumers = new Map<string, DomainEventHandler>();
  /** The event types each consumer takes, when it named them (otherwise every type). */
  private readonly consumerTypes = new Map<string, ReadonlySet<DomainEventType>>();
  private readonly clock: { now(): Date };
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  readonly maxAttempts: number;
  /** Transactions (their query runners) that recorded an event: their commit nudges the dispatcher. */
  private readonly recorders = new WeakSet<QueryRunner>();
  private timer: NodeJS.Timeout | undefined;
  /** Our afterTransactionCommit subscriber on the data source, while started. */
  private nudger: EntitySubscriberInterface | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private started = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: DomainLogOptions = {},
  ) {
    this.clock = options.clock ?? { now: () => new Date() };
    this.pollMs = options.pollMs ?? 500;
    this.batchSize = options.batchSize ?? 10;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 5 * 60_000;
    this.maxAttempts = options.maxAttempts ?? 10;
  }

  /**
   * Adds a consumer; it receives the events recorded from now on. Names are stored: keep them
   * stable. With `types`, only events of those types get a delivery for it (no row, no pass).
   */
  register(name: string, handler: DomainEventHandler, options: { types?: readonly DomainEventType[] } = {}): void {
    if (this.consumers.has(name)) throw new Error(`domain-event consumer "${name}" is registered already`);
    this.consumers.set(name, handler);
    if (options.types) this.consumerTypes.set(name, new Set(options.types));
  }

  /** Removes a consumer: its pending deliveries stay stored, untouched by this process. */
  unregister(name: string): void {
    this.consumers.delete(name);
    this.consumerTypes.delete(name);
  }

  /**
   * Records one event inside the caller's transaction (`m` must be a transaction's manager):
   * the event row and one delivery per consumer that takes its type. One insert each; nothing else on the caller's path.
   */
  async record<T extends DomainEventType>(
    m: EntityManager,
    type: T,
    payload: DomainEventPayloads[T],
    meta: { userId?: string | null; occurredAt?: Date } = {},
  ): Promise<string> {
    const id = randomUUID();
    await m.query(`INSERT INTO domain_events (id, type, user_id, payload, occurred_at) VALUES ($1, $2, $3, $4, $5)`, [
      id,
      type,
      meta.userId ?? null,
      JSON.stringify(payload),
      meta.occurredAt ?? this.clock.now(),
    ]);
    const names = [...this.consumers.keys()].filter((name) => this.consumerTypes.get(name)?.has(type) ?? true);
    if (names.length > 0) {
      await m.query(
        `INSERT INTO domain_event_deliveries (event_id, consumer, next_at) SELECT $1::uuid, unnest($2::text[]), $3::timestamptz`,
        [id, names, this.clock.now()],
      );
    }
    domainEventsRecorded.inc({ type });
    if (m.queryRunner) this.recorders.add(m.queryRunner);
    return id;
  }

  /** Starts the dispatcher on this process: a poll, and a pass right after a local commit that recorded. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const nudger: EntitySubscriberInterface = {
      afterTransactionCommit: (e: TransactionCommitEvent) => {
        // A nested transaction's commit is a savepoint release: only the outermost one counts.
        if (!e.queryRunner.isTransactionActive && this.recorders.has(e.queryRunner)) {
          this.recorders.delete(e.queryRunner);
          this.nudge();
        }
      },
    };
    this.dataSource.subscribers.push(nudger);
    this.nudger = nudger;
    this.schedule();
  }

  /** Stops polling and waits for a pass under way (its transaction commits or rolls back). */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.nudger ? this.dataSource.subscribers.indexOf(this.nudger) : -1;
    if (at >= 0) this.dataSource.subscribers.splice(at, 1);
    await this.running;
  }

  /** Asks for a dispatch pass soon (coalesced with one under way). */
  nudge(): void {
    if (!this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), 0);
  }

  private schedule(): void {
    if (!this.started) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), this.again ? 0 : this.pollMs);
    this.again = false;
  }

  private tick(): void {
    this.timer = undefined;
    this.running = this.drain()
      .catch((err) => this.options.logger?.error({ err }, "domain-event dispatch failed; retried on the next pass"))
      .finally(() => {
        this.running = undefined;
        this.schedule();
      });
  }

  /** Passes until nothing due is left (or the dispatcher stops). */
  private async drain(): Promise<void> {
    while (this.started) {
      const { taken } = await this.dispatchOnce();
      if (taken < this.batchSize) break;
    }
    await this.measureLag();
  }

  /**
   * One transaction: takes up to `batchSize` due deliveries of this process's consumers (rows
   * other dispatchers hold are skipped), runs each consumer in a savepoint, and completes the
   * delivery (deleted) or schedules its retry (attempts, next_at; poisoned after `maxAttempts`).
   */
  async dispatchOnce(now = this.clock.now()): Promise<{ taken: number; delivered: number; failed: number }> {
    const names = [...this.consumers.keys()];
    if (names.length === 0) return { taken: 0, delivered: 0, failed: 0 };
    return this.dataSource.transaction(async (m) => {
      const rows: PendingRow[] = await m.query(
        `SELECT d.event_id, d.consumer, d.attempts, e.type, e.user_id, e.payload, e.occurred_at
           FROM domain_event_deliveries d JOIN domain_events e ON e.id = d.event_id
          WHERE d.poisoned_at IS NULL AND d.next_at <= $1 AND d.consumer = ANY($2::text[])
          ORDER BY d.next_at, e.occurred_at
          LIMIT $3
          FOR UPDATE OF d SKIP LOCKED`,
        [now, names, this.batchSize],
      );
      let delivered = 0;
      let failed = 0;
      for (const row of rows) {
        const handler = this.consumers.get(row.consumer);
        if (!handler) continue; // unregistered meanwhile: left for later
        const event: DomainEvent = {
          id: row.event_id,
          type: row.type,
          userId: row.user_id,
          payload: row.payload,
          occurredAt: new Date(row.occurred_at),
        };
        try {
          // A nested transaction is a savepoint: a throwing consumer's effects roll back alone.
          await m.transaction((inner) => handler(inner, event));
          await m.query(`DELETE FROM domain_event_deliveries WHERE event_id = $1 AND consumer = $2`, [
            row.event_id,
            row.consumer,
          ]);
          delivered++;
          domainEventDeliveries.inc({ consumer: row.consumer, outcome: "delivered" });
        } catch (err) {
          failed++;
          await this.retryLater(m, row, now, err);
        }
      }
      return { taken: rows.length, delivered, failed };
    });
  }

  private async retryLater(m: EntityManager, row: PendingRow, now: Date, err: unknown): Promise<void> {
    const attempts = row.attempts + 1;
    const poisoned = attempts >= this.maxAttempts;
    const delay = Math.min(this.retryDelayMs * 2 ** (attempts - 1), this.maxRetryDelayMs);
    await m.query(
      `UPDATE domain_event_deliveries SET attempts = $3, next_at = $4, poisoned_at = $5, last_error = $6
        WHERE event_id = $1 AND consumer = $2`,
      [
        row.event_id,
        row.consumer,
        attempts,
        new Date(now.getTime() + delay),
        poisoned ? now : null,
        String(err instanceof Error ? err.message : err).slice(0, 500),
      ],
    );
    domainEventDeliveries.inc({ consumer: row.consumer, outcome: poisoned ? "poisoned" : "failed" });
    this.options.logger?.[poisoned ? "error" : "warn"](
      { err, eventId: row.event_id, consumer: row.consumer, attempts },
      poisoned ? "domain-event delivery poisoned: kept, not retried" : "domain-event consumer failed; retried later",
    );
  }

  /** domain_event_lag_seconds: the age of the oldest delivery still waiting (poisoned ones aside). */
  private async measureLag(): Promise<void> {
    const names = [...this.consumers.keys()];
    if (names.length === 0) return domainEventLag.set(0);
    const [{ oldest }]: Array<{ oldest: Date | null }> = await this.dataSource.query(
      `SELECT min(e.occurred_at) AS oldest
         FROM domain_event_deliveries d JOIN domain_events e ON e.id = d.event_id
        WHERE d.poisoned_at IS NULL AND d.consumer = ANY($1::text[])`,
      [names],
    );
    domainEventLag.set(oldest ? Math.max(0, (this.clock.now().getTime() - new Date(oldest).getTime()) / 1000) : 0);
  }
}
