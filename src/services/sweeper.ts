import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Counter } from "prom-client";
import { registry } from "../metrics";
import type { CallService } from "./calls";
import type { MatchmakingService } from "./matchmaking";
import type { PlaySessionService } from "./play-sessions";
import type { ProcessLeases } from "./process-leases";
import type { StreamService } from "./streams";
import type { WhackService } from "./whack";
import { isUnavailable } from "./unavailable";

export interface SweeperDependencies {
  leases: ProcessLeases;
  calls: CallService;
  play: PlaySessionService;
  streams: StreamService;
  matchmaking: MatchmakingService;
  whack: WhackService;
  /** Cluster mode: one sweep at a time across processes. Embedded mode has one process. */
  redis?: Redis;
  keyPrefix: string;
  logger: Logger;
}

export interface SweepReport {
  deadProcesses: number;
  calls: number;
  playSessions: number;
  streamsEnded: number;
  queueMarkers: number;
  whackRounds: number;
  /** Rounds whose pending leaderboard writes this sweep applied (the whack outbox). */
  whackLeaderboards: number;
}

const swept = new Counter({
  name: "sweep_leftovers_total",
  help: "What dead processes left behind and a sweep cleaned up, by kind",
  labelNames: ["kind"] as const,
  registers: [registry],
});

/**
 * Cleans up after dead processes. Every process renews its lease and, every
 * period, tries to become this period's sweeper (a Redis `SET NX PX` that lasts
 * one period); the one that does ends what processes without a lease left
 * behind. Every step is idempotent, so an overlap (a slow sweep, two
 * processes) repeats nothing: no refund twice, no session billed twice.
 * Each sweep also retries the whack leaderboard writes still pending (WhackOutbox).
 */
export class Sweeper {
  private timer?: NodeJS.Timeout;
  private running = false;
  /** The tick in progress, awaited by stop() so nothing sweeps on a closed connection. */
  private current: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SweeperDependencies) {}

  /** Renews well within the lease TTL: a third of it, so two renewals may fail before the lease lapses. */
  get periodMs(): number {
    return Math.max(1000, Math.floor((this.deps.leases.ttlSec * 1000) / 3));
  }

  /** Takes the lease (before anything is tagged with this process), sweeps once, then periodically. */
  async start(): Promise<void> {
    await this.deps.leases.renew();
    this.deps.logger.info({ processId: this.deps.leases.processId }, "process lease taken");
    await this.tick();
    this.timer = setInterval(() => (this.current = this.tick()), this.periodMs);
    this.timer.unref();
  }

  /** Stops renewing: the lease lapses after its TTL, once the rooms here have ended what they hosted. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.current;
  }

  /** One cleanup, without the cluster-wide turn (tests, and `tick` once it has the turn). */
  async sweepOnce(): Promise<SweepReport> {
    const { leases, calls, play, streams, matchmaking, whack } = this.deps;
    const owners = (
      await Promise.all([
        calls.openProcessIds(),
        play.openProcessIds(),
        streams.openProcessIds(),
        whack.openProcessIds(),
      ])
    ).flat();
    const [deadOwners, deadRegistered] = await Promise.all([leases.dead(owners), leases.deadRegistered()]);
    const dead = [...new Set([...deadOwners, ...deadRegistered])];
    const report: SweepReport = {
      deadProcesses: dead.length,
      calls: await calls.sweep(dead),
      playSessions: await play.sweep(dead),
      streamsEnded: await streams.sweep(dead),
      queueMarkers: 0,
      whackRounds: 0,
      whackLeaderboards: 0,
    };
    for (const processId of deadRegistered) {
      report.queueMarkers += await matchmaking.clearMarkersOf(processId);
      await leases.forget(processId);
    }
    // Rounds still name their dead process after it is forgotten, so a failure here is retried.
    report.whackRounds = await whack.sweep(dead);
    // After the rounds above (their writes are tried at once): retries writes that failed earlier.
    report.whackLeaderboards = (await whack.applyPendingLeaderboards()).applied;
    swept.inc({ kind: "call" }, report.calls);
    swept.inc({ kind: "play_session" }, report.playSessions);
    swept.inc({ kind: "stream" }, report.streamsEnded);
    swept.inc({ kind: "queue_marker" }, report.queueMarkers);
    swept.inc({ kind: "whack_round" }, report.whackRounds);
    return report;
  }

  private async tick(): Promise<void> {
    try {
      await this.deps.leases.renew();
    } catch (err) {
      this.deps.logger.warn({ err }, "process lease renewal failed");
    }
    if (this.running) return;
    this.running = true;
    try {
      if (!(await this.takeTurn())) return;
      const report = await this.sweepOnce();
      const { deadProcesses, ...cleaned } = report;
      if (Object.values(cleaned).some(Boolean)) this.deps.logger.info({ deadProcesses, ...cleaned }, "swept leftovers");
    } catch (err) {
      // An outage is expected to fail sweeps until it ends (the next period retries): no stack each time.
      if (isUnavailable(err)) this.deps.logger.warn({ cause: (err as Error).message }, "leftover sweep skipped");
      else this.deps.logger.error({ err }, "leftover sweep failed");
    } finally {
      this.running = false;
    }
  }

  /** This period's sweep falls to whoever sets the key first; it expires by the next period. */
  private async takeTurn(): Promise<boolean> {
    if (!this.deps.redis) return true;
    const key = `${this.deps.keyPrefix}sweep-turn`;
    return (await this.deps.redis.set(key, this.deps.leases.processId, "PX", this.periodMs - 100, "NX")) === "OK";
  }
}
