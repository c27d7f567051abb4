import assert from "node:assert/strict";
import { type TestApp, testApp } from "./helpers/app";
import { register } from "./helpers/users";
import { sleep } from "./helpers/play";
import { collect, nextMessage, sdkFor } from "./helpers/video";
import { playSoloRound } from "./helpers/whack";

describe("user notices", function () {
  this.timeout(30_000);
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });

  it("reach every open room of that user (whack and leaderboard), and nobody else's", async () => {
    const player = await register(t, { displayName: "Noticed" });
    const other = await register(t, { displayName: "Bystander" });
    const round = await playSoloRound(t, player);
    const board = await sdkFor(t, player).joinOrCreate<any>("leaderboard", { boardId: "whack-daily" });
    const otherBoard = await sdkFor(t, other).joinOrCreate<any>("leaderboard", { boardId: "whack-daily" });
    try {
      assert.ok(round.end.scores[0].hits > 0, "the helper's player hit moles");
      const othersGot = collect(otherBoard, "test:notice");
      const inRound = nextMessage(round.room, "test:notice");
      const inBoard = nextMessage(board, "test:notice");
      await t.app.services.events.publish("user.notice", "all", {
        userId: player.user.id,
        type: "test:notice",
        message: { n: 1 },
      });
      assert.deepEqual(await inRound, { n: 1 });
      assert.deepEqual(await inBoard, { n: 1 });
      await sleep(200); // time for a stray delivery to arrive
      assert.deepEqual(othersGot, []);
    } finally {
      await Promise.all([board.leave(), otherBoard.leave(), round.close()]);
    }
  });
});
