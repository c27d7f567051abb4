import { Client } from "@colyseus/sdk";

/**
 * The real SDK client, with one difference: every room it opens has a no-op
 * catch-all handler. Rooms push messages a given test does not care about
 * (`session`, `history`, `userJoined`, …), and the SDK warns on the console for
 * each one that has no handler. Handlers a test registers still get their
 * messages: the SDK calls "*" only for types nobody listens to.
 */
export class TestClient extends Client {
  protected createRoom<T>(roomName: string, rootSchema?: any) {
    const room = super.createRoom<T>(roomName, rootSchema);
    room.onMessage("*", () => {});
    return room;
  }
}
