import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  HOLES,
  judge,
  judgedAt,
  LatencyEstimator,
  MAX_LATENCY_MS,
  moleSchedule,
  POINTS,
  REACTION_FLOOR_MS,
  seededRandom,
  seedHashOf,
  WhackRateWindow,
  type JudgedMole,
} from "../src/services/whack-rules";

describe("whack rules", () => {
  describe("seeded random and schedule", () => {
    it("is deterministic per seed and differs between seeds", () => {
      const a = seededRandom("seed-a");
      const again = seededRandom("seed-a");
      const b = seededRandom("seed-b");
      const first = Array.from({ length: 50 }, a);
      assert.deepEqual(Array.from({ length: 50 }, again), first);
      assert.notDeepEqual(Array.from({ length: 50 }, b), first);
      for (const x of first) assert.ok(x >= 0 && x < 1);
      assert.equal(moleSchedule("seed-a", 60_000).length, moleSchedule("seed-a", 60_000).length);
      assert.deepEqual(moleSchedule("seed-a", 60_000), moleSchedule("seed-a", 60_000));
      assert.notDeepEqual(moleSchedule("seed-a", 60_000), moleSchedule("seed-b", 60_000));
    });

    it("seedHashOf is the hex sha256 of the seed", () => {
      assert.equal(seedHashOf("abc"), createHash("sha256").update("abc").digest("hex"));
    });

    it("never puts two moles in one hole at once, keeps every mole inside the round, and mixes the kinds", () => {
      const kinds = { normal: 0, golden: 0, bomb: 0 };
      const upMs = { normal: [] as number[], golden: [] as number[], bomb: [] as number[] };
      for (let s = 0; s < 40; s++) {
        const moles = moleSchedule(`seed-${s}`, 60_000);
        assert.ok(moles.length > 40, `a 60 s round has plenty of moles (${moles.length})`);
        moles.forEach((m, i) => {
          assert.equal(m.moleId, i + 1);
          assert.ok(Number.isInteger(m.hole) && m.hole >= 0 && m.hole < HOLES);
          assert.ok(m.spawnOffsetMs >= 0 && m.despawnOffsetMs <= 60_000 && m.despawnOffsetMs > m.spawnOffsetMs);
          if (i) assert.ok(m.spawnOffsetMs > moles[i - 1].spawnOffsetMs, "spawns in time order");
          kinds[m.kind]++;
          upMs[m.kind].push(m.despawnOffsetMs - m.spawnOffsetMs);
        });
        for (let hole = 0; hole < HOLES; hole++) {
          const inHole = moles.filter((m) => m.hole === hole);
          for (let i = 1; i < inHole.length; i++) assert.ok(inHole[i].spawnOffsetMs >= inHole[i - 1].despawnOffsetMs);
        }
      }
      assert.ok(kinds.golden > 0 && kinds.bomb > 0);
      assert.ok(kinds.golden < kinds.normal && kinds.bomb < kinds.normal, "golden and bombs are rarer");
      const longest = (xs: number[]) => Math.max(...xs);
      const shortest = (xs: number[]) => Math.min(...xs);
      assert.ok(longest(upMs.golden) < shortest(upMs.normal), "golden moles are up for less time");
    });

    it("a short round still ends with every mole down", () => {
      const moles = moleSchedule("short", 2_000);
      assert.ok(moles.length > 0);
      for (const m of moles) assert.ok(m.despawnOffsetMs <= 2_000);
    });
  });

  describe("judge", () => {
    const mole = (over: Partial<JudgedMole> = {}): JudgedMole => ({
      moleId: 7,
      hole: 3,
      kind: "normal",
      spawnAt: 10_000,
      despawnAt: 11_000,
      ...over,
    });

    it("scores a hit on the mole while it is up, by kind", () => {
      assert.deepEqual(judge(mole(), 3, 10_500), { outcome: "hit", points: 1, tooFast: false });
      assert.deepEqual(judge(mole({ kind: "golden" }), 3, 10_500), { outcome: "hit", points: 3, tooFast: false });
      assert.deepEqual(judge(mole({ kind: "bomb" }), 3, 10_500), { outcome: "hit", points: -2, tooFast: false });
      assert.deepEqual(POINTS, { normal: 1, golden: 3, bomb: -2 });
    });

    it("counts the edges of the window (spawnAt and despawnAt) and misses outside it", () => {
      assert.equal(judge(mole(), 3, 11_000).outcome, "hit");
      assert.equal(judge(mole(), 3, 10_000).outcome, "hit");
      assert.equal(judge(mole(), 3, 11_001).outcome, "MISS");
      assert.equal(judge(mole(), 3, 9_999).outcome, "MISS");
    });

    it("refuses unknown moles, wrong holes and moles already hit", () => {
      assert.equal(judge(undefined, 3, 10_500).outcome, "UNKNOWN_MOLE");
      assert.equal(judge(mole(), 4, 10_500).outcome, "WRONG_HOLE");
      assert.equal(judge(mole({ hitBy: "u1" }), 3, 10_500).outcome, "ALREADY_HIT");
      assert.equal(judge(mole({ hitBy: "u1" }), 3, 12_000).outcome, "ALREADY_HIT");
    });

    it("flags a hit faster than the reaction floor (but it counts)", () => {
      const fast = judge(mole(), 3, 10_000 + REACTION_FLOOR_MS - 1);
      assert.deepEqual(fast, { outcome: "hit", points: 1, tooFast: true });
      assert.deepEqual(judge(mole(), 3, 10_000 + REACTION_FLOOR_MS), { outcome: "hit", points: 1, tooFast: false });
    });

    it("judges at the receive time less the latency, capped at 250 ms", () => {
      assert.equal(judgedAt(11_100, 120), 10_980);
      assert.equal(judgedAt(11_100, 5_000), 11_100 - MAX_LATENCY_MS);
      assert.equal(judgedAt(11_100, -50), 11_100);
      // a whack that arrives after despawn but was sent while the mole was up ("or just was up")
      assert.equal(judge(mole(), 3, judgedAt(11_200, 250)).outcome, "hit");
      assert.equal(judge(mole(), 3, judgedAt(11_300, 250)).outcome, "MISS");
    });
  });

  describe("rate window", () => {
    it("allows 20 whacks in any 1 s window and refuses the 21st", () => {
      const w = new WhackRateWindow();
      for (let i = 0; i < 20; i++) assert.equal(w.take(1_000 + i * 10), true);
      assert.equal(w.take(1_200), false);
      // once the window slides past the first whacks, whacks are allowed again
      assert.equal(w.take(2_011), true);
    });

    it("refused whacks count: a steady flood stays refused", () => {
      const w = new WhackRateWindow();
      let refused = 0;
      for (let i = 0; i < 200; i++) if (!w.take(i * 20)) refused++; // 50/s for 4 s
      assert.ok(refused > 150);
      const paced = new WhackRateWindow();
      for (let i = 0; i < 100; i++) assert.equal(paced.take(i * 51), true); // under 20/s
    });
  });

  describe("latency estimator", () => {
    it("takes the round trip from the echo of the latest pong and halves the median", () => {
      const l = new LatencyEstimator();
      assert.equal(l.oneWayMs(), 0);
      for (const rtt of [100, 120, 80, 500, 110]) {
        l.sent(1_000);
        assert.equal(l.received(1_000, 1_000 + rtt), true);
      }
      assert.equal(l.oneWayMs(), 55); // median 110
    });

    it("ignores made-up, reused, stale and too slow echoes", () => {
      const l = new LatencyEstimator();
      assert.equal(l.received(5, 100), false, "nothing sent yet");
      l.sent(1_000);
      assert.equal(l.received(999, 1_100), false, "not the pong's time");
      assert.equal(l.received(1_000, 1_100), false, "a wrong t spends the pong");
      l.sent(2_000);
      assert.equal(l.received(2_000, 2_040), true);
      assert.equal(l.received(2_000, 2_040), false, "once only");
      l.sent(3_000);
      assert.equal(l.received(3_000, 4_500), false, "more than a second is not an echo");
      assert.equal(l.oneWayMs(), 20);
    });

    it("caps the one-way estimate at 250 ms", () => {
      const l = new LatencyEstimator();
      for (let i = 0; i < 5; i++) {
        l.sent(i * 10_000);
        l.received(i * 10_000, i * 10_000 + 900);
      }
      assert.equal(l.oneWayMs(), MAX_LATENCY_MS);
    });
  });
});
