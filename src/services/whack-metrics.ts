import { Counter, Gauge } from "prom-client";
import { registry } from "../metrics";

export const whackRounds = new Counter({
  name: "whack_rounds_total",
  help: "Whack-a-mole rounds ended, by mode and end reason (server_lost: finished by a sweep after a crash)",
  labelNames: ["mode", "reason"] as const,
  registers: [registry],
});

export const whackFlaggedRounds = new Counter({
  name: "whack_flagged_rounds_total",
  help: "Whack-a-mole rounds that ended with at least one flagged player (kept off the leaderboards)",
  registers: [registry],
});

export const whackLeaderboardApplied = new Counter({
  name: "whack_leaderboard_rounds_applied_total",
  help: "Rounds whose leaderboard writes were applied (each round counts once)",
  registers: [registry],
});

export const whackLeaderboardFailures = new Counter({
  name: "whack_leaderboard_apply_failures_total",
  help: "Failed attempts to apply a round's leaderboard writes (the outbox retries them)",
  registers: [registry],
});

export const whackLeaderboardPending = new Gauge({
  name: "whack_leaderboard_outbox_pending",
  help: "Ended rounds whose leaderboard writes are not applied yet, as of this process's last outbox pass",
  registers: [registry],
});
