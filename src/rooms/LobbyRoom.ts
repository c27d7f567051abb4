import {
  type AuthContext,
  type Client,
  type IRoomCache,
  LobbyRoom as ColyseusLobbyRoom,
  ServerError,
} from "@colyseus/core";
import { z } from "zod";
import { refuseCreate } from "./creation";
import { sendError, unknownMessage } from "./messages";

/** What a lobby client may filter by: a room name and exact metadata values (scalars). */
const Filter = z.strictObject({
  name: z.string().max(64).optional(),
  metadata: z.record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()])).optional(),
});
const JoinOptions = z.object({ filter: Filter.optional() });

/**
 * The room types the lobby shows. Colyseus lists every public room; play
 * sessions, queues, calls and match chats are private to their users, and
 * their ids and metadata (a match id) must not be published to anyone.
 */
const LISTED_ROOMS = new Set(["stream", "whack"]);

/**
 * Colyseus's LobbyRoom with its input checked: the `filter` message and the
 * join option are validated (an invalid filter gets `error {code:
 * "INVALID_MESSAGE"}` and the previous filter stays), and rooms listed
 * without metadata never match a metadata filter instead of throwing. Only
 * the LISTED_ROOMS types are shown, whatever the filter.
 */
export class LobbyRoom extends ColyseusLobbyRoom {
  /** `filter` is registered in onCreate (replacing Colyseus's unchecked one); anything else is unknown. */
  messages = { "*": unknownMessage } as unknown as ColyseusLobbyRoom["messages"];

  /** Anyone may join, without a token; one lobby, so `create` is refused. */
  static async onAuth(_token: string, _options: unknown, ctx: AuthContext) {
    refuseCreate(ctx, "lobby");
    return true;
  }

  async onCreate(options: unknown) {
    await super.onCreate(options);
    // Replaces the built-in unchecked handler registered by super.onCreate.
    // (`onMessageEvents` is the handler registry Colyseus exposes to its testing tools.)
    (this as unknown as { onMessageEvents: { events: Record<string, unknown[]> } }).onMessageEvents.events.filter = [];
    this.onMessage("filter", (client: Client, payload: unknown) => {
      const options = this.clientOptions[client.sessionId];
      if (!options) return;
      const parsed = Filter.safeParse(payload);
      if (!parsed.success) {
        const problem = parsed.error.issues[0].message;
        return sendError(client, "INVALID_MESSAGE", `filter: ${problem}`, { type: "filter", problem });
      }
      options.filter = parsed.data;
      client.send("rooms", this.filterItemsForClient(options));
    });
  }

  onJoin(client: Client, options: unknown) {
    const parsed = JoinOptions.safeParse(options ?? {});
    if (!parsed.success) throw new ServerError(400, `INVALID_OPTIONS: filter: ${parsed.error.issues[0].message}`);
    super.onJoin(client, parsed.data);
  }

  protected filterItemsForClient(options: { filter?: z.output<typeof Filter> }): IRoomCache[] {
    return this.rooms.filter((room) => this.filterItemForClient(room, options.filter));
  }

  protected filterItemForClient(room: IRoomCache, filter?: z.output<typeof Filter>) {
    if (!LISTED_ROOMS.has(room.name)) return false;
    if (!filter) return true;
    if (filter.name !== room.name) return false;
    const metadata = (room.metadata ?? {}) as Record<string, unknown>;
    return Object.entries(filter.metadata ?? {}).every(([field, value]) => metadata[field] === value);
  }
}
