import { ArraySchema, MapSchema, Schema, type } from "@colyseus/schema";

/** One of the 9 holes: its mole only while that mole is up (moleId 0 = empty). Times are epoch ms. */
export class WhackHole extends Schema {
  @type("number") moleId = 0;
  /** `normal`, `golden`, `bomb`; "" while empty. */
  @type("string") kind = "";
  @type("number") spawnAt = 0;
  @type("number") despawnAt = 0;
}

export class WhackPlayerState extends Schema {
  @type("string") userId = "";
  @type("string") name = "";
  @type("number") score = 0;
  @type("number") hits = 0;
  @type("number") misses = 0;
  @type("boolean") ready = false;
}

/**
 * The round as every player sees it. Only moles already spawned are ever here:
 * the schedule stays on the server (its seed is revealed at `round:end`).
 */
export class WhackState extends Schema {
  @type("string") roundId = "";
  /** `waiting`, `countdown`, `playing`, `ended`. */
  @type("string") phase = "waiting";
  /** sha256(seed), hex: published before play so the revealed seed can be checked. */
  @type("string") seedHash = "";
  /** When play starts (end of the countdown) and ends; 0 until the countdown. */
  @type("number") startsAt = 0;
  @type("number") endsAt = 0;
  @type([WhackHole]) holes = new ArraySchema<WhackHole>(...Array.from({ length: 9 }, () => new WhackHole()));
  /** By user id. */
  @type({ map: WhackPlayerState }) players = new MapSchema<WhackPlayerState>();
}
