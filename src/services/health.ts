import type { Redis } from "ioredis";
import { Gauge } from "prom-client";
import type { DataSource } from "typeorm";
import { registry } from "../metrics";

export interface HealthDependencies {
  dataSource: DataSource;
  redis?: Redis;
  /** True once shutdown began: load balancers should stop sending traffic. */
  isShuttingDown?: () => boolean;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; latencyMs: number; error?: string }>;
}

const CHECK_TIMEOUT_MS = 2000;

// Set by every readiness check (the /metrics route runs one per scrape), so alerts see what /health/ready says.
const readyGauge = new Gauge({
  name: "readiness_ready",
  help: "1 when /health/ready answers ready (every dependency answered in time, not shutting down), else 0",
  registers: [registry],
});
const checkOkGauge = new Gauge({
  name: "readiness_check_ok",
  help: "1 when the readiness check of a dependency (database, redis; process while shutting down) passed, else 0",
  labelNames: ["check"] as const,
  registers: [registry],
});
const checkLatencyGauge = new Gauge({
  name: "readiness_check_latency_seconds",
  help: "Round trip of the latest readiness check of a dependency",
  labelNames: ["check"] as const,
  registers: [registry],
});

/** Asks every backing service for a round trip; ready only if all answer in time. */
export async function checkReadiness(deps: HealthDependencies): Promise<ReadinessReport> {
  const probes: Record<string, () => Promise<unknown>> = {
    database: () => deps.dataSource.query("SELECT 1"),
  };
  if (deps.redis) {
    const redis = deps.redis;
    probes.redis = () => redis.ping();
  }
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => [name, await timed(probe)] as const),
  );
  const checks: ReadinessReport["checks"] = Object.fromEntries(entries);
  if (deps.isShuttingDown?.()) checks.process = { ok: false, latencyMs: 0, error: "shutting down" };
  const report = { ready: Object.values(checks).every((c) => c.ok), checks };
  record(report);
  return report;
}

function record(report: ReadinessReport) {
  readyGauge.set(report.ready ? 1 : 0);
  checkOkGauge.reset();
  checkLatencyGauge.reset();
  for (const [check, result] of Object.entries(report.checks)) {
    checkOkGauge.set({ check }, result.ok ? 1 : 0);
    checkLatencyGauge.set({ check }, result.latencyMs / 1000);
  }
}

async function timed(probe: () => Promise<unknown>) {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, latencyMs: elapsed(started) };
  } catch (err) {
    return { ok: false, latencyMs: elapsed(started), error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const elapsed = (since: number) => Math.round((performance.now() - since) * 10) / 10;
