/** What the load generator's main process and its workers say to each other over IPC, and helpers both use. */

export interface WorkerRequest {
  id: number;
  /** "init" and "close" are the generator's own; every other phase is the bench's. */
  phase: string;
  worker: number;
  arg: unknown;
}

export interface PhaseReply {
  id: number;
  value?: unknown;
  error?: string;
  /** The worker's CPU during the phase (process.cpuUsage, user + system), ms. */
  cpuMs: number;
  loopDelayP99Ms: number;
}

/** Milliseconds on a clock every process on this machine shares (unlike performance.now() alone). */
export const sharedNow = () => performance.timeOrigin + performance.now();

/** Worker `worker`'s slice of `total` clients: global indices [start, start + count). */
export function share(total: number, procs: number, worker: number) {
  const start = Math.floor((total * worker) / procs);
  return { start, count: Math.floor((total * (worker + 1)) / procs) - start };
}
