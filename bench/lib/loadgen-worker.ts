import { monitorEventLoopDelay } from "node:perf_hooks";
import type { PhaseReply, WorkerRequest } from "./loadgen-protocol";

/**
 * The worker side of bench/lib/loadgen.ts: a bench's worker module calls
 * `serveWorker` with one handler per phase. Handlers keep their clients in the
 * module's own variables between phases; what a handler returns goes back to
 * the main process (structured clone: Float64Arrays, Maps, plain objects).
 */

export { sharedNow, share } from "./loadgen-protocol";

export interface WorkerContext<Setup = any> {
  /** This worker's index, 0 … procs − 1. */
  index: number;
  procs: number;
  /** What the bench passed to startLoadgen. */
  setup: Setup;
}

export type Handler<Setup = any> = (arg: any, ctx: WorkerContext<Setup>) => unknown;

export function serveWorker<Setup = any>(handlers: Record<string, Handler<Setup>>) {
  const ctx: WorkerContext<Setup> = { index: 0, procs: 1, setup: undefined as Setup };
  process.on("message", async (req: WorkerRequest) => {
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const cpu0 = process.cpuUsage();
    const reply: PhaseReply = { id: req.id, cpuMs: 0, loopDelayP99Ms: 0 };
    try {
      if (req.phase === "init") {
        const { procs, setup } = req.arg as { procs: number; setup: Setup };
        Object.assign(ctx, { index: req.worker, procs, setup });
      }
      const handler = handlers[req.phase];
      if (handler) reply.value = await handler(req.arg, ctx);
      else if (req.phase !== "init" && req.phase !== "close") throw new Error(`no handler for phase ${req.phase}`);
    } catch (err) {
      reply.error = (err as Error)?.stack ?? String(err);
    }
    loop.disable();
    const cpu = process.cpuUsage(cpu0);
    reply.cpuMs = (cpu.user + cpu.system) / 1000;
    reply.loopDelayP99Ms = +(loop.percentile(99) / 1e6).toFixed(2);
    process.send!(reply);
    if (req.phase === "close") setTimeout(() => process.exit(0), 50);
  });
  // The main process gone: nothing left to serve.
  process.on("disconnect", () => process.exit(0));
}
