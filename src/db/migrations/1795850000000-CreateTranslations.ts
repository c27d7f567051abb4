import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Languages (exactly one default: the partial unique index allows at most one, the service never
 * leaves none, and the default is always active), their ICU messages, and each user's locale.
 */
export class CreateTranslations1795850000000 implements MigrationInterface {
  name = "CreateTranslations1795850000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "languages" ("code" character varying(35) NOT NULL, "name" character varying(64) NOT NULL, "active" boolean NOT NULL DEFAULT true, "is_default" boolean NOT NULL DEFAULT false, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_languages" PRIMARY KEY ("code"), CONSTRAINT "CHK_languages_default_active" CHECK (NOT "is_default" OR "active"))`,
    );
    await q.query(`CREATE UNIQUE INDEX "languages_one_default" ON "languages" ("is_default") WHERE "is_default"`);
    await q.query(
      `CREATE TABLE "translations" ("lang" character varying(35) NOT NULL, "key" character varying(200) NOT NULL, "text" text NOT NULL, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_translations" PRIMARY KEY ("lang", "key"), CONSTRAINT "FK_translations_language" FOREIGN KEY ("lang") REFERENCES "languages"("code") ON DELETE CASCADE)`,
    );
    await q.query(`ALTER TABLE "users" ADD "locale" character varying(35)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" DROP COLUMN "locale"`);
    await q.query(`DROP TABLE "translations"`);
    await q.query(`DROP INDEX "public"."languages_one_default"`);
    await q.query(`DROP TABLE "languages"`);
  }
}
