import { Counter } from "prom-client";
import type { DataSource } from "typeorm";
import { Match, MatchMessage, User } from "../entities";
import { registry } from "../metrics";
import { forbidden, notFound } from "./errors";
import type { DomainEvents } from "./events";
import { toPublicView, type UserPublicView } from "./user-views";

export interface MatchView {
  id: string;
  callId: string;
  /** The other user: revealed here, never in the queue or the call. */
  partner: UserPublicView;
  createdAt: string;
}

export interface MatchMessageView {
  id: string;
  matchId: string;
  fromUserId: string;
  text: string;
  createdAt: string;
}

const messagesPosted = new Counter({
  name: "match_messages_total",
  help: "Messages posted in match chats",
  registers: [registry],
});

/**
 * Mutual matches and their chat. A message is persisted, then published as a
 * `match.message` event, which the match's `match_chat` room (on whatever
 * process) pushes to both users: one path whether it came through HTTP or the room.
 */
export class MatchService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly events: DomainEvents,
    private readonly isBlockedEitherWay: (a: string, b: string) => Promise<boolean>,
  ) {}

  /** The user's matches, newest first, with the partner's public profile. */
  async list(userId: string, options: { before?: string; limit: number }) {
    const rows = await this.dataSource
      .getRepository(Match)
      .createQueryBuilder("m")
      .where("(m.userA = :userId OR m.userB = :userId)", { userId })
      .andWhere(options.before ? "m.createdAt < :before" : "TRUE", { before: options.before })
      .orderBy("m.createdAt", "DESC")
      .addOrderBy("m.id", "DESC")
      .limit(options.limit + 1)
      .getMany();
    const page = rows.slice(0, options.limit);
    const partnerIds = page.map((m) => (m.userA === userId ? m.userB : m.userA));
    const partners = partnerIds.length
      ? await this.dataSource.getRepository(User).findBy(partnerIds.map((id) => ({ id })))
      : [];
    const byId = new Map(partners.map((u) => [u.id, u]));
    const matches: MatchView[] = page.flatMap((m, i) => {
      const partner = byId.get(partnerIds[i]);
      return partner
        ? [{ id: m.id, callId: m.callId, partner: toPublicView(partner), createdAt: m.createdAt.toISOString() }]
        : [];
    });
    const nextCursor = rows.length > options.limit ? page[page.length - 1].createdAt.toISOString() : null;
    return { matches, nextCursor };
  }

  /** The match, if `userId` is one of its two users (404 / 403 otherwise). */
  async forParticipant(matchId: string, userId: string): Promise<Match> {
    const match = await this.dataSource.getRepository(Match).findOne({ where: { id: matchId } });
    if (!match) throw notFound("No such match", "MATCH_NOT_FOUND");
    if (match.userA !== userId && match.userB !== userId) {
      throw forbidden("Only the match's two users may do this", "NOT_PARTICIPANT");
    }
    return match;
  }

  /** Persists and publishes a message; refused once either user blocked the other. */
  async post(matchId: string, fromUserId: string, text: string): Promise<MatchMessageView> {
    const match = await this.forParticipant(matchId, fromUserId);
    if (await this.isBlockedEitherWay(match.userA, match.userB)) {
      throw forbidden("This conversation is closed", "BLOCKED");
    }
    const repo = this.dataSource.getRepository(MatchMessage);
    const view = toMessageView(await repo.save(repo.create({ matchId, fromUserId, text })));
    messagesPosted.inc();
    await this.events.publish("match.message", matchId, view);
    return view;
  }

  /** Newest first; `before` is the id of the oldest message already seen. */
  async messages(matchId: string, userId: string, options: { before?: string; limit: number }) {
    await this.forParticipant(matchId, userId);
    const rows: MatchMessage[] = await this.dataSource
      .getRepository(MatchMessage)
      .createQueryBuilder("msg")
      .where("msg.matchId = :matchId", { matchId })
      .andWhere(options.before ? "msg.id < :before" : "TRUE", { before: options.before })
      .orderBy("msg.id", "DESC")
      .limit(options.limit + 1)
      .getMany();
    const messages = rows.slice(0, options.limit).map(toMessageView);
    const nextCursor = rows.length > options.limit ? messages[messages.length - 1].id : null;
    return { messages, nextCursor };
  }
}

function toMessageView(m: MatchMessage): MatchMessageView {
  return {
    id: String(m.id),
    matchId: m.matchId,
    fromUserId: m.fromUserId,
    text: m.text,
    createdAt: m.createdAt.toISOString(),
  };
}
