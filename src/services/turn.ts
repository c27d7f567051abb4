import { createHmac } from "node:crypto";
import { AppError } from "./errors";

export interface TurnCredentials {
  /** `<unix expiry>:<userId>`: expiry first, as coturn's use-auth-secret expects. */
  username: string;
  /** base64(HMAC-SHA1(TURN_SHARED_SECRET, username)). */
  credential: string;
  ttl: number;
  uris: string[];
}

/**
 * Short-lived TURN credentials (the "TURN REST API" scheme coturn implements
 * with `use-auth-secret`): the TURN server recomputes the HMAC from the shared
 * secret and refuses the name once its expiry has passed. Nothing is stored.
 */
export class TurnService {
  constructor(
    private readonly secret: string | undefined,
    private readonly uris: string[],
    private readonly ttlSec: number,
  ) {}

  credentials(userId: string, now = Date.now()): TurnCredentials {
    if (!this.secret) throw new AppError(503, "TURN_NOT_CONFIGURED", "TURN is not configured on this server");
    const username = `${Math.floor(now / 1000) + this.ttlSec}:${userId}`;
    const credential = createHmac("sha1", this.secret).update(username).digest("base64");
    return { username, credential, ttl: this.ttlSec, uris: this.uris };
  }
}
