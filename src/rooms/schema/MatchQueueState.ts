import { Schema, type } from "@colyseus/schema";

/** What a waiting user sees of the queue bucket. */
export class MatchQueueState extends Schema {
  /** Users waiting in this bucket. */
  @type("number") waiting = 0;
}
