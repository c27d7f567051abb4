import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Purchases remember the client's Idempotency-Key (a retry returns the same
 * checkout), and paid webhook events that arrive before their purchase row are
 * kept until it exists.
 */
export class PaymentRetries1795440000000 implements MigrationInterface {
  name = "PaymentRetries1795440000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "purchases" ADD "idempotency_key" character varying(100)`);
    await q.query(`ALTER TABLE "purchases" ADD "checkout_url" character varying(2048)`);
    await q.query(
      `CREATE UNIQUE INDEX "purchases_user_idempotency_key" ON "purchases" ("user_id", "idempotency_key") WHERE idempotency_key IS NOT NULL`,
    );
    await q.query(
      `CREATE TABLE "stripe_deferred_events" ("checkout_session_id" character varying(255) NOT NULL, "event_id" character varying(255) NOT NULL, "type" character varying(64) NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_stripe_deferred_events" PRIMARY KEY ("checkout_session_id"))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "stripe_deferred_events"`);
    await q.query(`DROP INDEX "public"."purchases_user_idempotency_key"`);
    await q.query(`ALTER TABLE "purchases" DROP COLUMN "checkout_url"`);
    await q.query(`ALTER TABLE "purchases" DROP COLUMN "idempotency_key"`);
  }
}
