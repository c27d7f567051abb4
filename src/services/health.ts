import type { Redis } from "ioredis";
import type { DataSource } from "typeorm";

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
  return { ready: Object.values(checks).every((c) => c.ok), checks };
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
