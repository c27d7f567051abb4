import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Counter, Gauge } from "prom-client";
import type { DataSource } from "typeorm";
import { registry } from "../metrics";
import { isUnavailable } from "./unavailable";
import type { WalletService } from "./wallet";

const violationsGauge = new Gauge({
  name: "wallet_invariant_violations",
  help: "Broken wallet invariants found by the deployment's latest check (balances vs ledger sums, negative balances)",
  registers: [registry],
});
const lastCheckGauge = new Gauge({
  name: "wallet_invariant_last_check_timestamp_seconds",
  help: "When the deployment's latest completed wallet invariant check finished (0: none seen yet)",
  registers: [registry],
});
const intervalGauge = new Gauge({
  name: "wallet_invariant_check_interval_seconds",
  help: "WALLET_INVARIANT_CHECK_SEC (0 = checks off), so alerts know what 'recent' means",
  registers: [registry],
});
const failures = new Counter({
  name: "wallet_invariant_check_failures_total",
  help: "Wallet invariant checks this process started that failed (timeout, database unavailable)",
  registers: [registry],
});

export interface WalletInvariantCheckOptions {
  intervalSec: number;
  /** Cluster mode: one check per period across processes, and the result shared. Embedded: one process. */
  redis?: Redis;
  keyPrefix: string;
  logger: Pick<Logger, "info" | "warn" | "error">;
  /** The first check waits this long (default 10 s): a full ledger scan stays off the start-up path. */
  firstCheckDelayMs?: number;
}

interface CheckResult {
  checkedAt: number;
  violations: number;
}

/** PostgreSQL aborts a check slower than this: a full ledger scan must not hold a connection for long. */
const MAX_CHECK_MS = 60_000;

/**
 * Runs WalletService.checkInvariants every interval on one process of the deployment (the one
 * that takes the period's Redis `SET NX PX` turn, as the sweeper does), bounded by a statement
 * timeout, and publishes the result in Redis so every process reports the same figures: an alert
 * then reads the latest check whichever process ran it.
 */
export class WalletInvariantCheck {
  private timer?: NodeJS.Timeout;
  private firstTimer?: NodeJS.Timeout;
  private running = false;
  private current: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    private readonly wallet: WalletService,
    private readonly options: WalletInvariantCheckOptions,
  ) {
    intervalGauge.set(options.intervalSec);
  }

  private get periodMs() {
    return this.options.intervalSec * 1000;
  }

  /** A check soon after start-up, then one every interval; nothing when the interval is 0. */
  start(): void {
    if (this.firstTimer || this.options.intervalSec === 0) return;
    this.firstTimer = setTimeout(() => {
      this.timer = setInterval(() => this.tick(), this.periodMs);
      this.timer.unref();
      this.tick();
    }, this.options.firstCheckDelayMs ?? 10_000);
    this.firstTimer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.firstTimer);
    clearInterval(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /** Takes this period's turn (or reads the result of whoever took it) and updates the gauges. */
  private tick(): void {
    if (this.running) return; // a slow check is not joined by the next one
    this.running = true;
    this.current = this.runTurn()
      .catch((err) => {
        if (isUnavailable(err)) this.options.logger.warn({ cause: (err as Error).message }, "wallet check skipped");
        else this.options.logger.error({ err }, "wallet invariant check failed; retried next interval");
      })
      .finally(() => (this.running = false));
  }

  private async runTurn(): Promise<void> {
    const { redis } = this.options;
    if (redis && !(await this.takeTurn(redis))) {
      const shared = await redis.get(this.resultKey());
      if (shared) this.show(JSON.parse(shared) as CheckResult);
      return;
    }
    await this.checkOnce();
  }

  /** One check on this process, whoever's turn it is (tests, and `tick` once it has the turn). */
  async checkOnce(): Promise<string[]> {
    let broken: string[];
    try {
      broken = await this.dataSource.transaction(async (m) => {
        await m.query(`SET LOCAL statement_timeout = ${Math.min(MAX_CHECK_MS, Math.max(1000, this.periodMs / 2))}`);
        return this.wallet.checkInvariants(m);
      });
    } catch (err) {
      failures.inc();
      throw err;
    }
    const result = { checkedAt: Date.now() / 1000, violations: broken.length };
    this.show(result);
    if (broken.length) this.options.logger.error({ broken: broken.slice(0, 20) }, "wallet invariants broken");
    await this.options.redis?.set(this.resultKey(), JSON.stringify(result), "PX", Math.max(this.periodMs, 1000) * 10);
    return broken;
  }

  private show(result: CheckResult) {
    violationsGauge.set(result.violations);
    lastCheckGauge.set(result.checkedAt);
  }

  private async takeTurn(redis: Redis): Promise<boolean> {
    const key = `${this.options.keyPrefix}wallet-check-turn`;
    return (await redis.set(key, "1", "PX", Math.max(1000, this.periodMs - 100), "NX")) === "OK";
  }

  private resultKey() {
    return `${this.options.keyPrefix}wallet-check-result`;
  }
}
