import type { MigrationInterface, QueryRunner } from "typeorm";

interface SeedBadge {
  id: string;
  name: string;
  description: string;
  icon: string;
  criteria: { event: string; metric: string; op: string; threshold: number; scope: string };
  reward: number;
  repeatable?: "never" | "daily";
  hidden?: boolean;
}

/**
 * Rewards go to play only. Badges for calls, matches, tips and streams earn no tokens: those
 * actions move tokens already, and a reward would make them a way to mint tokens between accounts.
 * A 60 s whack round shows about 93 normal and 12 golden moles (130 points when every one is hit),
 * so 50 points in a round takes a good, not a perfect, round.
 */
const SEEDED: SeedBadge[] = [
  {
    id: "first-round",
    name: "First round",
    description: "Finish your first whack-a-mole round",
    icon: "badges/first-round.png",
    criteria: { event: "round_finished", metric: "count", op: "gte", threshold: 1, scope: "total" },
    reward: 1,
  },
  {
    id: "sharpshooter",
    name: "Sharpshooter",
    description: "Score 50 points in a single round",
    icon: "badges/sharpshooter.png",
    criteria: { event: "round_finished", metric: "score", op: "gte", threshold: 50, scope: "round" },
    reward: 10,
  },
  {
    id: "mole-hunter",
    name: "Mole hunter",
    description: "Hit 100 moles",
    icon: "badges/mole-hunter.png",
    criteria: { event: "mole_hit", metric: "total", op: "gte", threshold: 100, scope: "total" },
    reward: 10,
  },
  {
    id: "golden-touch",
    name: "Golden touch",
    description: "Hit 10 golden moles",
    icon: "badges/golden-touch.png",
    criteria: { event: "mole_hit", metric: "byKind.golden", op: "gte", threshold: 10, scope: "total" },
    reward: 10,
  },
  {
    id: "three-day-streak",
    name: "Three in a row",
    description: "Play a round on three consecutive days (UTC)",
    icon: "badges/three-day-streak.png",
    criteria: { event: "round_finished", metric: "count", op: "gte", threshold: 3, scope: "streak" },
    reward: 15,
  },
  {
    id: "daily-grinder",
    name: "Daily grinder",
    description: "Finish 5 rounds in one day (UTC); earned again every day",
    icon: "badges/daily-grinder.png",
    criteria: { event: "round_finished", metric: "count", op: "gte", threshold: 5, scope: "day" },
    reward: 3,
    repeatable: "daily",
  },
  {
    id: "first-call",
    name: "Hello there",
    description: "Take part in your first video call",
    icon: "badges/first-call.png",
    criteria: { event: "call_started", metric: "count", op: "gte", threshold: 1, scope: "total" },
    reward: 0,
  },
  {
    id: "first-match",
    name: "It's a match",
    description: "Get your first mutual match",
    icon: "badges/first-match.png",
    criteria: { event: "match_made", metric: "count", op: "gte", threshold: 1, scope: "total" },
    reward: 0,
  },
  {
    id: "first-tip",
    name: "Generous",
    description: "Send your first tip",
    icon: "badges/first-tip.png",
    criteria: { event: "tip_sent", metric: "count", op: "gte", threshold: 1, scope: "total" },
    reward: 0,
  },
  {
    id: "on-air",
    name: "On air",
    description: "Start your first livestream",
    icon: "badges/on-air.png",
    criteria: { event: "stream_started", metric: "count", op: "gte", threshold: 1, scope: "total" },
    reward: 0,
  },
  {
    id: "below-zero",
    name: "Below zero",
    description: "Finish a round with a negative score: those were bombs",
    icon: "badges/below-zero.png",
    criteria: { event: "round_finished", metric: "score", op: "lt", threshold: 0, scope: "round" },
    reward: 0,
    hidden: true,
  },
];

/**
 * Badges: definitions (criteria over domain events), per-user progress per period, awards (one per
 * user, badge and period), and the events the progress consumer has handled (a re-run is a no-op).
 */
export class CreateBadges1795820000000 implements MigrationInterface {
  name = "CreateBadges1795820000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "badges" ("id" character varying(64) NOT NULL, "name" character varying(80) NOT NULL, "description" character varying(300) NOT NULL DEFAULT '', "icon" character varying(200) NOT NULL DEFAULT '', "criteria" jsonb NOT NULL, "reward" integer NOT NULL DEFAULT 0, "repeatable" character varying(8) NOT NULL DEFAULT 'never', "hidden" boolean NOT NULL DEFAULT false, "active" boolean NOT NULL DEFAULT true, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_badges" PRIMARY KEY ("id"), CONSTRAINT "CHK_badges_reward" CHECK ("reward" >= 0), CONSTRAINT "CHK_badges_repeatable" CHECK ("repeatable" IN ('never', 'daily')))`,
    );
    // The progress consumer loads the active definitions of one event type per event.
    await q.query(`CREATE INDEX "badges_event_idx" ON "badges" (("criteria"->>'event')) WHERE "active"`);
    await q.query(
      `CREATE TABLE "badge_progress" ("user_id" uuid NOT NULL, "badge_id" character varying(64) NOT NULL, "period" character varying(10) NOT NULL, "value" bigint NOT NULL, "last_day" date, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_badge_progress" PRIMARY KEY ("user_id", "badge_id", "period"), CONSTRAINT "FK_badge_progress_badge" FOREIGN KEY ("badge_id") REFERENCES "badges"("id") ON DELETE CASCADE)`,
    );
    await q.query(`CREATE INDEX "badge_progress_badge_idx" ON "badge_progress" ("badge_id")`);
    await q.query(
      `CREATE TABLE "badge_awards" ("id" BIGSERIAL NOT NULL, "user_id" uuid NOT NULL, "badge_id" character varying(64) NOT NULL, "period" character varying(10) NOT NULL, "awarded_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "event_id" uuid NOT NULL, CONSTRAINT "PK_badge_awards" PRIMARY KEY ("id"), CONSTRAINT "UQ_badge_awards_user_badge_period" UNIQUE ("user_id", "badge_id", "period"), CONSTRAINT "FK_badge_awards_badge" FOREIGN KEY ("badge_id") REFERENCES "badges"("id") ON DELETE CASCADE)`,
    );
    await q.query(`CREATE INDEX "badge_awards_user_idx" ON "badge_awards" ("user_id", "id")`);
    // Gone with the event it names: an event that no longer exists cannot be delivered again.
    await q.query(
      `CREATE TABLE "badge_event_receipts" ("event_id" uuid NOT NULL, "handled_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_badge_event_receipts" PRIMARY KEY ("event_id"), CONSTRAINT "FK_badge_event_receipts_event" FOREIGN KEY ("event_id") REFERENCES "domain_events"("id") ON DELETE CASCADE)`,
    );
    for (const b of SEEDED) {
      await q.query(
        `INSERT INTO "badges" ("id", "name", "description", "icon", "criteria", "reward", "repeatable", "hidden")
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT ("id") DO NOTHING`,
        [
          b.id,
          b.name,
          b.description,
          b.icon,
          JSON.stringify(b.criteria),
          b.reward,
          b.repeatable ?? "never",
          b.hidden ?? false,
        ],
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "badge_event_receipts"`);
    await q.query(`DROP INDEX "public"."badge_awards_user_idx"`);
    await q.query(`DROP TABLE "badge_awards"`);
    await q.query(`DROP INDEX "public"."badge_progress_badge_idx"`);
    await q.query(`DROP TABLE "badge_progress"`);
    await q.query(`DROP INDEX "public"."badges_event_idx"`);
    await q.query(`DROP TABLE "badges"`);
  }
}
