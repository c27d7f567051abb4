import type { Room } from "@colyseus/sdk";
import { api, currentUser } from "../lib/api";
import { fill, guarded, h } from "../lib/dom";
import { colyseus, leave, reportRoomErrors } from "../lib/rooms";
import { LeaderboardState } from "../lib/state";

interface Board {
  id: string;
  title: string;
}

/**
 * A live leaderboard: the `leaderboard` room's top ten and the viewer's own
 * rank (its `me` entry, visible to this client only). Returns a closer.
 */
export function leaderboardPanel(boardId: string): { el: HTMLElement; close: () => void } {
  const rows = h("tbody", { "data-board": boardId });
  const me = h("p", { class: "muted", "data-testid": "my-rank" }, "Your rank: —");
  const period = h("p", { class: "muted" });
  const el = h(
    "div",
    { class: "leaderboard" },
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Player"), h("th", {}, "Score"))), rows),
    me,
    period,
  );
  let room: Room<any, LeaderboardState> | undefined;
  let closed = false;
  void guarded(async () => {
    const joined = await colyseus().joinOrCreate("leaderboard", { boardId }, LeaderboardState);
    if (closed) return leave(joined);
    room = joined;
    reportRoomErrors(joined);
    joined.onMessage("period:rollover", () => {});
    joined.onStateChange((state) => {
      fill(
        rows,
        ...[...state.top].map((e) =>
          h(
            "tr",
            { class: e.userId === currentUser()?.id ? "me" : "" },
            h("td", {}, e.rank),
            h("td", {}, e.name),
            h("td", {}, e.score),
          ),
        ),
      );
      const mine = state.me.get(joined.sessionId);
      me.textContent = mine ? `Your rank: ${mine.rank} (${mine.score})` : "Your rank: — (no score yet)";
      period.textContent = state.periodEnd ? `Resets ${new Date(state.periodEnd).toLocaleString()}` : "";
    });
  });
  return {
    el,
    close: () => {
      closed = true;
      leave(room);
    },
  };
}

/** Every board, one live panel at a time. */
export function leaderboardScreen(root: HTMLElement) {
  const select = h("select", { id: "board" });
  const holder = h("div");
  let panel: ReturnType<typeof leaderboardPanel> | undefined;
  const show = (id: string) => {
    panel?.close();
    panel = leaderboardPanel(id);
    fill(holder, panel.el);
  };
  select.addEventListener("change", () => show(select.value));
  root.append(h("section", {}, h("h2", {}, "Leaderboards"), h("div", { class: "row" }, select), holder));
  void guarded(async () => {
    const { leaderboards } = await api<{ leaderboards: Board[] }>("/api/leaderboards");
    fill(select, ...leaderboards.map((b) => h("option", { value: b.id, selected: b.id === "whack-alltime" }, b.title)));
    if (leaderboards.length) show(select.value);
  });
  return () => panel?.close();
}
