import { type Client, defineRoom, matchMaker, Room } from "@colyseus/core";
import { serveBare } from "./boot";

/**
 * Baseline for the video-chat bench: the same client protocol as
 * `match_queue` + `video_call` (matched {callId, seat, peer} → session:start →
 * relayed messages), done by Colyseus alone: no auth, no database, no Redis,
 * no validation, no rate limit. What is left is the floor cost of Colyseus
 * matchmaking and WebSocket relaying on this machine.
 */
class BareQueueRoom extends Room {
  private readonly waiting: Client[] = [];

  onJoin(client: Client) {
    this.waiting.push(client);
    while (this.waiting.length >= 2) void this.pair(this.waiting.shift()!, this.waiting.shift()!);
  }

  onLeave(client: Client) {
    const i = this.waiting.indexOf(client);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private async pair(a: Client, b: Client) {
    const room = await matchMaker.createRoom("bare_call", {});
    const seats = await Promise.all([a, b].map(() => matchMaker.reserveSeatFor(room, {})));
    a.send("matched", { callId: room.roomId, seat: seats[0], peer: { displayName: "b" } });
    b.send("matched", { callId: room.roomId, seat: seats[1], peer: { displayName: "a" } });
  }
}

class BareCallRoom extends Room {
  maxClients = 2;
  // The bench takes the seats once everyone is matched; ours gets the same 120 s (CALL_JOIN_TIMEOUT_SEC).
  seatReservationTimeout = 120;

  messages = {
    "*": (client: Client, type: string | number, payload: unknown) => {
      for (const other of this.clients) if (other !== client) other.send(type, payload);
    },
  };

  onJoin() {
    if (this.clients.length === 2) this.broadcast("session:start", { startAt: Date.now() });
  }
}

serveBare({
  bare_queue: defineRoom(BareQueueRoom).filterBy(["region", "language"]),
  bare_call: defineRoom(BareCallRoom),
});
