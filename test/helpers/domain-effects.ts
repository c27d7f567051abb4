import assert from "node:assert/strict";
import type { DataSource } from "typeorm";
import type { AnalyticsProviderName } from "../../src/services/analytics-providers/types";
import { type FakeAnalytics, sentId } from "./fake-analytics";

/**
 * One consumer's effect of a set of events, checked as "exactly once". The consumers' checks
 * are kept separate so a suite asserts whichever consumers the servers run (badge progress
 * sums and challenge progress can join `analyticsOutboxOnce` here).
 */
export interface ConsumerEffectCheck {
  consumer: string;
  assertOnce(db: DataSource, eventIds: string[]): Promise<void>;
}

/** Every delivery of the events is done (none waiting, none poisoned), and each consumer's effect happened once. */
export async function assertDeliveredExactlyOnce(db: DataSource, eventIds: string[], checks: ConsumerEffectCheck[]) {
  const left: Array<{ consumer: string; waiting: number; poisoned: number }> = await db.query(
    `SELECT consumer, count(*) FILTER (WHERE poisoned_at IS NULL)::int AS waiting,
            count(*) FILTER (WHERE poisoned_at IS NOT NULL)::int AS poisoned
       FROM domain_event_deliveries WHERE event_id = ANY($1) GROUP BY consumer`,
    [eventIds],
  );
  assert.deepEqual(left, [], "no delivery left, none poisoned");
  for (const check of checks) await check.assertOnce(db, eventIds);
}

/** The analytics outbox id of a domain event (src/services/analytics-consumer.ts). */
export const analyticsInsertId = (eventId: string) => `domain-event:${eventId}`;

/**
 * The "analytics" consumer's effect while the providers have taken nothing yet: exactly one
 * outbox row per event for each provider in `providers` (server-side events carry no client,
 * so Plausible gets none). Rows are unique per (provider, insert id), so "one" also shows that
 * a second delivery, had there been one, added nothing.
 */
export function analyticsOutboxOnce(providers: AnalyticsProviderName[]): ConsumerEffectCheck {
  return {
    consumer: "analytics",
    async assertOnce(db, eventIds) {
      const rows: Array<{ provider: AnalyticsProviderName; n: number; events: number }> = await db.query(
        `SELECT provider, count(*)::int AS n, count(DISTINCT insert_id)::int AS events
           FROM analytics_events WHERE insert_id = ANY($1) GROUP BY provider ORDER BY provider`,
        [eventIds.map(analyticsInsertId)],
      );
      assert.deepEqual(
        rows,
        [...providers].sort().map((provider) => ({ provider, n: eventIds.length, events: eventIds.length })),
        "one analytics outbox row per event per provider",
      );
    },
  };
}

/**
 * What the fake providers received of the events: every one, by each provider in `providers`.
 * A duplicate (a batch resent after a crash between send and delete) is allowed only for a
 * provider that dedups on the id (PostHog: event uuid, Mixpanel: `$insert_id`); GA4 has no
 * dedup id, so a duplicate there would be double-counted and fails. Returns the duplicates.
 */
export function assertProvidersReceived(
  fake: FakeAnalytics,
  eventIds: string[],
  providers: AnalyticsProviderName[],
): Record<string, number> {
  const dedupById: AnalyticsProviderName[] = ["posthog", "mixpanel"];
  const duplicates: Record<string, number> = {};
  for (const provider of providers) {
    const expected = eventIds.map((id) => sentId(provider, analyticsInsertId(id)));
    const counts = new Map<string, number>();
    for (const id of fake.received[provider]) counts.set(id, (counts.get(id) ?? 0) + 1);
    const missing = expected.filter((id) => !counts.has(id));
    assert.equal(missing.length, 0, `${provider}: ${missing.length} of ${expected.length} events never received`);
    duplicates[provider] = expected.reduce((sum, id) => sum + counts.get(id)! - 1, 0);
    if (!dedupById.includes(provider)) assert.equal(duplicates[provider], 0, `${provider} received duplicates`);
  }
  return duplicates;
}

/**
 * The "badges" consumer's effect of `mole_hit` events: each user's progress towards a badge on
 * the moles' total (`mole-hunter`) is exactly the sum of their events' totals, and each event
 * left one receipt. A second delivery of any event would add its total again (or a receipt
 * would be missing where the progress moved).
 */
export function moleBadgeProgressOnce(badgeId = "mole-hunter"): ConsumerEffectCheck {
  return {
    consumer: "badges",
    async assertOnce(db, eventIds) {
      const expected: Array<{ user_id: string; total: number }> = await db.query(
        `SELECT user_id, sum((payload->>'total')::int)::int AS total FROM domain_events
          WHERE id = ANY($1) AND type = 'mole_hit' GROUP BY user_id ORDER BY user_id`,
        [eventIds],
      );
      const actual: Array<{ user_id: string; total: number }> = await db.query(
        `SELECT user_id, value::int AS total FROM badge_progress
          WHERE badge_id = $1 AND period = 'all' AND user_id = ANY($2::uuid[]) ORDER BY user_id`,
        [badgeId, expected.map((e) => e.user_id)],
      );
      assert.deepEqual(actual, expected, `${badgeId} progress is the sum of each user's events`);
      const [{ receipts }] = await db.query(
        `SELECT count(*)::int AS receipts FROM badge_event_receipts WHERE event_id = ANY($1)`,
        [eventIds],
      );
      assert.equal(receipts, eventIds.length, "one receipt per event");
    },
  };
}
