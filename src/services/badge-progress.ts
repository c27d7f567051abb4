import type { EntityManager } from "typeorm";
import { type BadgeDefinition, type BadgeService, awardPeriod, progressPeriod } from "./badges";
import type { DomainEvent, DomainLog } from "./domain-log";
import { compare, eventSubjects, metricValue, PROGRESS_EVENTS, utcDay } from "./progress-rules";
import { canEarnRewards } from "./reward-eligibility";
import type { WalletService } from "./wallet";

export const BADGE_PROGRESS_CONSUMER = "badges";

/**
 * Advances badges from domain events, in the delivery's transaction `m`: progress, the award
 * (unique per user, badge and period), its reward and its `badge_awarded` event all commit with
 * the delivery, or none of them does. A receipt per event makes a second run of the same event
 * (a re-delivery, a direct call) change nothing.
 */
export class BadgeProgress {
  constructor(
    private readonly badges: BadgeService,
    private readonly wallet: WalletService,
    private readonly domainLog: DomainLog,
  ) {}

  /** The consumer's handler. Definitions are read per event, so an edit on any process applies at once. */
  async handle(m: EntityManager, event: DomainEvent): Promise<void> {
    const subjects = [...new Set(eventSubjects(event))].sort(); // one lock order for every process
    if (subjects.length === 0) return;
    const definitions = await this.badges.definitionsFor(m, event.type);
    if (definitions.length === 0) return;
    const [receipt] = await m.query(
      `INSERT INTO badge_event_receipts (event_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING event_id`,
      [event.id],
    );
    if (!receipt) return; // handled before
    const day = utcDay(event.occurredAt);
    for (const userId of subjects) {
      for (const badge of definitions) await this.advance(m, event, userId, badge, day);
    }
  }

  private async advance(m: EntityManager, event: DomainEvent, userId: string, badge: BadgeDefinition, day: string) {
    const { criteria } = badge;
    const contribution = metricValue(event, criteria.metric);
    const period = progressPeriod(criteria, badge.repeatable, day);
    let holds: boolean;
    switch (criteria.scope) {
      case "round": {
        // This event alone decides; the stored value is the best so far, for the progress view.
        const best = criteria.op === "lt" || criteria.op === "lte" ? "LEAST" : "GREATEST";
        await m.query(
          `INSERT INTO badge_progress (user_id, badge_id, period, value) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id, badge_id, period)
           DO UPDATE SET value = ${best}(badge_progress.value, EXCLUDED.value), updated_at = now()`,
          [userId, badge.id, period, contribution],
        );
        holds = compare(contribution, criteria.op, criteria.threshold);
        break;
      }
      case "total":
      case "day": {
        if (contribution === 0) return; // adds nothing
        const [{ value }] = await m.query(
          `INSERT INTO badge_progress (user_id, badge_id, period, value) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id, badge_id, period)
           DO UPDATE SET value = badge_progress.value + EXCLUDED.value, updated_at = now()
           RETURNING value`,
          [userId, badge.id, period, contribution],
        );
        holds = compare(Number(value), criteria.op, criteria.threshold);
        break;
      }
      case "streak": {
        if (contribution <= 0) return; // not a day that counts
        // The day after the last one extends the run, the same day keeps it, a gap restarts it at 1;
        // an older day (a late delivery) changes nothing.
        const [{ value }] = await m.query(
          `INSERT INTO badge_progress (user_id, badge_id, period, value, last_day) VALUES ($1, $2, $3, 1, $4::date)
           ON CONFLICT (user_id, badge_id, period) DO UPDATE SET
             value = CASE
               WHEN badge_progress.last_day IS NULL OR EXCLUDED.last_day > badge_progress.last_day + 1 THEN 1
               WHEN EXCLUDED.last_day = badge_progress.last_day + 1 THEN badge_progress.value + 1
               ELSE badge_progress.value END,
             last_day = GREATEST(badge_progress.last_day, EXCLUDED.last_day),
             updated_at = now()
           RETURNING value`,
          [userId, badge.id, period, day],
        );
        holds = compare(Number(value), criteria.op, criteria.threshold);
        break;
      }
    }
    if (holds) await this.award(m, event, userId, badge, awardPeriod(badge.repeatable, day));
  }

  /** Once per (user, badge, period): the award row decides; only its inserter credits and records. */
  private async award(m: EntityManager, event: DomainEvent, userId: string, badge: BadgeDefinition, period: string) {
    const [inserted] = await m.query(
      `INSERT INTO badge_awards (user_id, badge_id, period, event_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, badge_id, period) DO NOTHING RETURNING id`,
      [userId, badge.id, period, event.id],
    );
    if (!inserted) return;
    // The badge is earned either way; its tokens only reach accounts that may receive rewards.
    const reward = badge.reward > 0 && (await canEarnRewards(m, userId)) ? badge.reward : 0;
    if (reward > 0) {
      await this.wallet.apply(
        [
          {
            userId,
            delta: reward,
            reason: "badge",
            refType: "badge",
            refId: badge.id,
            idempotencyKey: `badge:${userId}:${badge.id}:${period}`,
          },
        ],
        m,
      );
    }
    await this.domainLog.record(m, "badge_awarded", { userId, badgeId: badge.id, period, reward }, { userId });
  }
}

/** Registers the `badges` consumer (on every process, before the dispatcher starts). */
export function registerBadgeProgress(log: DomainLog, progress: BadgeProgress): void {
  log.register(BADGE_PROGRESS_CONSUMER, (m, event) => progress.handle(m, event), { types: PROGRESS_EVENTS });
}
