import type { AnalyticsService } from "./analytics";
import type { DomainLog } from "./domain-log";

/**
 * Every domain event becomes a product analytics event, once: the outbox rows are written in
 * the delivery's own transaction, and the event id is the providers' dedup id. Events raised by
 * the server carry no client address or agent, so Plausible (which needs them) skips them.
 */
export function registerAnalyticsConsumer(log: DomainLog, analytics: AnalyticsService, name = "analytics"): void {
  log.register(name, (m, event) =>
    analytics.track(m, {
      name: event.type,
      userId: event.userId ?? undefined,
      occurredAt: event.occurredAt,
      insertId: `domain-event:${event.id}`,
      properties: { ...event.payload },
    }),
  );
}
