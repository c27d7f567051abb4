import { type BadgeService, badgeTextKey } from "./badges";
import type { DomainEventPayloads, DomainLog } from "./domain-log";
import type { DomainEvents } from "./events";
import { withTimeout } from "./unavailable";

export const BADGE_NOTICES_CONSUMER = "badge-notices";
/** A publish that hangs (Redis away) fails the delivery instead of holding the dispatcher's transaction. */
const PUBLISH_TIMEOUT_MS = 2000;

/**
 * Tells the user's open rooms, on every process, that a badge was awarded: `badge:awarded
 * {badgeId, name}`. At least once: a publish followed by a failed commit is published again.
 */
export function registerBadgeNotices(log: DomainLog, badges: BadgeService, events: DomainEvents): void {
  log.register(
    BADGE_NOTICES_CONSUMER,
    async (m, event) => {
      if (event.type !== "badge_awarded") return;
      const { userId, badgeId } = event.payload as DomainEventPayloads["badge_awarded"];
      const name = await badges.nameOf(m, badgeId);
      if (name === undefined) return;
      await withTimeout(
        events.publish("user.notice", "all", {
          userId,
          type: "badge:awarded",
          message: { badgeId, name },
          // Each client gets the name in its own language.
          texts: { name: { key: badgeTextKey(badgeId, "name"), fallback: name } },
        }),
        PUBLISH_TIMEOUT_MS,
        "user notice publish",
      );
    },
    { types: ["badge_awarded"] },
  );
}
