import { ArraySchema, MapSchema, Schema, type, view } from "@colyseus/schema";

/** One of the board's first ten records. */
export class LeaderboardEntry extends Schema {
  @type("number") rank = 0;
  @type("string") userId = "";
  @type("string") name = "";
  @type("number") score = 0;
}

/** A viewer's own place on the board (only while they have a record in the current period). */
export class Standing extends Schema {
  @type("number") rank = 0;
  @type("number") score = 0;
}

/**
 * What a leaderboard room's clients see. Periods are ISO times, "" on boards
 * that never reset. `me` is keyed by session id and filtered per client
 * (StateView): each client receives its own entry and nobody else's.
 */
export class LeaderboardState extends Schema {
  @type("string") boardId = "";
  @type("string") periodStart = "";
  @type("string") periodEnd = "";
  @type([LeaderboardEntry]) top = new ArraySchema<LeaderboardEntry>();
  @view() @type({ map: Standing }) me = new MapSchema<Standing>();
}
