import type { MigrationInterface, QueryRunner } from "typeorm";

export class CreateAuth1795424345811 implements MigrationInterface {
  name = "CreateAuth1795424345811";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "refresh_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "family_id" uuid NOT NULL, "token_hash" character(64) NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "spent_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_refresh_tokens_id" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "refresh_tokens_user_idx" ON "refresh_tokens"("user_id")`);
    await q.query(`CREATE INDEX "refresh_tokens_family_idx" ON "refresh_tokens"("family_id")`);
    await q.query(`CREATE UNIQUE INDEX "refresh_tokens_hash_key" ON "refresh_tokens"("token_hash")`);
    await q.query(
      `CREATE TABLE "verification_codes" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "channel" character varying(8) NOT NULL, "target" character varying(254) NOT NULL, "code_hash" character(64) NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "consumed_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_verification_codes_id" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "verification_codes_user_channel_idx" ON "verification_codes"("user_id", "channel")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."verification_codes_user_channel_idx"`);
    await q.query(`DROP TABLE "verification_codes"`);
    await q.query(`DROP INDEX "public"."refresh_tokens_hash_key"`);
    await q.query(`DROP INDEX "public"."refresh_tokens_family_idx"`);
    await q.query(`DROP INDEX "public"."refresh_tokens_user_idx"`);
    await q.query(`DROP TABLE "refresh_tokens"`);
  }
}
