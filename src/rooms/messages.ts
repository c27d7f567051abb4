import { type Client, logger } from "@colyseus/core";
import type { z } from "zod";
import { AppError } from "../services/errors";

/** Tells the client what was wrong with its message; the connection stays open. */
export function sendError(client: Client, code: string, message: string): void {
  client.send("error", { code, message });
}

/**
 * A message handler that validates the payload first: a bad payload gets
 * `error {code: "INVALID_MESSAGE"}` and the handler never runs. Service
 * errors (AppError) become `error {code, message}`, anything else is logged
 * and answered `INTERNAL`: no message can crash a room or the process.
 */
export function validated<S extends z.ZodType>(
  type: string,
  schema: S,
  handler: (client: Client, payload: z.output<S>) => unknown,
) {
  return async (client: Client, payload: unknown) => {
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
      return sendError(client, "INVALID_MESSAGE", `${type}: ${where}${issue.message}`);
    }
    try {
      await handler(client, parsed.data);
    } catch (err) {
      if (err instanceof AppError) return sendError(client, err.code, err.message);
      logger.error({ err, type }, "room message failed");
      sendError(client, "INTERNAL", "Something went wrong; try again");
    }
  };
}

/** The `"*"` handler of every room: an unknown type gets an error reply instead of Colyseus closing the client. */
export const unknownMessage = (client: Client, type: string | number) =>
  sendError(client, "UNKNOWN_MESSAGE", `Unknown message ${String(type).slice(0, 64)}`);
