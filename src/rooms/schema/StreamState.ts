import { Schema, type } from "@colyseus/schema";

/** What every viewer sees of the stream. */
export class StreamState extends Schema {
  @type("string") streamId = "";
  @type("string") title = "";
  @type("string") status = "live";
  @type("number") viewerCount = 0;
}
