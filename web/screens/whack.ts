import type { Room } from "@colyseus/sdk";
import { api } from "../lib/api";
import { button, fill, guarded, h, showError } from "../lib/dom";
import { colyseus, leave, reportRoomErrors } from "../lib/rooms";
import { WhackState } from "../lib/state";
import { leaderboardPanel } from "./leaderboard";

interface Game {
  id: string;
  slug: string;
  title: string;
  pricePerMinute: number;
  assets: Array<{ id: string; name: string; contentType: string }>;
}

interface RoundEnd {
  roundId: string;
  reason: string;
  scores: Array<{ userId: string; displayName: string; score: number; hits: number; misses: number; flagged: boolean }>;
}

/** Frames of the seeded sprite sheet (moles.png), left to right, 64 px each. */
const FRAMES = ["hole", "normal", "golden", "bomb"];

/** The game list; the whack game opens its play screen. */
export function gamesScreen(root: HTMLElement) {
  const list = h("ul", { class: "log", id: "games" });
  root.append(h("section", {}, h("h2", {}, "Games"), list));
  void guarded(async () => {
    const { games } = await api<{ games: Game[] }>("/api/games");
    fill(
      list,
      ...games.map((g) =>
        h(
          "li",
          {},
          `${g.title} · ${g.pricePerMinute ? `${g.pricePerMinute} tokens/min` : "free"} `,
          g.slug === "whack"
            ? h("a", { href: "#/whack", id: "play-whack" }, "Play")
            : h("span", { class: "muted" }, "(no web client yet)"),
        ),
      ),
    );
  });
}

/**
 * A play session of the whack game (kept alive by heartbeats), its assets
 * streamed with the session token, and solo rounds in the `whack` room:
 * moles drawn from the room state, clicks sent as `whack`, `round:end` with
 * the audit link; the live all-time leaderboard beside it.
 */
export function whackScreen(root: HTMLElement) {
  let sessionToken: string | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let room: Room<any, WhackState> | undefined;
  let closed = false;
  let sprite = "";
  const sounds: Record<string, HTMLAudioElement> = {};

  const status = h("p", { id: "whack-status" }, "Starting a play session…");
  const score = h("p", { id: "whack-score" });
  const note = h("p", { class: "muted", id: "whack-note" });
  const sprites = Array.from({ length: 9 }, () => h("span", { class: "sprite" }));
  const holes = sprites.map((sprite, hole) =>
    h(
      "button",
      {
        type: "button",
        class: "hole",
        "data-hole": hole,
        "aria-label": `hole ${hole + 1}`,
        onclick: () => whack(hole),
      },
      sprite,
    ),
  );
  const results = h("div", { id: "whack-results" });
  const ready = button("Ready", () => room?.send("ready"), { id: "whack-ready", class: "primary", disabled: true });
  const again = button("Play again", () => newRound(), { id: "whack-again", hidden: true });
  const board = leaderboardPanel("whack-alltime");
  root.append(
    h(
      "div",
      { class: "two" },
      h(
        "section",
        {},
        h("h2", {}, "Whack-a-mole"),
        status,
        score,
        h("div", { class: "board" }, ...holes),
        note,
        h("div", { class: "row" }, ready, again),
        results,
      ),
      h("section", {}, h("h2", {}, "All time"), board.el),
    ),
  );

  const whack = (hole: number) => {
    if (room?.state.phase !== "playing") return;
    const moleId = room.state.holes[hole]?.moleId;
    room.send("whack", moleId ? { hole, moleId } : { hole });
  };

  const draw = (state: WhackState) => {
    [...state.holes].forEach((h2, i) => {
      const up = h2.moleId > 0;
      const el = holes[i];
      el.className = `hole${up ? ` up ${h2.kind}` : ""}`;
      el.dataset.moleId = String(h2.moleId);
      const frame = up ? FRAMES.indexOf(h2.kind) : 0;
      const face = sprites[i];
      if (sprite) {
        // CSSOM, not a style attribute: the CSP allows no inline styles.
        face.style.backgroundImage = `url("${sprite}")`;
        face.style.backgroundPosition = `${-64 * Math.max(0, frame)}px 0`;
      } else face.textContent = up ? (h2.kind === "bomb" ? "💣" : h2.kind === "golden" ? "🌟" : "🐹") : "";
    });
    const me = [...state.players.values()][0];
    score.textContent = me ? `Score ${me.score} · hits ${me.hits} · misses ${me.misses}` : "";
  };

  const tick = () => {
    const s = room?.state;
    if (!s) return;
    const now = Date.now();
    status.textContent =
      s.phase === "waiting"
        ? "Press Ready to start"
        : s.phase === "countdown"
          ? `Starting in ${Math.max(0, Math.ceil((s.startsAt - now) / 1000))}…`
          : s.phase === "playing"
            ? `Time left ${Math.max(0, Math.ceil((s.endsAt - now) / 1000))} s`
            : "Round over";
    status.dataset.phase = s.phase;
    ready.disabled = s.phase !== "waiting";
    ready.hidden = s.phase === "ended";
  };

  const newRound = async () => {
    // The session sits in one whack room at a time: out of the old one before the next.
    if (room?.connection.isOpen) await room.leave().catch(() => {});
    fill(results);
    again.hidden = true;
    const joined = await colyseus().create("whack", { mode: "solo", sessionToken }, WhackState);
    if (closed) return leave(joined);
    room = joined;
    const feedback = (message: string) => (note.textContent = message);
    reportRoomErrors(joined, { MISS: feedback, ALREADY_HIT: feedback });
    joined.onStateChange(draw);
    joined.onMessage("pong", () => {});
    joined.onMessage("badge:awarded", (b: { name: string }) => results.append(h("p", {}, `Badge earned: ${b.name}`)));
    joined.onMessage("hit", (hit: { userId: string; points: number }) => {
      note.textContent = hit.points > 0 ? `+${hit.points}` : `${hit.points}`;
      void (hit.points < 0 ? sounds.bomb : sounds.hit)?.play().catch(() => {});
    });
    joined.onMessage("round:end", (end: RoundEnd) => {
      ready.disabled = true;
      again.hidden = false;
      fill(
        results,
        h("h3", {}, `Round over (${end.reason})`),
        h(
          "table",
          { id: "round-scores" },
          ...end.scores.map((s) =>
            h(
              "tr",
              {},
              h("td", {}, s.displayName),
              h("td", {}, s.score),
              h("td", {}, `${s.hits} hits`),
              h("td", {}, s.flagged ? "flagged" : ""),
            ),
          ),
        ),
        h(
          "a",
          { href: `/api/whack/rounds/${end.roundId}`, target: "_blank", id: "audit-link" },
          "Audit this round (seed, moles, hits)",
        ),
      );
    });
    // Latency estimate for the server's hit check.
    joined.send("ping", { t: Date.now() });
    ready.disabled = false;
    tick();
  };

  /** The session token opens the game's assets: the sprite as a blob, sounds by signed URL. */
  const loadAssets = async (game: Game) => {
    for (const asset of game.assets) {
      if (asset.name === "moles.png") {
        const res = await fetch(`/api/assets/${asset.id}`, { headers: { Authorization: `Bearer ${sessionToken}` } });
        if (res.ok) sprite = URL.createObjectURL(await res.blob());
      } else if (asset.contentType.startsWith("audio/")) {
        const { url } = await api<{ url: string }>(`/api/assets/${asset.id}/url`, { bearer: sessionToken });
        sounds[asset.name.replace(/\.\w+$/, "")] = new Audio(url);
      }
    }
  };

  void guarded(async () => {
    const { games } = await api<{ games: Game[] }>("/api/games");
    const game = games.find((g) => g.slug === "whack");
    if (!game) throw new Error("The whack game is not installed");
    const started = await api<{ sessionToken: string; heartbeatIntervalSec: number }>("/api/play/start", {
      body: { gameId: game.id },
    });
    sessionToken = started.sessionToken;
    if (closed) return stop();
    heartbeat = setInterval(
      () =>
        void api<{ sessionToken: string }>("/api/play/heartbeat", { method: "POST", bearer: sessionToken })
          .then((r) => (sessionToken = r.sessionToken))
          .catch(showError),
      started.heartbeatIntervalSec * 1000 * 0.8,
    );
    await loadAssets(game);
    ticker = setInterval(tick, 200);
    await newRound();
  });

  const stop = () => {
    clearInterval(heartbeat);
    clearInterval(ticker);
    if (sessionToken) void api("/api/play/stop", { method: "POST", bearer: sessionToken }).catch(() => {});
    sessionToken = undefined;
    if (sprite) URL.revokeObjectURL(sprite);
  };
  return () => {
    closed = true;
    board.close();
    leave(room);
    stop();
  };
}
