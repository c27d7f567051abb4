import type { MigrationInterface, QueryRunner } from "typeorm";

export class CreatePlayAndAssets1795426285055 implements MigrationInterface {
  name = "CreatePlayAndAssets1795426285055";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "assets" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "game_id" uuid NOT NULL, "name" character varying(255) NOT NULL, "path" character varying(512) NOT NULL, "content_type" character varying(127) NOT NULL, "size" bigint NOT NULL, "sha256" character(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_da96729a8b113377cfb6a62439c" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE INDEX "assets_game_idx" ON "assets"  ("game_id")`);
    await q.query(
      `CREATE TABLE "games" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "slug" character varying(64) NOT NULL, "title" character varying(120) NOT NULL, "version" character varying(32) NOT NULL DEFAULT '1.0.0', "price_per_minute" integer NOT NULL DEFAULT '0', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_c9b16b62917b5595af982d66337" PRIMARY KEY ("id"))`,
    );
    await q.query(`CREATE UNIQUE INDEX "games_slug_key" ON "games"  ("slug")`);
    await q.query(
      `CREATE TABLE "play_sessions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "game_id" uuid NOT NULL, "status" character varying(24) NOT NULL DEFAULT 'live', "room_id" character varying(64), "price_per_period" integer NOT NULL, "periods_billed" integer NOT NULL DEFAULT '0', "charged" integer NOT NULL DEFAULT '0', "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_heartbeat_at" TIMESTAMP WITH TIME ZONE NOT NULL, "ended_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_b3d16c71ba90587b743cae04c63" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE INDEX "play_sessions_live_heartbeat_idx" ON "play_sessions"  ("status", "last_heartbeat_at")`,
    );
    await q.query(
      `CREATE UNIQUE INDEX "play_sessions_one_live_per_user" ON "play_sessions"  ("user_id") WHERE status = 'live'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."play_sessions_one_live_per_user"`);
    await q.query(`DROP INDEX "public"."play_sessions_live_heartbeat_idx"`);
    await q.query(`DROP TABLE "play_sessions"`);
    await q.query(`DROP INDEX "public"."games_slug_key"`);
    await q.query(`DROP TABLE "games"`);
    await q.query(`DROP INDEX "public"."assets_game_idx"`);
    await q.query(`DROP TABLE "assets"`);
  }
}
