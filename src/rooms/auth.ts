import { ErrorCode, ServerError } from "@colyseus/core";
import { z } from "zod";
import type { Role } from "../entities";
import { AppError } from "../services/errors";
import { roomServices } from "./services";

/** What an authenticated room client carries as `client.auth`. */
export interface RoomAuth {
  userId: string;
  role: Role;
  displayName: string;
  /** Languages the client wants, most wanted first: the join option `lang`, then the user's locale. */
  languages: string[];
}

/**
 * The one `static onAuth` of every room that needs a signed-in user: the token
 * the SDK sends (`client.auth.token`) is checked exactly like an HTTP bearer
 * token, including revocation. Failures reject the join with the reason.
 * The join option `lang` (a BCP 47 tag) picks the language of the client's
 * error replies and notices, before the user's profile locale.
 */
export async function authenticateRoomClient(token: string | undefined, options?: unknown): Promise<RoomAuth> {
  if (!token) throw new ServerError(ErrorCode.AUTH_FAILED, "UNAUTHORIZED: sign in first (client.auth.token)");
  return joinCheck(async () => {
    const { userId, role, displayName, locale } = await roomServices().auth.authenticate(token);
    return { userId, role, displayName, languages: wantedLanguages(options, locale) };
  }, ErrorCode.AUTH_FAILED);
}

function wantedLanguages(options: unknown, locale: string | null): string[] {
  const asked = (options as { lang?: unknown } | undefined)?.lang;
  return [typeof asked === "string" ? asked.slice(0, 64) : undefined, locale ?? undefined].filter(
    (tag): tag is string => tag !== undefined,
  );
}

/** Runs a join-time check; a service refusal (AppError) rejects the join with its code and message. */
export async function joinCheck<T>(check: () => Promise<T>, status?: number): Promise<T> {
  try {
    return await check();
  } catch (err) {
    if (err instanceof AppError) throw new ServerError(status ?? err.status, `${err.code}: ${err.message}`);
    throw err;
  }
}

/** For rooms that need a role (moderation tools): authenticate, then check it. */
export async function authenticateRoomClientWithRole(
  token: string | undefined,
  roles: Role[],
  options?: unknown,
): Promise<RoomAuth> {
  const auth = await authenticateRoomClient(token, options);
  if (!roles.includes(auth.role))
    throw new ServerError(ErrorCode.AUTH_FAILED, `FORBIDDEN: requires ${roles.join(" or ")}`);
  return auth;
}

/** The id a room is filtered by (`matchId`, `streamId`), checked before anything else: a join error otherwise. */
export function idOption(options: unknown, key: string, code: string): string {
  const value = (options as Record<string, unknown> | undefined)?.[key];
  const id = z.uuid().safeParse(value);
  if (!id.success) throw new ServerError(400, `${code}: ${key} must be an id`);
  return id.data;
}
