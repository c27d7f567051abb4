import { randomInt, randomUUID } from "node:crypto";
import { type Client, defineRoom, LobbyRoom, Room } from "@colyseus/core";
import { serveBare } from "./boot";

/**
 * Baseline for the fan-out bench: the client protocol of the `stream` room
 * (join with {streamId} → `history`; `chat {text}` → `chatMessage {id, userId,
 * displayName, text, createdAt}` to everyone) done by Colyseus alone: no auth,
 * no state, no validation, no rate limit, no Redis, no persistence. The payload
 * has the same fields and about the same size as ours, so what is left is the
 * floor cost of a Colyseus broadcast on this machine. Like ours, each join and
 * leave is told to everyone else (`userJoined` / `userLeft` {userId,
 * displayName}), the naive way. `bare_stream_quiet` tells nobody: the floor
 * cost of a join, the `joins` bench's target baseline. `bare_lobby` is
 * Colyseus's own lobby, for the `idle` bench.
 */
class BareBroadcastRoom extends Room {
  private seq = 0;

  messages = {
    chat: (client: Client, payload: { text: string }) => {
      const { userId, displayName } = client.userData as { userId: string; displayName: string };
      this.broadcast("chatMessage", {
        id: String(++this.seq),
        userId,
        displayName,
        text: payload.text,
        createdAt: new Date().toISOString(),
      });
    },
  };

  onJoin(client: Client) {
    const user = { userId: randomUUID(), displayName: `Guest ${randomInt(1000, 10000)}` };
    client.userData = user;
    client.send("history", { messages: [] });
    this.broadcast("userJoined", user, { except: client });
  }

  onLeave(client: Client) {
    this.broadcast("userLeft", client.userData);
  }
}

/** The same room without join and leave announcements. */
class BareQuietRoom extends BareBroadcastRoom {
  onJoin(client: Client) {
    client.userData = { userId: randomUUID(), displayName: `Guest ${randomInt(1000, 10000)}` };
    client.send("history", { messages: [] });
  }

  onLeave() {}
}

serveBare({
  bare_stream: defineRoom(BareBroadcastRoom).filterBy(["streamId"]),
  bare_stream_quiet: defineRoom(BareQuietRoom).filterBy(["streamId"]),
  bare_lobby: defineRoom(LobbyRoom),
});
