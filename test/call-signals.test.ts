import assert from "node:assert/strict";
import { Candidate, Description, isCandidate, isDescription } from "../src/rooms/call-signals";

/** Payloads around the edges of the signaling schemas: shapes, types, lengths, extra keys. */
function payloads(): unknown[] {
  const texts: unknown[] = ["", "a", "x".repeat(64), "x".repeat(65), "x".repeat(256), "x".repeat(257)];
  texts.push("x".repeat(1024), "x".repeat(1025), "x".repeat(32 * 1024), "x".repeat(32 * 1024 + 1));
  const odd: unknown[] = [undefined, null, 0, 1, -1, 1.5, 255, 256, NaN, Infinity, true, [], {}, ["a"], "0"];
  const values = [...texts, ...odd];
  const out: unknown[] = [...values];
  for (const v of values) {
    out.push(
      { candidate: v },
      { candidate: v, extra: 1 },
      { sdp: v },
      { sdp: v, type: "offer" },
      { sdp: v, type: "answer" },
    );
    out.push({ sdp: "v=0", type: v }, { sdp: "v=0", type: "offer", more: v });
    for (const field of ["candidate", "sdpMid", "sdpMLineIndex", "usernameFragment", "other"]) {
      out.push({ candidate: { candidate: "c", [field]: v } });
      out.push({ candidate: { [field]: v } });
    }
  }
  return out;
}

describe("call signaling checks", () => {
  it("the hand-written checks accept exactly what the schemas accept", () => {
    let accepted = 0;
    for (const payload of payloads()) {
      const shown = JSON.stringify(payload)?.slice(0, 80);
      assert.equal(isCandidate(payload), Candidate.safeParse(payload).success, `candidate ${shown}`);
      for (const type of ["offer", "answer"] as const) {
        assert.equal(isDescription(type)(payload), Description(type).safeParse(payload).success, `${type} ${shown}`);
      }
      if (isCandidate(payload)) accepted++;
    }
    assert.ok(accepted > 10, "the edge cases include accepted payloads");
  });
});
