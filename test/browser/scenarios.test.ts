import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import type { ServerProcess } from "../helpers/process";
import {
  getDemoTokens,
  go,
  launchBrowser,
  openTab,
  SCREENSHOT_DIR,
  screenshot,
  signUp,
  startCoturn,
  startServer,
  type Tab,
} from "./harness";

/**
 * The web client in a real browser (Debian's chromium through playwright-core)
 * against a spawned `npm start`-equivalent server and a local coturn.
 */
describe("web client in a browser", function () {
  let server: ServerProcess;
  let coturn: Awaited<ReturnType<typeof startCoturn>>;
  let browser: Browser;
  const tabs: Tab[] = [];
  const tab = async () => {
    const t = await openTab(browser, server.baseUrl);
    tabs.push(t);
    return t;
  };

  before(async () => {
    [coturn, server, browser] = await Promise.all([startCoturn(), startServer(), launchBrowser()]);
    console.log(`      screenshots: ${SCREENSHOT_DIR}`);
  });
  afterEach(async () => {
    await Promise.all(tabs.splice(0).map((t) => t.context.close().catch(() => {})));
  });
  after(async () => {
    await browser?.close();
    await server?.kill();
    await coturn?.stop();
  });

  it("1. a player signs up and plays a whack round by clicking moles; another browser's leaderboard shows the score", async () => {
    const player = await tab();
    const viewer = await tab();
    await signUp(player, "Molly Mole");
    await signUp(viewer, "Vic Viewer");
    await go(viewer, "leaderboards");
    await viewer.page.waitForSelector("tbody[data-board='whack-alltime']", { state: "attached" });

    await go(player, "whack");
    await player.page.click("#whack-ready:not([disabled])");
    // Click every mole that is not a bomb, a human 150 ms after it shows (faster would flag the round).
    const clicked = new Set<string>();
    while ((await player.page.getAttribute("#whack-status", "data-phase")) !== "ended") {
      const up = await player.page.$$eval(".hole.up.normal, .hole.up.golden", (els) =>
        els.map((el) => (el as HTMLElement).dataset.moleId!),
      );
      const fresh = up.find((id) => !clicked.has(id));
      if (fresh) {
        clicked.add(fresh);
        await player.page.waitForTimeout(150);
        await player.page.click(`.hole[data-mole-id="${fresh}"]`, { timeout: 500 }).catch(() => {});
      } else await player.page.waitForTimeout(25);
    }
    await player.page.waitForSelector("#round-scores");
    const ended = Date.now();
    const row = await player.page.$$eval("#round-scores tr:first-child td", (tds) => tds.map((td) => td.textContent));
    assert.equal(row[0], "Molly Mole");
    const score = Number(row[1]);
    assert.ok(score > 0, `clicked moles scored: ${row}`);
    assert.equal(row[3], "", "not flagged");
    assert.match((await player.page.getAttribute("#audit-link", "href"))!, /^\/api\/whack\/rounds\/[\w-]+$/);
    await screenshot(player, "whack-round-end");

    // The other browser's live panel (the leaderboard room) gets the new score.
    await viewer.page
      .waitForFunction(
        (expected) =>
          [...document.querySelectorAll("tbody[data-board='whack-alltime'] tr")].some(
            (tr) => tr.textContent === `1Molly Mole${expected}` || tr.textContent?.endsWith(`Molly Mole${expected}`),
          ),
        score,
        { timeout: 10_000 },
      )
      .catch(async (err) => {
        await screenshot(viewer, "leaderboard-failed");
        throw new Error(`${err.message}\nviewer: ${await viewer.page.textContent("main")}\nerrors: ${viewer.errors}`);
      });
    console.log(`      leaderboard showed the score ${Date.now() - ended} ms after round:end reached the page`);
    await screenshot(viewer, "leaderboard-live");
    // The player's own rank, from the leaderboard room's per-client `me`.
    await player.page.waitForFunction(() =>
      /Your rank: \d+/.test(document.querySelector("[data-testid=my-rank]")?.textContent ?? ""),
    );
  });

  /** Two browsers matched in one bucket, their calls connected with frames decoded on both sides. */
  async function call(language: string, relayOnly: boolean) {
    const [a, b] = [await tab(), await tab()];
    await signUp(a, "Ada Video");
    await signUp(b, "Bob Video");
    for (const t of [a, b]) {
      await getDemoTokens(t);
      await go(t, "video");
      await t.page.fill("#language", language);
      if (relayOnly) await t.page.check("#relay");
    }
    await Promise.all([a, b].map((t) => t.page.click("#queue-form button")));
    const connected = (t: Tab) =>
      t.page.waitForFunction(
        () => {
          const s = document.getElementById("call-stats")?.dataset;
          return s?.connection === "connected" && Number(s.frames) > 0;
        },
        undefined,
        { timeout: 30_000 },
      );
    await Promise.all([connected(a), connected(b)]);
    const roles = await Promise.all([a, b].map((t) => t.page.getAttribute("#call-stage", "data-role")));
    assert.deepEqual(roles.sort(), ["answerer", "offerer"]);
    return { a, b };
  }

  it("2. two browsers with fake cameras are matched, connect with decoded video, MATCH and chat", async () => {
    const { a, b } = await call("en", false);
    await screenshot(a, "video-call");
    // Both sides renegotiate at once (an ICE restart each): perfect negotiation must not wedge the call.
    const frames = (t: Tab) => t.page.getAttribute("#call-stats", "data-frames").then(Number);
    const before = await Promise.all([a, b].map(frames));
    await Promise.all([a, b].map((t) => t.page.click("#restart-ice")));
    await Promise.all(
      [a, b].map((t, i) =>
        t.page.waitForFunction(
          (seen) => {
            const s = document.getElementById("call-stats")?.dataset;
            return s?.connection === "connected" && Number(s.frames) > seen + 30;
          },
          before[i],
          { timeout: 30_000 },
        ),
      ),
    );
    assert.deepEqual([...a.errors, ...b.errors], [], "no console errors");
    for (const t of [a, b]) assert.equal(await t.page.isHidden("#error"), true, "no error shown");
    await a.page.click("#hang-up");
    await Promise.all([a, b].map((t) => t.page.click("#choose-match")));
    await Promise.all([a, b].map((t) => t.page.waitForSelector("#mutual")));
    await Promise.all([a, b].map((t) => t.page.waitForSelector("#chat-form")));
    await a.page.fill("#chat-text", "Nice to meet you!");
    await a.page.click("#chat-form button");
    await b.page.waitForFunction(() => document.getElementById("chat-log")?.textContent?.includes("Nice to meet you!"));
    await screenshot(b, "match-chat");
  });

  it("3. the same call with iceTransportPolicy relay goes through the local coturn and carries frames", async () => {
    const { a, b } = await call("fr", true);
    for (const t of [a, b]) assert.equal(await t.page.getAttribute("#call-stats", "data-relayed"), "true");
    assert.match(coturn.output(), /allocation|session/i, "coturn saw the allocations");
    await a.page.click("#hang-up");
  });

  it("4. a viewer's chat and tip appear in another viewer's page of a live stream", async () => {
    const [owner, tipper, watcher] = [await tab(), await tab(), await tab()];
    await signUp(owner, "Olive Owner");
    await signUp(tipper, "Tim Tipper");
    await signUp(watcher, "Wes Watcher");
    await getDemoTokens(tipper);
    await go(owner, "streams");
    await owner.page.fill("#stream-title", "Speedrun night");
    await owner.page.click("#go-live button");
    await owner.page.waitForSelector("#end-stream");
    const streamPath = new URL(owner.page.url()).hash.slice(2);
    for (const t of [tipper, watcher]) {
      await go(t, "streams");
      await t.page.waitForSelector(`a[href='#/${streamPath}']`);
      await go(t, streamPath);
    }
    // Viewers: the two who are not the owner.
    await watcher.page.waitForFunction(() => document.getElementById("viewer-count")?.textContent === "2");
    await tipper.page.waitForSelector("#stream-chat-form");
    await tipper.page.fill("#stream-chat-text", "GG everyone");
    await tipper.page.click("#stream-chat-form button");
    await tipper.page.fill("#tip-amount", "5");
    await tipper.page.fill("#tip-message", "for the run");
    await tipper.page.click("#tip-form button");
    await watcher.page.waitForFunction(() => {
      const text = document.getElementById("stream-chat")?.textContent ?? "";
      return text.includes("Tim Tipper: GG everyone") && text.includes("Tim Tipper tipped 5: for the run");
    });
    await screenshot(watcher, "stream-watch");
    await owner.page.click("#end-stream");
    await watcher.page.waitForFunction(() => document.getElementById("stream-status")?.textContent?.includes("ended"));
  });

  it("5. every screen renders without console errors (screenshots saved)", async () => {
    const t = await tab();
    await t.page.waitForSelector("#signup");
    await screenshot(t, "sign-in");
    await signUp(t, "Sam Screens");
    const screens: Array<[string, string]> = [
      ["games", "#games li"],
      ["whack", "#whack-ready:not([disabled])"],
      ["leaderboards", "[data-testid=my-rank]"],
      ["progress", "#challenges li"],
      ["video", "#queue-form"],
      ["streams", "#streams li"],
      ["wallet", "#packs button"],
    ];
    for (const [name, ready] of screens) {
      await go(t, name);
      await t.page.waitForSelector(ready);
      if (name === "progress") {
        await t.page.waitForSelector("#badges li");
        assert.equal(await t.page.locator("#challenges li").count(), 3, "today's three challenges");
        assert.match((await t.page.locator("#badges").textContent()) ?? "", /First round/);
      }
      await screenshot(t, name);
    }
    await go(t, "games");
    assert.deepEqual(t.errors, []);
  });
});
