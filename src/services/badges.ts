import type { DataSource, EntityManager } from "typeorm";
import { badRequest, conflict, notFound } from "./errors";
import { type Criterion, criterionSchema, utcDay, previousUtcDay } from "./progress-rules";

/** `never`: earned once; `daily`: earned again each UTC day the criterion holds. */
export type Repeatable = "never" | "daily";

export interface BadgeDefinition {
  id: string;
  name: string;
  description: string;
  icon: string;
  criteria: Criterion;
  reward: number;
  repeatable: Repeatable;
  hidden: boolean;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

export type BadgeInput = Pick<BadgeDefinition, "id" | "name" | "criteria" | "reward"> &
  Partial<Pick<BadgeDefinition, "description" | "icon" | "repeatable" | "hidden" | "active">>;
export type BadgePatch = Partial<Omit<BadgeInput, "id">>;

/** What anyone may see of a definition. */
export interface BadgeView {
  id: string;
  name: string;
  description: string;
  icon: string;
  reward: number;
  hidden: boolean;
  repeatable: Repeatable;
}

export interface EarnedBadge {
  badgeId: string;
  name: string;
  awardedAt: string;
  /** `all` for a badge earned once, the UTC day (`YYYY-MM-DD`) for a daily one. */
  period: string;
  /** The award's on-chain mint (StarkNet, when configured and the user has a linked wallet); null otherwise. */
  onChain: OnChainMint | null;
}

export interface OnChainMint {
  status: "pending" | "submitted" | "accepted" | "failed";
  /** The mint transaction's hash once one is signed (a pending one may still be prepared anew). */
  txHash: string | null;
}

export interface BadgeProgressView {
  badgeId: string;
  name: string;
  scope: Criterion["scope"];
  /** The criterion's threshold (days, for a streak). */
  target: number;
  /** round: the best value this period; total/day: the sum; streak: the current run of days. */
  value: number;
  /** The period `value` and `earned` are about: `all`, or today (UTC) for daily badges and day scopes. */
  period: string;
  /** Earned in the period a new award would go to (`all`, or today for daily badges). */
  earned: boolean;
  awardedAt: string | null;
}

interface BadgeRow {
  id: string;
  name: string;
  description: string;
  icon: string;
  criteria: unknown;
  reward: number;
  repeatable: Repeatable;
  hidden: boolean;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

const badgeNotFound = (id: string) => notFound(`No badge ${id}`, "BADGE_NOT_FOUND");

/** The stored criteria, checked again on the way out: a row edited by hand must not break progress. */
export function parseCriteria(raw: unknown): Criterion | undefined {
  const parsed = criterionSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

function checkedCriteria(raw: unknown): Criterion {
  const parsed = criterionSchema.safeParse(raw);
  if (!parsed.success) {
    throw badRequest(
      "INVALID_CRITERIA",
      "The badge criteria are not valid",
      parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
    );
  }
  return parsed.data;
}

function toDefinition(r: BadgeRow): BadgeDefinition {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    icon: r.icon,
    criteria: r.criteria as Criterion,
    reward: Number(r.reward),
    repeatable: r.repeatable,
    hidden: r.hidden,
    active: r.active,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** Renders a record's text in a language (`I18nService.recordText`); identity when none is wired. */
export type RecordTexts = (lang: string | undefined, key: string, own: string) => string;
const untranslated: RecordTexts = (_lang, _key, own) => own;

/** The translation keys of a badge's texts (its record holds the default language's wording). */
export const badgeTextKey = (id: string, field: "name" | "description") => `badge.${id}.${field}`;

function toView(r: BadgeRow, texts: RecordTexts, lang: string | undefined): BadgeView {
  const { id, icon, hidden, repeatable } = r;
  const name = texts(lang, badgeTextKey(id, "name"), r.name);
  const description = texts(lang, badgeTextKey(id, "description"), r.description);
  return { id, name, description, icon, reward: Number(r.reward), hidden, repeatable };
}

/** The period an award goes to: once ever, or once per UTC day. */
export function awardPeriod(repeatable: Repeatable, day: string): string {
  return repeatable === "daily" ? day : "all";
}

/** The period a progress value is kept under: a day scope sums per day, a streak spans days. */
export function progressPeriod(criteria: Criterion, repeatable: Repeatable, day: string): string {
  if (criteria.scope === "day") return day;
  if (criteria.scope === "streak") return "all";
  return awardPeriod(repeatable, day);
}

/**
 * Badge definitions (admin CRUD; the id never changes), what players see of them (hidden ones
 * only once earned), the badges a user earned, and their progress. Progress and awards are
 * written by the `badges` domain-event consumer (badge-progress.ts).
 */
export class BadgeService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: { now(): Date } = { now: () => new Date() },
    private readonly texts: RecordTexts = untranslated,
  ) {}

  /** Active definitions, hidden ones only when `viewerId` earned them, with texts in `lang`. */
  async list(viewerId?: string, lang?: string): Promise<BadgeView[]> {
    return (await this.visibleTo(viewerId)).map((r) => toView(r, this.texts, lang));
  }

  async get(id: string): Promise<BadgeDefinition> {
    const [row]: BadgeRow[] = await this.dataSource.query(`SELECT * FROM badges WHERE id = $1`, [id]);
    if (!row) throw badgeNotFound(id);
    return toDefinition(row);
  }

  async create(input: BadgeInput): Promise<BadgeDefinition> {
    const criteria = checkedCriteria(input.criteria);
    const rows: BadgeRow[] = await this.dataSource.query(
      `INSERT INTO badges (id, name, description, icon, criteria, reward, repeatable, hidden, active)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING RETURNING *`,
      [
        input.id,
        input.name,
        input.description ?? "",
        input.icon ?? "",
        JSON.stringify(criteria),
        input.reward,
        input.repeatable ?? "never",
        input.hidden ?? false,
        input.active ?? true,
      ],
    );
    if (rows.length === 0) throw conflict("BADGE_EXISTS", `Badge ${input.id} already exists`);
    return toDefinition(rows[0]);
  }

  /**
   * Edits a definition. New criteria or a new repeatability restart everyone's progress towards
   * it (values counted under the old rule mean nothing under the new one); awards stay.
   */
  async update(id: string, patch: BadgePatch): Promise<BadgeDefinition> {
    const criteria = patch.criteria && checkedCriteria(patch.criteria);
    return this.dataSource.transaction(async (m) => {
      const [old]: BadgeRow[] = await m.query(`SELECT * FROM badges WHERE id = $1 FOR UPDATE`, [id]);
      if (!old) throw badgeNotFound(id);
      // A SELECT over the UPDATE: TypeORM answers a bare UPDATE with [rows, count], a SELECT with rows.
      const [row]: BadgeRow[] = await m.query(
        `WITH updated AS (
           UPDATE badges SET name = $2, description = $3, icon = $4, criteria = $5, reward = $6, repeatable = $7,
                  hidden = $8, active = $9, updated_at = now()
            WHERE id = $1 RETURNING *)
         SELECT * FROM updated`,
        [
          id,
          patch.name ?? old.name,
          patch.description ?? old.description,
          patch.icon ?? old.icon,
          JSON.stringify(criteria ?? old.criteria),
          patch.reward ?? old.reward,
          patch.repeatable ?? old.repeatable,
          patch.hidden ?? old.hidden,
          patch.active ?? old.active,
        ],
      );
      const ruleChanged =
        (criteria && !sameCriteria(criteria, old.criteria)) ||
        (patch.repeatable !== undefined && patch.repeatable !== old.repeatable);
      if (ruleChanged) await m.query(`DELETE FROM badge_progress WHERE badge_id = $1`, [id]);
      return toDefinition(row);
    });
  }

  /** A user's awards, newest first; `cursor` is the previous page's `nextCursor`. */
  async earned(
    userId: string,
    opts: { limit: number; cursor?: string; lang?: string },
  ): Promise<{ badges: EarnedBadge[]; nextCursor: string | null }> {
    const [user] = await this.dataSource.query(`SELECT 1 FROM users WHERE id = $1`, [userId]);
    if (!user) throw notFound("No such user", "USER_NOT_FOUND");
    const rows: Array<{
      id: string;
      badge_id: string;
      name: string;
      awarded_at: Date;
      period: string;
      mint_status: OnChainMint["status"] | null;
      tx_hash: string | null;
    }> = await this.dataSource.query(
      `SELECT a.id, a.badge_id, b.name, a.awarded_at, a.period, sm.status AS mint_status, sm.tx_hash
           FROM badge_awards a JOIN badges b ON b.id = a.badge_id
           LEFT JOIN starknet_mints sm ON sm.award_id = a.id
          WHERE a.user_id = $1 AND ($2::bigint IS NULL OR a.id < $2::bigint)
          ORDER BY a.id DESC LIMIT $3`,
      [userId, opts.cursor ?? null, opts.limit + 1],
    );
    const page = rows.slice(0, opts.limit);
    return {
      badges: page.map((r) => ({
        badgeId: r.badge_id,
        name: this.texts(opts.lang, badgeTextKey(r.badge_id, "name"), r.name),
        awardedAt: new Date(r.awarded_at).toISOString(),
        period: r.period,
        onChain: r.mint_status ? { status: r.mint_status, txHash: r.tx_hash } : null,
      })),
      nextCursor: rows.length > opts.limit ? String(page[page.length - 1].id) : null,
    };
  }

  /** Progress towards every badge `userId` can see, in the period a new award would count for. */
  async progress(userId: string, lang?: string): Promise<BadgeProgressView[]> {
    const today = utcDay(this.clock.now());
    const periods = ["all", today];
    const [badges, values, awards]: [
      BadgeRow[],
      Array<{ badge_id: string; period: string; value: string; last_day: string | null }>,
      Array<{ badge_id: string; period: string; awarded_at: Date }>,
    ] = await Promise.all([
      this.visibleTo(userId),
      this.dataSource.query(
        `SELECT badge_id, period, value, to_char(last_day, 'YYYY-MM-DD') AS last_day
           FROM badge_progress WHERE user_id = $1 AND period = ANY($2::text[])`,
        [userId, periods],
      ),
      this.dataSource.query(
        `SELECT badge_id, period, awarded_at FROM badge_awards WHERE user_id = $1 AND period = ANY($2::text[])`,
        [userId, periods],
      ),
    ]);
    const key = (badgeId: string, period: string) => `${badgeId}\n${period}`;
    const valueOf = new Map(values.map((v) => [key(v.badge_id, v.period), v]));
    const awardOf = new Map(awards.map((a) => [key(a.badge_id, a.period), a]));
    return badges.flatMap((b) => {
      const criteria = parseCriteria(b.criteria);
      if (!criteria) return [];
      const period = progressPeriod(criteria, b.repeatable, today);
      const stored = valueOf.get(key(b.id, period));
      let value = stored ? Number(stored.value) : 0;
      // A streak whose last day is before yesterday is broken: the next round starts it at 1 again.
      if (criteria.scope === "streak" && (!stored?.last_day || stored.last_day < previousUtcDay(today))) value = 0;
      const award = awardOf.get(key(b.id, awardPeriod(b.repeatable, today)));
      return [
        {
          badgeId: b.id,
          name: this.texts(lang, badgeTextKey(b.id, "name"), b.name),
          scope: criteria.scope,
          target: criteria.threshold,
          value,
          period,
          earned: award !== undefined,
          awardedAt: award ? new Date(award.awarded_at).toISOString() : null,
        },
      ];
    });
  }

  /** Active definitions that are not hidden, or hidden and earned by `viewerId`, oldest first. */
  private visibleTo(viewerId: string | undefined): Promise<BadgeRow[]> {
    return this.dataSource.query(
      `SELECT b.* FROM badges b
        WHERE b.active AND (NOT b.hidden OR EXISTS (
          SELECT 1 FROM badge_awards a WHERE a.badge_id = b.id AND a.user_id = $1::uuid))
        ORDER BY b.created_at, b.id`,
      [viewerId ?? null],
    );
  }

  /** The active definitions an event of `type` can advance, in id order (rows are locked in that order). */
  async definitionsFor(m: EntityManager, type: string): Promise<BadgeDefinition[]> {
    const rows: BadgeRow[] = await m.query(
      `SELECT * FROM badges WHERE active AND criteria->>'event' = $1 ORDER BY id`,
      [type],
    );
    return rows.flatMap((r) => {
      const criteria = parseCriteria(r.criteria);
      return criteria ? [{ ...toDefinition(r), criteria }] : [];
    });
  }

  /** The badge's name, for a notice (undefined once the badge is gone). */
  async nameOf(m: EntityManager, id: string): Promise<string | undefined> {
    const [row]: Array<{ name: string }> = await m.query(`SELECT name FROM badges WHERE id = $1`, [id]);
    return row?.name;
  }
}

function sameCriteria(a: Criterion, b: unknown): boolean {
  const old = parseCriteria(b);
  return (
    !!old &&
    a.event === old.event &&
    a.metric === old.metric &&
    a.op === old.op &&
    a.threshold === old.threshold &&
    a.scope === old.scope
  );
}
