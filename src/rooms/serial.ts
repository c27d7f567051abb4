import { logger } from "@colyseus/core";

/**
 * Runs a room's tasks one after another (messages, timers, remote calls), so
 * the actor's state never sees two changes interleave across an `await`.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly label: string) {}

  /** Runs `task` after every earlier one; its error reaches the caller without breaking the chain. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch((err) => logger.error({ err, room: this.label }, "room task failed"));
    return result;
  }

  /** Fire and forget (timers, events): a failure is logged by `run`, never left unhandled. */
  post(task: () => Promise<unknown>): void {
    this.run(task).catch(() => {});
  }
}
