import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Which process hosts a call, a play session or a stream's room, so the
 * survivors can clean up after a dead one; and since when a stream's owner is
 * away (a new stream starts "away" until the owner joins its room).
 */
export class AddProcessOwnership1795500000000 implements MigrationInterface {
  name = "AddProcessOwnership1795500000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "calls" ADD "process_id" character varying(64)`);
    await q.query(`ALTER TABLE "play_sessions" ADD "process_id" character varying(64)`);
    await q.query(`ALTER TABLE "streams" ADD "process_id" character varying(64)`);
    await q.query(`ALTER TABLE "streams" ADD "owner_left_at" TIMESTAMP WITH TIME ZONE DEFAULT now()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "streams" DROP COLUMN "owner_left_at"`);
    await q.query(`ALTER TABLE "streams" DROP COLUMN "process_id"`);
    await q.query(`ALTER TABLE "play_sessions" DROP COLUMN "process_id"`);
    await q.query(`ALTER TABLE "calls" DROP COLUMN "process_id"`);
  }
}
