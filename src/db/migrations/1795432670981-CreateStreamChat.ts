import type { MigrationInterface, QueryRunner } from "typeorm";

export class CreateStreamChat1795432670981 implements MigrationInterface {
  name = "CreateStreamChat1795432670981";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "stream_messages" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "stream_id" uuid NOT NULL, "user_id" uuid NOT NULL, "display_name" character varying(64) NOT NULL, "text" character varying(500) NOT NULL, "deleted_at" TIMESTAMP WITH TIME ZONE, "deleted_by" uuid, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_dfd72cfcbacbc1f3c331c6b65c2" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "stream_messages_stream_idx" ON "stream_messages"  ("stream_id", "id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."stream_messages_stream_idx"`);
    await q.query(`DROP TABLE "stream_messages"`);
  }
}
