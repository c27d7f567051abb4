import { serveWorker, share, sharedNow } from "../../bench/lib/loadgen-worker";

/**
 * The load generator's test worker: `spin` burns CPU for `ms`; `samples`
 * returns its slice of `total` as latencies from a shared-clock time stamp;
 * `fail` throws on worker 1.
 */
serveWorker<{ tag: string }>({
  spin: (arg: { ms: number }) => {
    const end = performance.now() + arg.ms;
    let x = 0;
    while (performance.now() < end) x += Math.sqrt(x + 1);
    return x > 0;
  },
  samples: (arg: { total: number; sentAt: number }, ctx) => {
    const { start, count } = share(arg.total, ctx.procs, ctx.index);
    const latencies = new Float64Array(count).fill(sharedNow() - arg.sentAt);
    return { latencies, first: start, counts: { seen: count }, tag: ctx.setup.tag, worker: ctx.index };
  },
  fail: (_arg, ctx) => {
    if (ctx.index === 1) throw new Error("worker one fails");
    return "ok";
  },
});
