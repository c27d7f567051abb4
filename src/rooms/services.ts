import type { Services } from "../services";

/**
 * Rooms are constructed by the matchmaker and authenticate in a static hook,
 * so they cannot take services through a constructor: the server definition
 * hands them over here once, at start.
 */
let services: Services | undefined;

export function setRoomServices(s: Services): void {
  services = s;
}

export function roomServices(): Services {
  if (!services) throw new Error("room services not set: createServer() sets them");
  return services;
}
