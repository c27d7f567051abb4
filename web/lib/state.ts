/**
 * The rooms' state classes, shared with the server (they import only
 * @colyseus/schema): the client decodes with exactly the server's schema.
 */
export { LeaderboardEntry, LeaderboardState, Standing } from "../../src/rooms/schema/LeaderboardState";
export { MatchQueueState } from "../../src/rooms/schema/MatchQueueState";
export { StreamState } from "../../src/rooms/schema/StreamState";
export { VideoCallState } from "../../src/rooms/schema/VideoCallState";
export { WhackHole, WhackPlayerState, WhackState } from "../../src/rooms/schema/WhackState";
