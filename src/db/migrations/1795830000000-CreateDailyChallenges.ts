import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Daily challenges: the definitions a day's set is drawn from (seeded here), each day's set as it
 * was when the day was first used (a snapshot, so editing a definition never changes a day under
 * way), and each user's progress per day and challenge (claimed at most once: `claimed_at`).
 * No foreign key to users, as elsewhere: a delivery about an unknown user must not poison.
 */
export class CreateDailyChallenges1795830000000 implements MigrationInterface {
  name = "CreateDailyChallenges1795830000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "challenge_definitions" ("id" character varying(64) NOT NULL, "title" character varying(80) NOT NULL, "description" character varying(240) NOT NULL, "criteria" jsonb NOT NULL, "reward" integer NOT NULL, "active" boolean NOT NULL DEFAULT true, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_challenge_definitions" PRIMARY KEY ("id"), CONSTRAINT "CHK_challenge_definitions_reward" CHECK ("reward" >= 0))`,
    );
    await q.query(
      `CREATE TABLE "challenge_days" ("day" date NOT NULL, "challenges" jsonb NOT NULL, "pinned_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_challenge_days" PRIMARY KEY ("day"))`,
    );
    await q.query(
      `CREATE TABLE "challenge_progress" ("user_id" uuid NOT NULL, "day" date NOT NULL, "challenge_id" character varying(64) NOT NULL, "progress" integer NOT NULL DEFAULT 0, "completed_at" TIMESTAMP WITH TIME ZONE, "claimed_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_challenge_progress" PRIMARY KEY ("user_id", "day", "challenge_id"))`,
    );
    for (const [id, title, description, criteria, reward] of SEEDED) {
      await q.query(
        `INSERT INTO "challenge_definitions" ("id", "title", "description", "criteria", "reward") VALUES ($1, $2, $3, $4, $5)`,
        [id, title, description, JSON.stringify(criteria), reward],
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "challenge_progress"`);
    await q.query(`DROP TABLE "challenge_days"`);
    await q.query(`DROP TABLE "challenge_definitions"`);
  }
}

/** [id, title, description, criteria, reward tokens]: the definitions a fresh database starts with. */
const SEEDED: Array<[string, string, string, Record<string, unknown>, number]> = [
  [
    "rounds-3",
    "Warm-up",
    "Play 3 rounds of whack-a-mole",
    { event: "round_finished", metric: "count", op: "gte", threshold: 3, scope: "day" },
    20,
  ],
  [
    "moles-40",
    "Mole hunter",
    "Hit 40 moles",
    { event: "mole_hit", metric: "total", op: "gte", threshold: 40, scope: "day" },
    25,
  ],
  [
    "golden-3",
    "Gold rush",
    "Hit 3 golden moles",
    { event: "mole_hit", metric: "byKind.golden", op: "gte", threshold: 3, scope: "day" },
    30,
  ],
  [
    "score-20",
    "Sharp eye",
    "Score 20 points or more in a single round",
    { event: "round_finished", metric: "score", op: "gte", threshold: 20, scope: "round" },
    30,
  ],
  [
    "call-1",
    "Say hello",
    "Start a video call",
    { event: "call_started", metric: "count", op: "gte", threshold: 1, scope: "day" },
    15,
  ],
  [
    "match-1",
    "It's a match",
    "Make a mutual match after a call",
    { event: "match_made", metric: "count", op: "gte", threshold: 1, scope: "day" },
    20,
  ],
  [
    "tip-1",
    "Generous",
    "Send a tip to a player or a streamer",
    { event: "tip_sent", metric: "count", op: "gte", threshold: 1, scope: "day" },
    10,
  ],
  [
    "stream-1",
    "On air",
    "Start a livestream",
    { event: "stream_started", metric: "count", op: "gte", threshold: 1, scope: "day" },
    15,
  ],
];
