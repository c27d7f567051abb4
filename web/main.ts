import { currentUser, onSessionChange, refresh, signOut } from "./lib/api";
import { button, clearError, fill, guarded, h } from "./lib/dom";
import { authScreen } from "./screens/auth";
import { leaderboardScreen } from "./screens/leaderboard";
import { progressScreen } from "./screens/progress";
import { streamsScreen, watchScreen } from "./screens/streams";
import { videoScreen } from "./screens/video";
import { walletScreen } from "./screens/wallet";
import { gamesScreen, whackScreen } from "./screens/whack";

/** A screen draws into `root` and may return what to undo when it is left (rooms, timers). */
type Screen = (root: HTMLElement, param: string) => void | (() => void);

const screens: Record<string, { label?: string; render: Screen }> = {
  games: { label: "Games", render: gamesScreen },
  whack: { render: whackScreen },
  leaderboards: { label: "Leaderboards", render: leaderboardScreen },
  progress: { label: "Badges & challenges", render: progressScreen },
  video: { label: "Video chat", render: videoScreen },
  streams: { label: "Streams", render: (root, id) => (id ? watchScreen(root, id) : streamsScreen(root)) },
  wallet: { label: "Wallet", render: walletScreen },
};

const main = document.getElementById("screen")!;
const nav = document.getElementById("nav")!;
const who = document.getElementById("who")!;
let leaveScreen: (() => void) | undefined;

/** `#/<screen>/<param>`; signed-out users always get the sign-in screen. */
function route() {
  leaveScreen?.();
  leaveScreen = undefined;
  clearError();
  main.replaceChildren();
  const [name = "games", param = ""] = location.hash.replace(/^#\/?/, "").split("/");
  const screen = screens[name] ?? screens.games;
  nav.querySelectorAll("a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === `#/${name}`));
  if (!currentUser()) {
    main.dataset.screen = "auth";
    return authScreen(main, route);
  }
  main.dataset.screen = name in screens ? name : "games";
  leaveScreen = screen.render(main, decodeURIComponent(param)) ?? undefined;
}

onSessionChange((user) => {
  fill(
    nav,
    ...(user
      ? Object.entries(screens)
          .filter(([, s]) => s.label)
          .map(([name, s]) => h("a", { href: `#/${name}` }, s.label!))
      : []),
  );
  fill(
    who,
    ...(user
      ? [
          `${user.displayName}${user.isGuest ? " (guest)" : ""} `,
          button("Sign out", async () => (await signOut(), route()), { id: "sign-out" }),
        ]
      : []),
  );
});

window.addEventListener("hashchange", route);
window.addEventListener("unhandledrejection", (event) => {
  // Anything a screen forgot to catch still reaches the banner rather than only the console.
  event.preventDefault();
  void guarded(() => Promise.reject(event.reason));
});
void refresh().finally(route);
