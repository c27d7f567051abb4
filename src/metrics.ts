import { matchMaker } from "@colyseus/core";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The process's Prometheus registry. Domains define their counters against it
 * at module scope (one server per process, as Colyseus' matchmaker is a singleton).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const httpRequestDuration = new Histogram({
  name: "http_request_duration_seconds",
  // status_class is what alerts count: Colyseus' client-caused 52x matchmaking refusals are "4xx" there.
  help: "HTTP request duration by method, route template, status and status class (2xx..5xx)",
  labelNames: ["method", "route", "status", "status_class"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

new Gauge({
  name: "colyseus_connected_clients",
  help: "WebSocket clients connected to rooms on this process",
  registers: [registry],
  collect() {
    this.set(matchMaker.stats.local.ccu);
  },
});

new Gauge({
  name: "colyseus_rooms",
  help: "Rooms hosted by this process, by room name",
  labelNames: ["name"] as const,
  registers: [registry],
  async collect() {
    this.reset();
    if (!matchMaker.driver) return;
    const rooms = await matchMaker.query({ processId: matchMaker.processId });
    const counts = new Map<string, number>();
    for (const room of rooms) counts.set(room.name, (counts.get(room.name) ?? 0) + 1);
    for (const [name, count] of counts) this.set({ name }, count);
  },
});

/** Rank structures rebuilt from the database (first use in a process, Redis data lost, idle eviction). */
export const leaderboardRankRebuilds = new Counter({
  name: "leaderboard_rank_rebuilds_total",
  help: "Leaderboard rank indexes rebuilt from the database, by mode (memory, redis)",
  labelNames: ["mode"] as const,
  registers: [registry],
});

export const leaderboardWrites = new Counter({
  name: "leaderboard_writes_total",
  help: "Leaderboard submissions by board and outcome (changed, unchanged, duplicate idempotency key)",
  labelNames: ["board", "outcome"] as const,
  registers: [registry],
});

/** Analytics outbox rows by provider and outcome (sent, failed = refused by the provider, dropped = trimmed, retried). */
export const analyticsEvents = new Counter({
  name: "analytics_events_total",
  help: "Analytics outbox rows by provider and outcome (sent, failed, dropped, retried)",
  labelNames: ["provider", "outcome"] as const,
  registers: [registry],
});

export const analyticsQueued = new Gauge({
  name: "analytics_events_queued",
  help: "Analytics outbox rows waiting for a provider, as of this process's last send",
  labelNames: ["provider"] as const,
  registers: [registry],
});

export const starknetSignins = new Counter({
  name: "starknet_signins_total",
  help: "StarkNet wallet sign-ins by outcome (signed_in, linked, refused, unavailable)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const starknetMints = new Counter({
  name: "starknet_mints_total",
  help: "Badge mints by outcome (queued, submitted, accepted, failed, retried, resent, reprepared)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const starknetMintsPending = new Gauge({
  name: "starknet_mints_pending",
  help: "Badge mints not yet accepted or failed, as of this process's last worker pass",
  registers: [registry],
});
