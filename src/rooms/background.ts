import { logger } from "@colyseus/core";

/**
 * Lets a side task run without awaiting it: a failure is logged, never left
 * as an unhandled rejection (which would end the process).
 */
export function inBackground(task: Promise<unknown>, what: string): void {
  task.catch((err) => logger.error({ err }, `${what} failed`));
}
