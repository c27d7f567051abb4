import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The analytics outbox: one row per event per provider (each provider's progress, backoff and
 * batching are independent; a sent row is deleted), and per-provider totals for the status route.
 */
export class CreateAnalyticsOutbox1795810000000 implements MigrationInterface {
  name = "CreateAnalyticsOutbox1795810000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "analytics_events" ("id" BIGSERIAL NOT NULL, "provider" character varying(16) NOT NULL, "name" character varying(128) NOT NULL, "distinct_id" character varying(64), "insert_id" character varying(200) NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL, "properties" jsonb NOT NULL, "client_ip" character varying(64), "client_user_agent" character varying(512), "attempts" integer NOT NULL DEFAULT 0, "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_error" text, CONSTRAINT "PK_analytics_events" PRIMARY KEY ("id"), CONSTRAINT "UQ_analytics_events_provider_insert" UNIQUE ("provider", "insert_id"))`,
    );
    await q.query(
      `CREATE INDEX "analytics_events_due_idx" ON "analytics_events" ("provider", "next_attempt_at", "id")`,
    );
    await q.query(
      `CREATE TABLE "analytics_provider_stats" ("provider" character varying(16) NOT NULL, "sent" bigint NOT NULL DEFAULT 0, "failed" bigint NOT NULL DEFAULT 0, "dropped" bigint NOT NULL DEFAULT 0, "last_error" text, "last_error_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_analytics_provider_stats" PRIMARY KEY ("provider"))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "analytics_provider_stats"`);
    await q.query(`DROP INDEX "public"."analytics_events_due_idx"`);
    await q.query(`DROP TABLE "analytics_events"`);
  }
}
