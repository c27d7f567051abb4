import { Schema, type } from "@colyseus/schema";
import type { CallPhase } from "../../entities";

/** The call as both peers see it. Times are epoch milliseconds (0 until known). */
export class VideoCallState extends Schema {
  @type("string") phase: CallPhase = "connecting";
  @type("number") startAt = 0;
  @type("number") endAt = 0;
  @type("number") choiceDeadline = 0;
}
