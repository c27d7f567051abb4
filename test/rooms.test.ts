import assert from "node:assert/strict";
import { testApp } from "./helpers/app";

describe("rooms", () => {
  it("an SDK client joins the lobby and gets the room listing", async () => {
    const { sdk } = await testApp();
    const room = await sdk().joinOrCreate("lobby");
    try {
      const rooms = await new Promise<unknown[]>((resolve) => room.onMessage("rooms", resolve));
      assert.ok(Array.isArray(rooms));
      assert.ok(room.roomId);
    } finally {
      await room.leave();
    }
  });

  it("accepts messages up to 64 KB on the WebSocket (room handlers enforce their own limits)", async () => {
    const { sdk } = await testApp();
    const room = await sdk().joinOrCreate("lobby");
    try {
      // The lobby ignores unknown payload content; the point is the socket stays open past 4 KB.
      room.onMessage("rooms", () => {});
      room.send("filter", { pad: "x".repeat(20_000) });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(room.connection.isOpen, true);
    } finally {
      await room.leave();
    }
  });
});
