import assert from "node:assert/strict";
import path from "node:path";
import { concatSamples, type Loadgen, sharedNow, startLoadgen, sumCounts } from "../bench/lib/loadgen";

/** bench/lib/loadgen.ts: phases run in every worker, their samples, counters and CPU come back, errors fail the phase. */
describe("bench load generator", function () {
  this.timeout(30_000); // a fail-safe: two tsx workers start in ~1 s on an idle machine
  let gen: Loadgen;

  before(async () => {
    gen = await startLoadgen({
      worker: path.join(__dirname, "helpers/loadgen-worker.ts"),
      procs: 2,
      setup: { tag: "t" },
    });
  });
  after(() => gen?.close());

  it("gathers each worker's samples and counters", async () => {
    const sentAt = sharedNow();
    const { replies } = await gen.run<{
      latencies: Float64Array;
      first: number;
      counts: Record<string, number>;
      tag: string;
      worker: number;
    }>("samples", { total: 7, sentAt });
    assert.deepEqual(
      replies.map((r) => [r.worker, r.first, r.tag]),
      [
        [0, 0, "t"],
        [1, 3, "t"],
      ],
    );
    const all = concatSamples(replies.map((r) => r.latencies));
    assert.ok(all instanceof Float64Array);
    assert.equal(all.length, 7);
    // The shared clock: a stamp taken here is in the past in every worker.
    assert.ok(all.every((x) => x >= 0 && x < 10_000));
    assert.deepEqual(sumCounts(replies.map((r) => r.counts)), { seen: 7 });
  });

  it("reports each worker's CPU, their sum and the server's", async () => {
    const { cpu } = await gen.run("spin", { ms: 300 }, { serverPid: process.pid });
    assert.equal(cpu.generator.workers.length, 2);
    for (const w of cpu.generator.workers) assert.ok(w.ms > 0, `worker CPU ${w.ms} ms`);
    assert.ok(cpu.generator.busiestPctOfCore > 0 && cpu.generator.busiestPctOfCore <= cpu.generator.pctOfCore);
    assert.ok(cpu.server && cpu.server.ms >= 0);
    assert.ok(cpu.machineBusyPct !== null && cpu.machineBusyPct > 0);
  });

  it("fails a phase with the failing worker's error, and goes on serving", async () => {
    await assert.rejects(gen.run("fail"), /worker 1: Error: worker one fails/);
    await assert.rejects(gen.run("nothing"), /no handler for phase nothing/);
    assert.deepEqual((await gen.run("spin", { ms: 1 })).replies, [true, true]);
  });
});
