import type { MigrationInterface, QueryRunner } from "typeorm";

export class CreateLeaderboards1795600000000 implements MigrationInterface {
  name = "CreateLeaderboards1795600000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "leaderboards" ("id" character varying(64) NOT NULL, "title" character varying(120) NOT NULL, "sort_order" character varying(4) NOT NULL, "operator" character varying(4) NOT NULL, "reset_schedule" character varying(120), "authoritative" boolean NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_leaderboards" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE TABLE "leaderboard_records" ("board_id" character varying(64) NOT NULL, "period_start" TIMESTAMP WITH TIME ZONE NOT NULL, "user_id" uuid NOT NULL, "score" bigint NOT NULL, "subscore" bigint NOT NULL DEFAULT '0', "num_score" integer NOT NULL DEFAULT '1', "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_leaderboard_records" PRIMARY KEY ("board_id", "period_start", "user_id"))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "leaderboard_records"`);
    await q.query(`DROP TABLE "leaderboards"`);
  }
}
