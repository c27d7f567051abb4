import { type Client, logger } from "@colyseus/core";
import { z } from "zod";
import { AppError } from "../services/errors";
import type { MessageParams } from "../services/i18n-messages";
import { isUnavailable } from "../services/unavailable";
import type { RoomAuth } from "./auth";
import { maybeRoomServices } from "./services";

/** A message that carries nothing (`room.send("stop")`); `{}` is accepted too. */
export const NoPayload = z.undefined().or(z.strictObject({}));

export interface ErrorReply {
  code: string;
  /** English, from the code: the fallback when no language has `error.<code>`. */
  message: string;
  params?: MessageParams;
}

/** What an error becomes in an `error {code, message}` reply: the service's refusal, UNAVAILABLE or INTERNAL. */
export function errorReply(err: unknown): ErrorReply {
  if (err instanceof AppError) return { code: err.code, message: err.message, params: err.params };
  if (isUnavailable(err))
    return { code: "UNAVAILABLE", message: "A backing service is unavailable; try again shortly" };
  return { code: "INTERNAL", message: "Something went wrong; try again" };
}

/** The language of a client's error replies and notices: its join option `lang`, its locale, else the default. */
export function clientLanguage(client: Client): string | undefined {
  const wanted = (client.auth as Partial<RoomAuth> | undefined)?.languages ?? [];
  return maybeRoomServices()?.i18n.pick(wanted);
}

/** The message `key` in the client's language (`fallback` when no language has it). */
export function clientText(client: Client, key: string, params?: MessageParams, fallback?: string): string {
  const i18n = maybeRoomServices()?.i18n;
  return i18n ? i18n.text(clientLanguage(client), key, params, fallback) : (fallback ?? key);
}

const MODERATION_NOTICES = {
  warn: "A moderator warned you: please follow the community rules",
  end_call: "Your call was ended by moderation",
  ban: "You are banned from video chat",
} as const;

/** The human text of a `moderation:action {action, reason, message}` notice, in the client's language. */
export function moderationNotice(client: Client, action: keyof typeof MODERATION_NOTICES): string {
  return clientText(client, `notice.moderation.${action}`, undefined, MODERATION_NOTICES[action]);
}

/**
 * Tells the client what was wrong with its message; the connection stays open. The `code` is
 * stable; `message` is `error.<code>` in the client's language, with `message` as the fallback.
 */
export function sendError(client: Client, code: string, message: string, params?: MessageParams): void {
  client.send("error", { code, message: clientText(client, `error.${code}`, params, message) });
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
      const problem = `${issue.path.length ? `${issue.path.join(".")}: ` : ""}${issue.message}`;
      return sendError(client, "INVALID_MESSAGE", `${type}: ${problem}`, { type, problem });
    }
    try {
      await handler(client, parsed.data);
    } catch (err) {
      const reply = errorReply(err);
      if (reply.code === "INTERNAL" || reply.code === "UNAVAILABLE") logger.error({ err, type }, "room message failed");
      sendError(client, reply.code, reply.message, reply.params);
    }
  };
}

/** The `"*"` handler of every room: an unknown type gets an error reply instead of Colyseus closing the client. */
export const unknownMessage = (client: Client, type: string | number) => {
  const shown = String(type).slice(0, 64);
  sendError(client, "UNKNOWN_MESSAGE", `Unknown message ${shown}`, { type: shown });
};
