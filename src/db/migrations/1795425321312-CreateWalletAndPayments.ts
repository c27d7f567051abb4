import type { MigrationInterface, QueryRunner } from "typeorm";

export class CreateWalletAndPayments1795425321312 implements MigrationInterface {
  name = "CreateWalletAndPayments1795425321312";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "ledger_entries" ("id" BIGSERIAL NOT NULL, "user_id" uuid NOT NULL, "delta" bigint NOT NULL, "balance_after" bigint NOT NULL, "reason" character varying(32) NOT NULL, "ref_type" character varying(32), "ref_id" character varying(128), "idempotency_key" character varying(200) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_6efcb84411d3f08b08450ae75d5" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE UNIQUE INDEX "ledger_entries_idempotency_key" ON "ledger_entries"  ("idempotency_key")`);
    await q.query(`CREATE INDEX "ledger_entries_user_idx" ON "ledger_entries"  ("user_id", "id")`);
    await q.query(
      `CREATE TABLE "purchases" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "pack_id" character varying(32) NOT NULL, "tokens" integer NOT NULL, "price_cents" integer NOT NULL, "currency" character(3) NOT NULL, "checkout_session_id" character varying(255) NOT NULL, "status" character varying(16) NOT NULL DEFAULT 'pending', "completed_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_1d55032f37a34c6eceacbbca6b8" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "purchases_user_idx" ON "purchases"  ("user_id")`);
    await q.query(`CREATE UNIQUE INDEX "purchases_checkout_session_key" ON "purchases"  ("checkout_session_id")`);
    await q.query(
      `CREATE TABLE "streams" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "owner_id" uuid NOT NULL, "title" character varying(120) NOT NULL, "description" character varying(2000), "status" character varying(8) NOT NULL DEFAULT 'live', "ended_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_40440b6f569ebc02bc71c25c499" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "streams_status_created_idx" ON "streams"  ("status", "created_at")`);
    await q.query(`CREATE UNIQUE INDEX "streams_one_live_per_owner" ON "streams"  ("owner_id") WHERE status = 'live'`);
    await q.query(
      `CREATE TABLE "stripe_events" ("event_id" character varying(255) NOT NULL, "type" character varying(64) NOT NULL, "processed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_d0cc4569d90cb27607b2c743b4c" PRIMARY KEY ("event_id"))`,
    );
    await q.query(
      `CREATE TABLE "token_packs" ("id" character varying(32) NOT NULL, "name" character varying(64) NOT NULL, "tokens" integer NOT NULL, "price_cents" integer NOT NULL, "currency" character(3) NOT NULL DEFAULT 'usd', "active" boolean NOT NULL DEFAULT true, CONSTRAINT "PK_07cdaf9576bddc07228afe914cb" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE TABLE "wallets" ("user_id" uuid NOT NULL, "balance" bigint NOT NULL DEFAULT '0', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "wallets_balance_nonnegative" CHECK ("balance" >= 0), CONSTRAINT "PK_92558c08091598f7a4439586cda" PRIMARY KEY ("user_id"))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "wallets"`);
    await q.query(`DROP TABLE "token_packs"`);
    await q.query(`DROP TABLE "stripe_events"`);
    await q.query(`DROP INDEX "public"."streams_one_live_per_owner"`);
    await q.query(`DROP INDEX "public"."streams_status_created_idx"`);
    await q.query(`DROP TABLE "streams"`);
    await q.query(`DROP INDEX "public"."purchases_checkout_session_key"`);
    await q.query(`DROP INDEX "public"."purchases_user_idx"`);
    await q.query(`DROP TABLE "purchases"`);
    await q.query(`DROP INDEX "public"."ledger_entries_user_idx"`);
    await q.query(`DROP INDEX "public"."ledger_entries_idempotency_key"`);
    await q.query(`DROP TABLE "ledger_entries"`);
  }
}
