import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The domain-event log: one row per event (written in the transaction of its change) and one
 * delivery row per consumer, deleted when that consumer's transaction commits.
 */
export class CreateDomainEvents1795800000000 implements MigrationInterface {
  name = "CreateDomainEvents1795800000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "domain_events" ("id" uuid NOT NULL, "type" character varying(40) NOT NULL, "user_id" uuid, "payload" jsonb NOT NULL, "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL, "recorded_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_domain_events" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "domain_events_occurred_idx" ON "domain_events" ("occurred_at")`);
    await q.query(
      `CREATE TABLE "domain_event_deliveries" ("event_id" uuid NOT NULL, "consumer" character varying(64) NOT NULL, "attempts" integer NOT NULL DEFAULT 0, "next_at" TIMESTAMP WITH TIME ZONE NOT NULL, "poisoned_at" TIMESTAMP WITH TIME ZONE, "last_error" text, CONSTRAINT "PK_domain_event_deliveries" PRIMARY KEY ("event_id", "consumer"), CONSTRAINT "FK_domain_event_deliveries_event" FOREIGN KEY ("event_id") REFERENCES "domain_events"("id") ON DELETE CASCADE)`,
    );
    await q.query(
      `CREATE INDEX "domain_event_deliveries_due_idx" ON "domain_event_deliveries" ("next_at") WHERE poisoned_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."domain_event_deliveries_due_idx"`);
    await q.query(`DROP TABLE "domain_event_deliveries"`);
    await q.query(`DROP INDEX "public"."domain_events_occurred_idx"`);
    await q.query(`DROP TABLE "domain_events"`);
  }
}
