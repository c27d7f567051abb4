import type { EntityManager } from "typeorm";
import { type ChallengeDefinition, targetOf } from "./challenge-days";
import type { DomainEvent } from "./domain-log";
import { compare, metricValue } from "./progress-rules";

/**
 * What one event adds to a challenge's progress: for a single-round criterion 1 when this event
 * meets it; for a day's sum the metric (a negative value, a round scored below zero, takes nothing
 * away), at most the target.
 */
export function contribution(definition: ChallengeDefinition, event: DomainEvent): number {
  const { metric, op, threshold, scope } = definition.criteria;
  const value = metricValue(event, metric);
  if (scope === "round") return compare(value, op, threshold) ? 1 : 0;
  return Math.min(Math.max(0, Math.floor(value)), targetOf(definition));
}

/**
 * Adds `amount` to a user's progress on a day's challenge, capped at the target, in `m`; stamps
 * `completed_at` (the event's time) when the target is reached. A completed row is left as it
 * is. Returns true when this call completed it.
 */
export async function advance(
  m: EntityManager,
  input: { userId: string; day: string; definition: ChallengeDefinition; amount: number; at: Date },
): Promise<boolean> {
  const rows: Array<{ completed_at: Date | null }> = await m.query(
    `INSERT INTO challenge_progress AS p (user_id, day, challenge_id, progress, completed_at)
     VALUES ($1, $2::date, $3, $4::int, CASE WHEN $4::int >= $5::int THEN $6::timestamptz END)
     ON CONFLICT (user_id, day, challenge_id) DO UPDATE
        SET progress = LEAST(p.progress + EXCLUDED.progress, $5::int),
            completed_at = CASE WHEN p.progress + EXCLUDED.progress >= $5::int THEN $6::timestamptz END
      WHERE p.completed_at IS NULL
     RETURNING completed_at`,
    [input.userId, input.day, input.definition.id, input.amount, targetOf(input.definition), input.at],
  );
  return rows.length > 0 && rows[0].completed_at !== null;
}
