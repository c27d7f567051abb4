import type { DataSource } from "typeorm";
import { User } from "../entities";
import { badRequest, notFound } from "./errors";

export interface BlockView {
  userId: string;
  createdAt: string;
}

/** The users `$1` blocked or was blocked by, as rows of `id`; the match queue embeds it in its admission query. */
export const BLOCKED_EITHER_WAY_SQL = `SELECT blocked_id AS id FROM blocks WHERE blocker_id = $1
       UNION
       SELECT blocker_id AS id FROM blocks WHERE blocked_id = $1`;

/** Who blocked whom. A block works both ways: neither user is matched with the other again. */
export class BlockService {
  constructor(private readonly dataSource: DataSource) {}

  /** Idempotent: blocking someone twice keeps the first block. */
  async block(blockerId: string, blockedId: string): Promise<void> {
    if (blockerId === blockedId) throw badRequest("SELF_BLOCK", "You cannot block yourself");
    const target = await this.dataSource
      .getRepository(User)
      .findOne({ where: { id: blockedId }, select: { id: true, deletedAt: true } });
    if (!target || target.deletedAt) throw notFound("No such user", "USER_NOT_FOUND");
    await this.dataSource.query(
      `INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT (blocker_id, blocked_id) DO NOTHING`,
      [blockerId, blockedId],
    );
  }

  /** Idempotent: unblocking someone who is not blocked changes nothing. */
  async unblock(blockerId: string, blockedId: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2`, [blockerId, blockedId]);
  }

  /** The users `blockerId` blocked, newest first. */
  async list(blockerId: string): Promise<BlockView[]> {
    const rows: Array<{ blocked_id: string; created_at: Date }> = await this.dataSource.query(
      `SELECT blocked_id, created_at FROM blocks WHERE blocker_id = $1 ORDER BY created_at DESC, blocked_id`,
      [blockerId],
    );
    return rows.map((r) => ({ userId: r.blocked_id, createdAt: new Date(r.created_at).toISOString() }));
  }

  /** Everyone this user blocked or was blocked by. */
  async blockedEitherWay(userId: string): Promise<Set<string>> {
    const rows: Array<{ id: string }> = await this.dataSource.query(BLOCKED_EITHER_WAY_SQL, [userId]);
    return new Set(rows.map((r) => r.id));
  }

  async isBlockedEitherWay(a: string, b: string): Promise<boolean> {
    const rows = await this.dataSource.query(
      `SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1) LIMIT 1`,
      [a, b],
    );
    return rows.length > 0;
  }
}
