import type { MigrationInterface, QueryRunner } from "typeorm";

export class CreateUsers1763884800000 implements MigrationInterface {
  name = "CreateUsers1763884800000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "users" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "email" character varying(254),
        "password_hash" character varying(255),
        "display_name" character varying(64) NOT NULL,
        "role" character varying(16) NOT NULL DEFAULT 'user',
        "is_guest" boolean NOT NULL DEFAULT false,
        "device_id" character varying(128),
        "token_version" integer NOT NULL DEFAULT 0,
        "email_verified_at" TIMESTAMP WITH TIME ZONE,
        "phone" character varying(32),
        "phone_verified_at" TIMESTAMP WITH TIME ZONE,
        "deleted_at" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_users_id" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE UNIQUE INDEX "users_email_key" ON "users" ("email") WHERE email IS NOT NULL`);
    await q.query(`CREATE UNIQUE INDEX "users_device_id_key" ON "users" ("device_id") WHERE device_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "users"`);
  }
}
