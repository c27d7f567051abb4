import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Whack-a-mole rounds: the round (seed, status, owning process, leaderboard outbox), its players
 * and results, its spawned moles and its hits (one winner per mole).
 */
export class CreateWhackRounds1795710000000 implements MigrationInterface {
  name = "CreateWhackRounds1795710000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "whack_rounds" ("id" uuid NOT NULL, "mode" character varying(8) NOT NULL, "seed_hash" character varying(64) NOT NULL, "seed" character varying(64) NOT NULL, "status" character varying(12) NOT NULL DEFAULT 'playing', "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "ended_at" TIMESTAMP WITH TIME ZONE, "end_reason" character varying(32), "process_id" character varying(64), "leaderboard_pending" boolean NOT NULL DEFAULT false, "leaderboard_retry_at" TIMESTAMP WITH TIME ZONE, "leaderboard_applied_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_whack_rounds" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE INDEX "whack_rounds_leaderboard_pending_idx" ON "whack_rounds" ("leaderboard_retry_at") WHERE leaderboard_pending`,
    );
    await q.query(`CREATE INDEX "whack_rounds_playing_idx" ON "whack_rounds" ("process_id") WHERE status = 'playing'`);
    await q.query(
      `CREATE TABLE "whack_hits" ("round_id" uuid NOT NULL, "mole_id" integer NOT NULL, "user_id" uuid NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "points" integer NOT NULL, CONSTRAINT "PK_whack_hits" PRIMARY KEY ("round_id", "mole_id"))`,
    );
    await q.query(
      `CREATE TABLE "whack_moles" ("round_id" uuid NOT NULL, "mole_id" integer NOT NULL, "hole" smallint NOT NULL, "kind" character varying(8) NOT NULL, "spawn_at" TIMESTAMP WITH TIME ZONE NOT NULL, "despawn_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_whack_moles" PRIMARY KEY ("round_id", "mole_id"))`,
    );
    await q.query(
      `CREATE TABLE "whack_round_players" ("round_id" uuid NOT NULL, "user_id" uuid NOT NULL, "display_name" character varying(64) NOT NULL, "play_session_id" uuid NOT NULL, "score" integer NOT NULL DEFAULT '0', "hits" integer NOT NULL DEFAULT '0', "misses" integer NOT NULL DEFAULT '0', "rank" integer, "flagged" boolean NOT NULL DEFAULT false, "flags" jsonb NOT NULL, "end_reason" character varying(32), "ended_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_whack_round_players" PRIMARY KEY ("round_id", "user_id"))`,
    );
    await q.query(
      `CREATE INDEX "whack_round_players_user_ended_idx" ON "whack_round_players" ("user_id", "ended_at", "round_id") WHERE ended_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."whack_round_players_user_ended_idx"`);
    await q.query(`DROP TABLE "whack_round_players"`);
    await q.query(`DROP TABLE "whack_moles"`);
    await q.query(`DROP TABLE "whack_hits"`);
    await q.query(`DROP INDEX "public"."whack_rounds_playing_idx"`);
    await q.query(`DROP INDEX "public"."whack_rounds_leaderboard_pending_idx"`);
    await q.query(`DROP TABLE "whack_rounds"`);
  }
}
