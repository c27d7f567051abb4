import type { MigrationInterface, QueryRunner } from "typeorm";

export class CreateVideoChat1795431297673 implements MigrationInterface {
  name = "CreateVideoChat1795431297673";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "bans" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "source" character varying(12) NOT NULL, "reason" character varying(200) NOT NULL, "created_by" uuid, "report_id" uuid, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_a4d6f261bffa4615c62d756566a" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "bans_user_expires_idx" ON "bans"  ("user_id", "expires_at")`);
    await q.query(
      `CREATE TABLE "blocks" ("blocker_id" uuid NOT NULL, "blocked_id" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_806f6a5d38d031cdd868fd5e37e" PRIMARY KEY ("blocker_id", "blocked_id"))`,
    );
    await q.query(`CREATE INDEX "blocks_blocked_idx" ON "blocks"  ("blocked_id")`);
    await q.query(
      `CREATE TABLE "calls" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_a" uuid NOT NULL, "user_b" uuid NOT NULL, "region" character varying(8) NOT NULL, "language" character varying(2) NOT NULL, "room_id" character varying(64), "phase" character varying(12) NOT NULL DEFAULT 'connecting', "end_reason" character varying(24), "choice_a" character varying(5), "choice_b" character varying(5), "started_at" TIMESTAMP WITH TIME ZONE, "talk_ended_at" TIMESTAMP WITH TIME ZONE, "ended_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_d9171d91f8dd1a649659f1b6a20" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "calls_open_idx" ON "calls"  ("phase") WHERE phase <> 'ended'`);
    await q.query(`CREATE INDEX "calls_user_b_idx" ON "calls"  ("user_b", "created_at")`);
    await q.query(`CREATE INDEX "calls_user_a_idx" ON "calls"  ("user_a", "created_at")`);
    await q.query(
      `CREATE TABLE "matches" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "call_id" uuid NOT NULL, "user_a" uuid NOT NULL, "user_b" uuid NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_8a22c7b2e0828988d51256117f4" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "matches_user_b_idx" ON "matches"  ("user_b", "created_at")`);
    await q.query(`CREATE INDEX "matches_user_a_idx" ON "matches"  ("user_a", "created_at")`);
    await q.query(`CREATE UNIQUE INDEX "matches_call_key" ON "matches"  ("call_id")`);
    await q.query(
      `CREATE TABLE "match_messages" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "match_id" uuid NOT NULL, "from_user_id" uuid NOT NULL, "text" character varying(1000) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_2e09c0fbac8331956a55da075c0" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "match_messages_match_idx" ON "match_messages"  ("match_id", "id")`);
    await q.query(
      `CREATE TABLE "moderation_events" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "event_id" character varying(128) NOT NULL, "user_id" uuid NOT NULL, "call_id" uuid, "violation" boolean NOT NULL, "classes" jsonb NOT NULL DEFAULT '[]', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_723937fdc5b9485fb3a7b16b903" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE INDEX "moderation_events_user_violation_idx" ON "moderation_events"  ("user_id", "created_at") WHERE violation`,
    );
    await q.query(`CREATE UNIQUE INDEX "moderation_events_event_key" ON "moderation_events"  ("event_id")`);
    await q.query(
      `CREATE TABLE "reports" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "reporter_id" uuid NOT NULL, "reported_user_id" uuid NOT NULL, "session_id" uuid, "reason" character varying(16) NOT NULL, "details" character varying(2000), "status" character varying(12) NOT NULL DEFAULT 'open', "moderator_id" uuid, "resolved_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_d9013193989303580053c0b5ef6" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "reports_reported_idx" ON "reports"  ("reported_user_id")`);
    await q.query(`CREATE INDEX "reports_status_created_idx" ON "reports"  ("status", "created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."reports_status_created_idx"`);
    await q.query(`DROP INDEX "public"."reports_reported_idx"`);
    await q.query(`DROP TABLE "reports"`);
    await q.query(`DROP INDEX "public"."moderation_events_event_key"`);
    await q.query(`DROP INDEX "public"."moderation_events_user_violation_idx"`);
    await q.query(`DROP TABLE "moderation_events"`);
    await q.query(`DROP INDEX "public"."match_messages_match_idx"`);
    await q.query(`DROP TABLE "match_messages"`);
    await q.query(`DROP INDEX "public"."matches_call_key"`);
    await q.query(`DROP INDEX "public"."matches_user_a_idx"`);
    await q.query(`DROP INDEX "public"."matches_user_b_idx"`);
    await q.query(`DROP TABLE "matches"`);
    await q.query(`DROP INDEX "public"."calls_user_a_idx"`);
    await q.query(`DROP INDEX "public"."calls_user_b_idx"`);
    await q.query(`DROP INDEX "public"."calls_open_idx"`);
    await q.query(`DROP TABLE "calls"`);
    await q.query(`DROP INDEX "public"."blocks_blocked_idx"`);
    await q.query(`DROP TABLE "blocks"`);
    await q.query(`DROP INDEX "public"."bans_user_expires_idx"`);
    await q.query(`DROP TABLE "bans"`);
  }
}
