import { randomInt, randomUUID } from "node:crypto";
import { type Client, defineRoom, Room } from "@colyseus/core";
import { serveBare } from "./boot";

/**
 * Baseline for the fan-out bench: the client protocol of the `stream` room
 * (join with {streamId} → `history`; `chat {text}` → `chatMessage {id, userId,
 * displayName, text, createdAt}` to everyone) done by Colyseus alone: no auth,
 * no state, no validation, no rate limit, no Redis, no persistence. The payload
 * has the same fields and about the same size as ours, so what is left is the
 * floor cost of a Colyseus broadcast on this machine.
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
    client.userData = { userId: randomUUID(), displayName: `Guest ${randomInt(1000, 10000)}` };
    client.send("history", { messages: [] });
  }
}

serveBare({ bare_stream: defineRoom(BareBroadcastRoom).filterBy(["streamId"]) });
