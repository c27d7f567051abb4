import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * StarkNet (optional provider): wallets linked to accounts (1:1 both ways), single-use sign-in
 * challenges, the badge-mint outbox (one row per award; at most one transaction in flight, so the
 * server account's nonces are used in order) and the single-row lease of the mint worker.
 */
export class CreateStarknet1795860000000 implements MigrationInterface {
  name = "CreateStarknet1795860000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "starknet_wallets" ("user_id" uuid NOT NULL, "address" character varying(66) NOT NULL, "linked_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_starknet_wallets" PRIMARY KEY ("user_id"), CONSTRAINT "UQ_starknet_wallets_address" UNIQUE ("address"), CONSTRAINT "FK_starknet_wallets_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE)`,
    );
    await q.query(
      `CREATE TABLE "starknet_challenges" ("nonce" character varying(66) NOT NULL, "address" character varying(66) NOT NULL, "chain_id" character varying(66) NOT NULL, "domain_name" character varying(31) NOT NULL, "domain_version" character varying(31) NOT NULL, "issued_at" TIMESTAMP WITH TIME ZONE NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "spent_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_starknet_challenges" PRIMARY KEY ("nonce"))`,
    );
    await q.query(`CREATE INDEX "starknet_challenges_address_idx" ON "starknet_challenges" ("address", "expires_at")`);
    await q.query(`CREATE INDEX "starknet_challenges_expires_idx" ON "starknet_challenges" ("expires_at")`);
    await q.query(
      `CREATE TABLE "starknet_mints" ("id" BIGSERIAL NOT NULL, "award_id" bigint NOT NULL, "user_id" uuid NOT NULL, "badge_id" character varying(64) NOT NULL, "recipient" character varying(66) NOT NULL, "token_badge_id" character varying(66) NOT NULL, "status" character varying(16) NOT NULL DEFAULT 'pending', "nonce" numeric(78), "tx_hash" character varying(66), "signed_tx" jsonb, "attempts" integer NOT NULL DEFAULT 0, "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_error" character varying(500), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_starknet_mints" PRIMARY KEY ("id"), CONSTRAINT "UQ_starknet_mints_award" UNIQUE ("award_id"), CONSTRAINT "CHK_starknet_mints_status" CHECK ("status" IN ('pending', 'submitted', 'accepted', 'failed')))`,
    );
    await q.query(
      `CREATE INDEX "starknet_mints_open_idx" ON "starknet_mints" ("next_attempt_at") WHERE "status" IN ('pending', 'submitted')`,
    );
    // At most one signed transaction not yet settled: the next one is prepared only after it.
    await q.query(
      `CREATE UNIQUE INDEX "starknet_mints_one_in_flight" ON "starknet_mints" ((true)) WHERE "tx_hash" IS NOT NULL AND "status" IN ('pending', 'submitted')`,
    );
    await q.query(
      `CREATE TABLE "starknet_worker_lease" ("id" integer NOT NULL, "holder" character varying(64), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_starknet_worker_lease" PRIMARY KEY ("id"), CONSTRAINT "CHK_starknet_worker_lease_one" CHECK ("id" = 1))`,
    );
    await q.query(`INSERT INTO "starknet_worker_lease" ("id") VALUES (1)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "starknet_worker_lease"`);
    await q.query(`DROP TABLE "starknet_mints"`);
    await q.query(`DROP TABLE "starknet_challenges"`);
    await q.query(`DROP TABLE "starknet_wallets"`);
  }
}
