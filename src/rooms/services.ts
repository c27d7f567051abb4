import type { Services } from "../services";

/** Room-level settings from the configuration. */
export interface RoomSettings {
  /** A seat must be taken within this; a room nobody joined is disposed after it. */
  seatReservationSec: number;
  /** Rooms one user may have created and not yet joined. */
  createCap: number;
}

/**
 * Rooms are constructed by the matchmaker and authenticate in a static hook,
 * so they cannot take services through a constructor: the server definition
 * hands them over here once, at start.
 */
let services: Services | undefined;
let settings: RoomSettings = { seatReservationSec: 15, createCap: 5 };

export function setRoomServices(s: Services, roomSettings?: RoomSettings): void {
  services = s;
  if (roomSettings) settings = roomSettings;
}

export function roomServices(): Services {
  if (!services) throw new Error("room services not set: createServer() sets them");
  return services;
}

/** The services, or undefined before the server set them (a room built outside the app). */
export function maybeRoomServices(): Services | undefined {
  return services;
}

export function roomSettings(): RoomSettings {
  return settings;
}
