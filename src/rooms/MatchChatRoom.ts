import { type AuthContext, type Client, Room } from "@colyseus/core";
import { z } from "zod";
import { CleanText } from "../services/text";
import { refuseCreate } from "./creation";
import { authenticateRoomClient, idOption, joinCheck, type RoomAuth } from "./auth";
import { sendError, unknownMessage, validated } from "./messages";
import { MessageRateLimiter } from "./rate-limit";
import { Serial } from "./serial";
import { roomServices } from "./services";

const Message = z.strictObject({ text: CleanText(1, 1000) });

/**
 * The live side of one match's chat (filtered by `matchId`, its two users
 * only). Messages are persisted by the match service whichever door they came
 * through, and reach this room as `match.message` events, on any process.
 */
export class MatchChatRoom extends Room<{ metadata: { matchId: string } }> {
  maxClients = 2;
  private matchId!: string;
  private unsubscribe?: () => void;
  private readonly limit = new MessageRateLimiter(10, 2);
  private readonly posting = new Serial("match_chat");

  messages = {
    message: validated("message", Message, async (client, { text }) => {
      if (!this.limit.take(client.sessionId)) {
        return sendError(client, "RATE_LIMITED", "Too many messages", {
          seconds: this.limit.retryAfterSec(client.sessionId),
        });
      }
      // One at a time, so a sender's messages are stored and pushed in the order sent.
      await this.posting.run(() => roomServices().matches.post(this.matchId, (client.auth as RoomAuth).userId, text));
    }),
    "*": unknownMessage,
  };

  static async onAuth(token: string, options: unknown, ctx: AuthContext): Promise<RoomAuth> {
    refuseCreate(ctx, "match_chat");
    const auth = await authenticateRoomClient(token, options);
    const matchId = idOption(options, "matchId", "INVALID_MATCH");
    await joinCheck(() => roomServices().matches.forParticipant(matchId, auth.userId));
    return auth;
  }

  async onCreate(options: { matchId: string }) {
    this.matchId = options.matchId;
    this.unsubscribe = await roomServices().events.subscribe("match.message", this.matchId, (m) => {
      this.broadcast("message", { id: m.id, fromUserId: m.fromUserId, text: m.text, createdAt: m.createdAt });
    });
  }

  onLeave(client: Client) {
    this.limit.forget(client.sessionId);
  }

  onDispose() {
    this.unsubscribe?.();
  }
}
