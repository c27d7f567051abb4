import { z } from "zod";
import type { DomainEvent, DomainEventType } from "./domain-log";

/**
 * The rules shared by badges and daily challenges: which users an event counts for, which number
 * it contributes, and which UTC day it belongs to. One place, so a badge and a challenge written
 * with the same criterion always count the same thing.
 */

/** Events that progression reads (the rest are for analytics only). */
export const PROGRESS_EVENTS = [
  "round_finished",
  "mole_hit",
  "call_started",
  "match_made",
  "tip_sent",
  "stream_started",
  "purchase_completed",
] as const satisfies readonly DomainEventType[];
export type ProgressEvent = (typeof PROGRESS_EVENTS)[number];

/**
 * A metric is `count` (each event counts 1) or a numeric field of the event's payload, with one
 * level of nesting (`byKind.golden`). Checked against this list so a typo fails at write time.
 */
export const METRICS: Record<ProgressEvent, readonly string[]> = {
  round_finished: ["count", "score", "hits", "misses"],
  mole_hit: ["count", "total", "byKind.normal", "byKind.golden", "byKind.bomb"],
  call_started: ["count"],
  match_made: ["count"],
  tip_sent: ["count", "amount"],
  stream_started: ["count"],
  purchase_completed: ["count", "tokens"],
};

export const COMPARISONS = ["gte", "gt", "eq", "lte", "lt"] as const;
export type Comparison = (typeof COMPARISONS)[number];

/**
 * `scope`: round — one event's metric compared with the threshold; total — the metric summed over
 * all events; day — summed within one UTC day; streak — consecutive UTC days with at least one
 * event whose metric is above zero (the threshold is the number of days).
 */
export const criterionSchema = z
  .object({
    event: z.enum(PROGRESS_EVENTS),
    metric: z.string().min(1).max(40),
    op: z.enum(COMPARISONS).default("gte"),
    threshold: z.number().int().min(-1_000_000).max(1_000_000_000),
    scope: z.enum(["round", "total", "day", "streak"]),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (!METRICS[c.event].includes(c.metric)) {
      ctx.addIssue({
        code: "custom",
        path: ["metric"],
        message: `metric must be one of ${METRICS[c.event].join(", ")} for ${c.event}`,
      });
    }
    // Accumulated values only grow: "at most" on a sum or a streak would be met by doing nothing.
    if (c.scope !== "round" && c.op !== "gte") {
      ctx.addIssue({ code: "custom", path: ["op"], message: `scope ${c.scope} takes op gte` });
    }
  });
export type Criterion = z.infer<typeof criterionSchema>;

/**
 * The users an event counts for: both peers of a call or a match, the sender of a tip, the owner
 * of a stream, the player otherwise. A flagged round (suspected automation) counts for nobody:
 * neither its round_finished nor its mole_hit.
 */
export function eventSubjects(event: DomainEvent): string[] {
  switch (event.type) {
    case "call_started":
    case "match_made": {
      const p = event.payload as { userA: string; userB: string };
      return [p.userA, p.userB];
    }
    case "tip_sent":
      return [(event.payload as { fromUserId: string }).fromUserId];
    case "stream_started":
      return [(event.payload as { ownerId: string }).ownerId];
    case "round_finished":
    case "mole_hit":
      return (event.payload as { flagged?: boolean }).flagged ? [] : [(event.payload as { userId: string }).userId];
    case "purchase_completed":
      return [(event.payload as { userId: string }).userId];
    default:
      return [];
  }
}

/** The number an event contributes to `metric` (0 when the field is absent or not a number). */
export function metricValue(event: DomainEvent, metric: string): number {
  if (metric === "count") return 1;
  let value: unknown = event.payload;
  for (const part of metric.split(".")) value = (value as Record<string, unknown> | undefined)?.[part];
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

export function compare(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case "gte":
      return value >= threshold;
    case "gt":
      return value > threshold;
    case "eq":
      return value === threshold;
    case "lte":
      return value <= threshold;
    case "lt":
      return value < threshold;
  }
}

/** `YYYY-MM-DD` of the instant in UTC: the day an event counts for is the day it happened. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The UTC day before `day` (`YYYY-MM-DD`). */
export function previousUtcDay(day: string): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000));
}

/** The first instant after the UTC day `day`. */
export function endOfUtcDay(day: string): Date {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000);
}
