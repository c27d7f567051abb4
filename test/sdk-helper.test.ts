import assert from "node:assert/strict";
import { testApp } from "./helpers/app";

/** Test clients stay quiet about pushed messages a test ignores, and still deliver the ones it listens to. */
describe("test SDK client", () => {
  it("ignores unhandled message types without a console warning", async () => {
    const t = await testApp();
    const warnings: unknown[][] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      // The lobby pushes `rooms` on join: nobody listens to it here.
      const lobby = await t.sdk().joinOrCreate("lobby");
      const listened = await t.sdk().joinOrCreate("lobby");
      // A `filter` message makes the lobby send `rooms` again, now to a registered handler.
      const rooms = new Promise<unknown>((resolve) => listened.onMessage("rooms", resolve));
      listened.send("filter", {});
      assert.ok(Array.isArray(await rooms), "a registered handler still gets its message");
      await new Promise((r) => setTimeout(r, 200));
      await Promise.all([lobby.leave(), listened.leave()]);
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(
      warnings.filter((w) => String(w[0]).includes("not registered")),
      [],
    );
  });
});
