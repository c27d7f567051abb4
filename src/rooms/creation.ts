import { type AuthContext, matchMaker, ServerError } from "@colyseus/core";
import { roomSettings } from "./services";

/** The matchmake method of a client request (`create`, `joinOrCreate`, `join`, `joinById`…), from its URL. */
export function matchmakeMethod(ctx: AuthContext | undefined): string | undefined {
  const url = (ctx?.req as { url?: string } | undefined)?.url;
  return url?.match(/\/matchmake\/([^/]+)\//)?.[1];
}

/**
 * For rooms that are one per key (the lobby, a stream, a match's chat, a
 * queue bucket): `create` would open a second room for the same key and
 * split its clients, so clients must use `joinOrCreate`, which finds the
 * existing room (cluster-wide) or creates the only one.
 */
export function refuseCreate(ctx: AuthContext | undefined, roomName: string): void {
  if (matchmakeMethod(ctx) === "create") {
    throw new ServerError(400, `JOIN_OR_CREATE_ONLY: there is one ${roomName} room per key; use joinOrCreate`);
  }
}

/** The option a room created by a client carries: who created it (set by onAuth, never by the client). */
export const CREATOR = "creatorId";

const key = (userId: string) => `arcadia:rooms-unjoined:${userId}`;

/**
 * Counts the rooms a user created and has not joined, cluster-wide (in
 * presence: Redis in cluster mode). Beyond ROOM_CREATE_CAP a `create` is
 * refused with 429 ROOM_CAP. The count expires with the seat reservation:
 * an unjoined room is disposed by then, and a crashed process cannot leave
 * a user capped for longer.
 */
export async function countCreation(ctx: AuthContext | undefined, options: unknown, userId: string): Promise<void> {
  if (matchmakeMethod(ctx) !== "create") return;
  const { createCap, seatReservationSec } = roomSettings();
  const count = await matchMaker.presence.incr(key(userId));
  if (count > createCap) {
    // Refused before the expiry is pushed back: retrying cannot extend the wait.
    await matchMaker.presence.decr(key(userId));
    throw new ServerError(429, `ROOM_CAP: at most ${createCap} rooms created and not joined; join one first`);
  }
  await matchMaker.presence.expire(key(userId), seatReservationSec + 5);
  // The same object reaches onCreate: the room learns its creator, to uncount itself.
  (options as Record<string, unknown>)[CREATOR] = userId;
}

/** The room was joined or is gone: it no longer counts against its creator. */
export async function uncountCreation(userId: string): Promise<void> {
  const left = await matchMaker.presence.decr(key(userId));
  if (left <= 0) await matchMaker.presence.del(key(userId));
}
