import type { MigrationInterface, QueryRunner } from "typeorm";

/** Idempotency keys of trusted leaderboard writes (a game round's result is applied once). */
export class LeaderboardWrites1795700000000 implements MigrationInterface {
  name = "LeaderboardWrites1795700000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "leaderboard_writes" ("idempotency_key" character varying(200) NOT NULL, "board_id" character varying(64) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_leaderboard_writes" PRIMARY KEY ("idempotency_key"))`,
    );
    await q.query(`CREATE INDEX "IDX_leaderboard_writes_board" ON "leaderboard_writes" ("board_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "leaderboard_writes"`);
  }
}
