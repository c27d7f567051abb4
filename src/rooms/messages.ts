import { type Client, logger } from "@colyseus/core";
import { z } from "zod";
import { AppError } from "../services/errors";
import { isUnavailable } from "../services/unavailable";

/** A message that carries nothing (`room.send("stop")`); `{}` is accepted too. */
export const NoPayload = z.undefined().or(z.strictObject({}));

/** What an error becomes in an `error {code, message}` reply: the service's refusal, UNAVAILABLE or INTERNAL. */
export function errorReply(err: unknown): { code: string; message: string } {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  if (isUnavailable(err))
    return { code: "UNAVAILABLE", message: "A backing service is unavailable; try again shortly" };
  return { code: "INTERNAL", message: "Something went wrong; try again" };
}

/** Tells the client what was wrong with its message; the connection stays open. */
export function sendError(client: Client, code: string, message: string): void {
  client.send("error", { code, message });
}

/**
 * A message handler that validates the payload first: a bad payload gets
 * `error {code: "INVALID_MESSAGE"}` and the handler never runs. Service
 * errors (AppError) become `error {code, message}`, an outage `UNAVAILABLE`,
 * anything else is logged and answered `INTERNAL`: no message can crash a
 * room or the process.
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
      const reply = errorReply(err);
      if (reply.code === "INTERNAL" || reply.code === "UNAVAILABLE") logger.error({ err, type }, "room message failed");
      sendError(client, reply.code, reply.message);
    }
  };
}

/** The `"*"` handler of every room: an unknown type gets an error reply instead of Colyseus closing the client. */
export const unknownMessage = (client: Client, type: string | number) =>
  sendError(client, "UNKNOWN_MESSAGE", `Unknown message ${String(type).slice(0, 64)}`);
