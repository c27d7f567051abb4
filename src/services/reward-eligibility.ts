import type { EntityManager } from "typeorm";

/**
 * Whether a user may receive token rewards (badges, daily challenges): a registered account with a
 * verified email or phone. Guest and unverified accounts cost nothing to create in any number, so
 * rewarding them would let a script mint tokens; they still earn badges and complete challenges.
 */
export async function canEarnRewards(m: EntityManager, userId: string): Promise<boolean> {
  const rows = await m.query(
    `SELECT 1 FROM users
      WHERE id = $1 AND deleted_at IS NULL AND NOT is_guest
        AND (email_verified_at IS NOT NULL OR phone_verified_at IS NOT NULL)`,
    [userId],
  );
  return rows.length > 0;
}
