import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { EntityManager } from "typeorm";
import { z } from "zod";
import { criterionSchema } from "./progress-rules";

/** A challenge counts within one UTC day (a sum) or one round at a time (met by a single event). */
export const challengeCriterionSchema = criterionSchema.refine((c) => c.scope === "day" || c.scope === "round", {
  path: ["scope"],
  message: "a challenge's scope is day or round",
});
export type ChallengeCriterion = z.infer<typeof challengeCriterionSchema>;

export interface ChallengeDefinition {
  /** A slug: the part after the day in a challenge's API id. */
  id: string;
  title: string;
  description: string;
  criteria: ChallengeCriterion;
  /** Tokens credited on claim (0: none). */
  reward: number;
}

/** The progress that completes a challenge: the threshold of a day's sum, 1 for a single-round criterion. */
export function targetOf(definition: ChallengeDefinition): number {
  return definition.criteria.scope === "round" ? 1 : Math.max(1, definition.criteria.threshold);
}

/**
 * The deterministic part: the `count` definitions with the smallest sha256(`${day}:${id}`). Any
 * process computes the same set for the same definitions, with no coordination; a different day
 * shuffles them anew.
 */
export function chooseForDay(day: string, definitions: ChallengeDefinition[], count: number): ChallengeDefinition[] {
  return definitions
    .map((definition) => ({ definition, key: createHash("sha256").update(`${day}:${definition.id}`).digest("hex") }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, count)
    .map((x) => x.definition);
}

/** Days kept in a process's memory (a pinned day never changes, so any of them may be dropped and re-read). */
const CACHED_DAYS = 16;

/**
 * Each UTC day's set of challenges. The set is chosen by `chooseForDay` from the active
 * definitions, then pinned: the first use of a day (a list, a claim, an event of that day) stores
 * a snapshot of the chosen definitions in `challenge_days`, and from then on that snapshot is the
 * day's set. So editing, adding or deactivating definitions changes only days not used yet, never
 * one under way (progress, targets and rewards stay what players saw). Racing pins of one day
 * compute the same set; `ON CONFLICT DO NOTHING` keeps the first and everyone reads it back.
 */
export class ChallengeDays {
  private readonly pinned = new Map<string, ChallengeDefinition[]>();

  constructor(private readonly options: { perDay: number; logger?: Pick<Logger, "warn"> }) {}

  /**
   * The day's set, through `m` (the caller's transaction, if any). `pin: false` answers for a day
   * without storing it (a past day nobody used: whatever the definitions say now).
   */
  async forDay(m: EntityManager, day: string, { pin }: { pin: boolean }): Promise<ChallengeDefinition[]> {
    const cached = this.pinned.get(day);
    if (cached) return cached;
    const stored = await this.readPinned(m, day);
    if (stored) return this.remember(day, stored);
    const chosen = chooseForDay(day, await this.definitions(m), this.options.perDay);
    if (!pin) return chosen;
    await m.query(`INSERT INTO challenge_days (day, challenges) VALUES ($1::date, $2::jsonb) ON CONFLICT DO NOTHING`, [
      day,
      JSON.stringify(chosen),
    ]);
    // Not cached yet: our insert may still roll back with the caller's transaction.
    return (await this.readPinned(m, day)) ?? chosen;
  }

  /** The active definitions whose criteria are valid (a broken row is skipped and logged, not fatal). */
  async definitions(m: EntityManager): Promise<ChallengeDefinition[]> {
    const rows: Array<Omit<ChallengeDefinition, "criteria"> & { criteria: unknown }> = await m.query(
      `SELECT id, title, description, criteria, reward FROM challenge_definitions WHERE active ORDER BY id`,
    );
    const valid: ChallengeDefinition[] = [];
    for (const row of rows) {
      const criteria = challengeCriterionSchema.safeParse(row.criteria);
      if (criteria.success) valid.push({ ...row, reward: Number(row.reward), criteria: criteria.data });
      else this.options.logger?.warn({ definitionId: row.id }, "challenge definition with invalid criteria skipped");
    }
    return valid;
  }

  private async readPinned(m: EntityManager, day: string): Promise<ChallengeDefinition[] | undefined> {
    const rows: Array<{ challenges: ChallengeDefinition[] }> = await m.query(
      `SELECT challenges FROM challenge_days WHERE day = $1::date`,
      [day],
    );
    return rows[0]?.challenges;
  }

  private remember(day: string, set: ChallengeDefinition[]): ChallengeDefinition[] {
    this.pinned.set(day, set);
    if (this.pinned.size > CACHED_DAYS) this.pinned.delete(this.pinned.keys().next().value!);
    return set;
  }
}
