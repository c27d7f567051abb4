import { Client, type Room } from "@colyseus/sdk";
import { accessToken } from "./api";
import { guarded, showError } from "./dom";

/** A Colyseus client for this origin, signed in with the current access token. */
export function colyseus(): Client {
  const client = new Client(location.origin);
  client.auth.token = accessToken() ?? "";
  return client;
}

/**
 * Room `error {code,message}` replies and unexpected closes go to the banner;
 * `game` codes are part of play (a miss) and go to `onGame` instead.
 */
export function reportRoomErrors(room: Room<any, any>, game: Record<string, (message: string) => void> = {}) {
  room.onMessage("error", (e: { code: string; message?: string }) => {
    const message = e.message ?? e.code;
    if (game[e.code]) game[e.code](message);
    else showError({ code: e.code, message });
  });
  room.onError((code, message) => showError({ code: String(code), message: message ?? `Room error ${code}` }));
}

/** Leaves a room if it is still open; never throws. */
export function leave(room: Room<any, any> | undefined) {
  if (room?.connection.isOpen) void guarded(() => room.leave());
}
