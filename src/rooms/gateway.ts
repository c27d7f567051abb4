import { matchMaker } from "@colyseus/core";
import type { RoomGateway } from "../services/room-gateway";

/** The services' way to create rooms and call them on whatever process hosts them. */
export const matchMakerGateway: RoomGateway = {
  async create(roomName, options) {
    return (await matchMaker.createRoom(roomName, options)).roomId;
  },
  call<T>(roomId: string, method: string, args?: unknown[]) {
    return matchMaker.remoteRoomCall(roomId, method as never, args) as Promise<T>;
  },
};
