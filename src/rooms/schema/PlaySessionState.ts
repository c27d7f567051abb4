import { Schema, type } from "@colyseus/schema";

/** What the player's client sees of its session. Times are epoch milliseconds. */
export class PlaySessionState extends Schema {
  @type("string") sessionId = "";
  @type("string") gameId = "";
  @type("string") status = "live";
  /** When the session expires unless a heartbeat arrives first. */
  @type("number") expiresAt = 0;
  @type("number") lastHeartbeatAt = 0;
  /** Tokens charged so far. */
  @type("number") charged = 0;
}
