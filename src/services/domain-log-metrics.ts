import { Counter, Gauge } from "prom-client";
import { registry } from "../metrics";

export const domainEventsRecorded = new Counter({
  name: "domain_events_recorded_total",
  help: "Domain events recorded (in the transaction of their change), by type",
  labelNames: ["type"] as const,
  registers: [registry],
});

export const domainEventDeliveries = new Counter({
  name: "domain_event_deliveries_total",
  help: "Domain-event deliveries by consumer and outcome (delivered, failed: retried later, poisoned: kept, not retried)",
  labelNames: ["consumer", "outcome"] as const,
  registers: [registry],
});

export const domainEventLag = new Gauge({
  name: "domain_event_lag_seconds",
  help: "Age of the oldest domain-event delivery still waiting for one of this process's consumers (poisoned ones aside)",
  registers: [registry],
});

export const domainEventsPruned = new Counter({
  name: "domain_events_pruned_total",
  help: "Delivered domain events deleted after the retention (DOMAIN_EVENT_RETENTION_HOURS)",
  registers: [registry],
});
