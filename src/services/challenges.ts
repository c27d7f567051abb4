import type { Logger } from "pino";
import type { DataSource, EntityManager } from "typeorm";
import { type ChallengeDefinition, ChallengeDays, targetOf } from "./challenge-days";
import { advance, contribution } from "./challenge-progress";
import type { DomainEvent, DomainLog } from "./domain-log";
import { conflict, forbidden, gone, notFound } from "./errors";
import type { DomainEvents } from "./events";
import { endOfUtcDay, eventSubjects, PROGRESS_EVENTS, utcDay } from "./progress-rules";
import { canEarnRewards } from "./reward-eligibility";
import type { WalletService } from "./wallet";

/** A challenge as its player sees it. `id` is `<day>.<definition id>`, e.g. `2026-12-01.rounds-3`. */
export interface ChallengeView {
  id: string;
  title: string;
  description: string;
  target: number;
  progress: number;
  completed: boolean;
  claimed: boolean;
  reward: number;
  /** The end of the challenge's UTC day: it cannot be claimed from then on. */
  endsAt: string;
}

export interface ChallengeServiceOptions {
  clock?: { now(): Date };
  /** Challenges per day (3). */
  perDay?: number;
  /** Pushes `challenge:completed` to the player's open rooms, when given. */
  events?: DomainEvents;
  logger?: Pick<Logger, "warn">;
  /** Where each day's set comes from (default: pinned from the definitions); tests bring a fixed one. */
  days?: Pick<ChallengeDays, "forDay">;
  /** Renders a definition's title and description in a language (`I18nService.recordText`). */
  texts?: (lang: string | undefined, key: string, own: string) => string;
}

/** The translation keys of a challenge's texts (its definition holds the default language's wording). */
export const challengeTextKey = (id: string, field: "title" | "description") => `challenge.${id}.${field}`;

const ID_PATTERN = /^(\d{4}-\d{2}-\d{2})\.([a-z0-9][a-z0-9_-]{0,63})$/;
/** Earlier days cannot have challenges; also keeps dates PostgreSQL rejects (year 0) out of queries. */
const FIRST_DAY = "2000-01-01";

/**
 * Daily challenges: each UTC day a few definitions are active (ChallengeDays), progress comes
 * from domain events (`onEvent`, the "challenges" consumer), and a completed challenge's reward is
 * credited once, on an explicit claim, until its day ends.
 */
export class ChallengeService {
  private readonly days: Pick<ChallengeDays, "forDay">;
  private readonly clock: { now(): Date };

  constructor(
    private readonly dataSource: DataSource,
    private readonly wallet: WalletService,
    private readonly domainLog: DomainLog,
    private readonly options: ChallengeServiceOptions = {},
  ) {
    this.clock = options.clock ?? { now: () => new Date() };
    this.days = options.days ?? new ChallengeDays({ perDay: options.perDay ?? 3, logger: options.logger });
  }

  /** Today, `YYYY-MM-DD` in UTC, by the service's clock. */
  today(): string {
    return utcDay(this.clock.now());
  }

  /** The day's active challenges (pinned on first use, so every process and every later call agrees). */
  activeFor(day: string, m: EntityManager = this.dataSource.manager): Promise<ChallengeDefinition[]> {
    return this.days.forDay(m, day, { pin: true });
  }

  /** Today's challenges with the user's progress, texts in `lang`. */
  async list(userId: string, lang?: string): Promise<{ day: string; challenges: ChallengeView[] }> {
    const texts = this.options.texts ?? ((_lang: string | undefined, _key: string, own: string) => own);
    const day = this.today();
    const active = await this.activeFor(day);
    const rows: Array<{ challenge_id: string; progress: number; completed_at: Date | null; claimed_at: Date | null }> =
      await this.dataSource.query(
        `SELECT challenge_id, progress, completed_at, claimed_at FROM challenge_progress
          WHERE user_id = $1 AND day = $2::date AND challenge_id = ANY($3::varchar[])`,
        [userId, day, active.map((d) => d.id)],
      );
    const byId = new Map(rows.map((r) => [r.challenge_id, r]));
    const endsAt = endOfUtcDay(day).toISOString();
    return {
      day,
      challenges: active.map((d) => {
        const row = byId.get(d.id);
        return {
          id: `${day}.${d.id}`,
          title: texts(lang, challengeTextKey(d.id, "title"), d.title),
          description: texts(lang, challengeTextKey(d.id, "description"), d.description),
          target: targetOf(d),
          progress: row?.progress ?? 0,
          completed: Boolean(row?.completed_at),
          claimed: Boolean(row?.claimed_at),
          reward: d.reward,
          endsAt,
        };
      }),
    };
  }

  /**
   * Credits a completed challenge's reward, once: one transaction that locks the progress row, so
   * concurrent claims queue and all but the first see it claimed; the wallet key
   * `challenge:<user>:<day>:<definition>` would refuse a second credit anyway.
   */
  async claim(userId: string, challengeId: string): Promise<{ balance: number }> {
    const match = ID_PATTERN.exec(challengeId);
    const [day, definitionId] = match ? [match[1], match[2]] : [];
    const today = this.today();
    // A future day's set is not public, so it is as unknown as a malformed id.
    if (!day || !definitionId || !isUtcDay(day) || day < FIRST_DAY || day > today) throw challengeNotFound();
    return this.dataSource.transaction(async (m) => {
      const [row]: Array<{ completed_at: Date | null; claimed_at: Date | null }> = await m.query(
        `SELECT completed_at, claimed_at FROM challenge_progress
          WHERE user_id = $1 AND day = $2::date AND challenge_id = $3 FOR UPDATE`,
        [userId, day, definitionId],
      );
      const set = await this.days.forDay(m, day, { pin: day === today });
      const definition = set.find((d) => d.id === definitionId);
      if (!definition) throw challengeNotFound();
      if (day < today) throw gone("CHALLENGE_EXPIRED", "This challenge's day is over");
      if (!row?.completed_at) throw conflict("NOT_COMPLETED", "Complete the challenge before claiming it");
      if (row.claimed_at) throw conflict("ALREADY_CLAIMED", "This challenge's reward was claimed already");
      if (definition.reward > 0 && !(await canEarnRewards(m, userId))) {
        throw forbidden("Verify your email or phone to claim rewards", "VERIFICATION_REQUIRED");
      }
      let balance: number;
      if (definition.reward > 0) {
        const { entries, replayed } = await this.wallet.apply(
          [
            {
              userId,
              delta: definition.reward,
              reason: "challenge",
              refType: "challenge",
              refId: challengeId,
              idempotencyKey: `challenge:${userId}:${day}:${definitionId}`,
            },
          ],
          m,
        );
        balance = replayed ? await this.wallet.balance(userId, m) : entries[0].balanceAfter;
      } else {
        balance = await this.wallet.balance(userId, m);
      }
      await m.query(
        `UPDATE challenge_progress SET claimed_at = $4 WHERE user_id = $1 AND day = $2::date AND challenge_id = $3`,
        [userId, day, definitionId, this.clock.now()],
      );
      await this.domainLog.record(
        m,
        "challenge_claimed",
        { userId, challengeId, day, reward: definition.reward },
        { userId },
      );
      return { balance };
    });
  }

  /**
   * The "challenges" consumer: the event counts for each of its subjects on the UTC day it
   * happened (`occurredAt`: for a round, when it ended, so a round that crosses midnight counts
   * for the day it finished in), towards that day's challenges on the event's type. Runs in the
   * delivery's transaction `m`, so it takes effect exactly once per event.
   */
  async onEvent(m: EntityManager, event: DomainEvent): Promise<void> {
    const subjects = eventSubjects(event);
    if (subjects.length === 0) return;
    const day = utcDay(event.occurredAt);
    const matching = (await this.days.forDay(m, day, { pin: true })).filter((d) => d.criteria.event === event.type);
    for (const userId of subjects) {
      for (const definition of matching) {
        const amount = contribution(definition, event);
        if (amount <= 0) continue;
        if (await advance(m, { userId, day, definition, amount, at: event.occurredAt })) {
          this.notifyCompleted(userId, `${day}.${definition.id}`, definition);
        }
      }
    }
  }

  /**
   * A push to the player's open rooms. Sent from inside the delivery (before its commit): a
   * delivery that then rolls back and runs again may push twice, which a notice tolerates.
   */
  private notifyCompleted(userId: string, id: string, definition: ChallengeDefinition): void {
    const { title } = definition;
    this.options.events
      ?.publish("user.notice", "all", {
        userId,
        type: "challenge:completed",
        message: { id, title },
        // Each client gets the title in its own language.
        texts: { title: { key: challengeTextKey(definition.id, "title"), fallback: title } },
      })
      .catch((err) => this.options.logger?.warn({ err, userId, id }, "challenge:completed notice not published"));
  }
}

/** Registers the "challenges" domain-event consumer (a stable name: it is stored with each delivery). */
export function registerChallengeConsumer(log: DomainLog, challenges: ChallengeService, name = "challenges"): void {
  log.register(name, (m, event) => challenges.onEvent(m, event), { types: PROGRESS_EVENTS });
}

function challengeNotFound() {
  return notFound("No such challenge", "CHALLENGE_NOT_FOUND");
}

/** A real calendar day (not 2026-02-30). */
function isUtcDay(day: string): boolean {
  const at = Date.parse(`${day}T00:00:00Z`);
  return Number.isFinite(at) && utcDay(new Date(at)) === day;
}
