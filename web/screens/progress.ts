import { api, currentUser } from "../lib/api";
import { button, fill, guarded, h } from "../lib/dom";
import type { BadgeView } from "../../src/services/badges";
import type { ChallengeView } from "../../src/services/challenges";

// The server's own view shapes (types only: nothing from src is bundled).
type Badge = Pick<BadgeView, "id" | "name" | "description" | "icon" | "reward">;
type Challenge = ChallengeView;

const tokens = (n: number) => (n === 1 ? "1 token" : `${n} tokens`);

/** Badges (earned and to earn) and today's challenges with their claim button. */
export function progressScreen(root: HTMLElement) {
  const badges = h("ul", { class: "list", id: "badges" });
  const challenges = h("ul", { class: "list", id: "challenges" });
  root.append(
    h("section", {}, h("h2", {}, "Today's challenges"), challenges),
    h("section", {}, h("h2", {}, "Badges"), badges),
  );

  const loadChallenges = async () => {
    const { challenges: today } = await api<{ challenges: Challenge[] }>("/api/challenges");
    if (!today.length) return fill(challenges, h("li", { class: "muted" }, "No challenges today."));
    fill(
      challenges,
      ...today.map((c) =>
        h(
          "li",
          {},
          `${c.title}: ${c.description} (${Math.min(c.progress, c.target)}/${c.target}, ${tokens(c.reward)}) `,
          c.claimed
            ? h("span", { class: "muted" }, "claimed")
            : button(
                "Claim",
                async () => {
                  await api(`/api/challenges/${c.id}/claim`, { method: "POST" });
                  await loadChallenges();
                },
                { disabled: !c.completed },
              ),
        ),
      ),
    );
  };

  void guarded(loadChallenges);
  void guarded(async () => {
    const { badges: all } = await api<{ badges: Badge[] }>("/api/badges");
    const mine = `/api/users/${currentUser()!.id}/badges`;
    const { badges: earned } = await api<{ badges: Array<{ badgeId: string; awardedAt: string }> }>(mine);
    const got = new Map(earned.map((b) => [b.badgeId, b.awardedAt]));
    fill(
      badges,
      ...all.map((b) =>
        h(
          "li",
          { class: got.has(b.id) ? "me" : "muted" },
          `${b.name}: ${b.description}${got.has(b.id) ? ` · earned ${new Date(got.get(b.id)!).toLocaleDateString()}` : ` · ${tokens(b.reward)}`}`,
        ),
      ),
    );
  });
}
