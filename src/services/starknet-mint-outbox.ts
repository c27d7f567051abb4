import type { EntityManager } from "typeorm";
import { starknetMints } from "../metrics";
import type { DomainEventPayloads, DomainLog } from "./domain-log";
import { tokenBadgeId } from "./starknet-invoke";

export const STARKNET_MINTS_CONSUMER = "starknet-mints";

/**
 * Queues a mint for each award of `userId` (one, or all with no badge given) whose owner has a
 * linked wallet, in the caller's transaction. One row per award (unique): a second delivery of
 * the same event, or a link after the award, adds nothing twice.
 */
export async function enqueueMints(
  m: EntityManager,
  userId: string,
  award?: { badgeId: string; period: string },
): Promise<number> {
  const awards: Array<{ id: string; badge_id: string; address: string }> = await m.query(
    `SELECT a.id, a.badge_id, w.address FROM badge_awards a JOIN starknet_wallets w ON w.user_id = a.user_id
      WHERE a.user_id = $1 AND ($2::text IS NULL OR (a.badge_id = $2 AND a.period = $3))`,
    [userId, award?.badgeId ?? null, award?.period ?? null],
  );
  let queued = 0;
  for (const a of awards) {
    const inserted: unknown[] = await m.query(
      `INSERT INTO starknet_mints (award_id, user_id, badge_id, recipient, token_badge_id)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (award_id) DO NOTHING RETURNING id`,
      [a.id, userId, a.badge_id, a.address, tokenBadgeId(a.badge_id)],
    );
    queued += inserted.length;
  }
  if (queued > 0) starknetMints.inc({ outcome: "queued" }, queued);
  return queued;
}

/** The `starknet-mints` consumer of `badge_awarded` (registered only when minting is configured). */
export function registerStarknetMints(log: DomainLog): void {
  log.register(
    STARKNET_MINTS_CONSUMER,
    async (m, event) => {
      if (event.type !== "badge_awarded") return;
      const { userId, badgeId, period } = event.payload as DomainEventPayloads["badge_awarded"];
      await enqueueMints(m, userId, { badgeId, period });
    },
    { types: ["badge_awarded"] },
  );
}
