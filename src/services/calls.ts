import { Counter } from "prom-client";
import { type DataSource, type EntityManager, Not } from "typeorm";
import { Call, type CallChoice, type CallEndReason, Match } from "../entities";
import { registry } from "../metrics";
import { AppError, conflict, forbidden, notFound } from "./errors";
import { QUEUE_FEE, type Bucket } from "./matchmaking";
import { type RoomAnswer, type RoomGateway, unwrapAnswer } from "./room-gateway";
import { type AgoraCallCredentials, AgoraTokens } from "./agora";
import type { DomainLog } from "./domain-log";
import type { ProcessLeases } from "./process-leases";
import type { WalletService } from "./wallet";

export interface CallTimings {
  durationSec: number;
  choiceTimeoutSec: number;
  joinTimeoutSec: number;
  reconnectSec: number;
}

/** Told when a call goes live (the AI moderation provider); must not throw or block. */
export interface CallStartListener {
  announceCallStart(call: { callId: string; userIds: string[]; startedAt: Date; channel?: string }): void;
}

export interface ChoiceOutcome {
  callId: string;
  /** The caller's standing choice: the first one sent. */
  choice: CallChoice;
  result: "pending" | "mutual" | "non_mutual";
  matchId?: string;
}

export const VIDEO_CALL_ROOM = "video_call";

const callsStarted = new Counter({
  name: "calls_started_total",
  help: "Video calls that went live (both peers in, fees charged)",
  registers: [registry],
});
const callsEnded = new Counter({
  name: "calls_ended_total",
  help: "Video calls ended, by reason",
  labelNames: ["reason"] as const,
  registers: [registry],
});
const matchesMade = new Counter({
  name: "matches_total",
  help: "Double opt-in outcomes after a call",
  labelNames: ["result"] as const,
  registers: [registry],
});

/**
 * 1:1 video calls. Each call's live part is a `video_call` room that owns its
 * timers and calls the actor-side methods here; the HTTP choice door reaches
 * the same room method through the gateway. The fee is charged only when the
 * call starts, so a call that never starts costs nothing.
 */
export class CallService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly wallet: WalletService,
    private readonly rooms: RoomGateway,
    private readonly startListener: CallStartListener,
    readonly timings: CallTimings,
    private readonly leases: ProcessLeases,
    private readonly domainLog?: DomainLog,
    /** Set when Agora is configured: peers also get Agora tokens, and the channel is announced. */
    private readonly agora?: AgoraTokens,
  ) {}

  /** The peer's Agora credentials for `session:start`, or undefined when Agora is not configured. */
  agoraCredentials(call: Call, userId: string): AgoraCallCredentials | undefined {
    return this.agora?.forCall(call.id, userId, userId === call.userA ? "a" : "b");
  }

  // ---- HTTP door -------------------------------------------------------

  /** POST /api/sessions/:callId/choice: the same room method as the `choice` message. */
  async chooseByHttp(callId: string, userId: string, choice: CallChoice): Promise<ChoiceOutcome> {
    const call = await this.participantCall(callId, userId);
    if (call.phase === "ended") {
      const standing = seatChoice(call, userId);
      if (standing) return { callId, choice: standing, ...outcomeOf(call, await this.matchIdOf(callId)) };
      throw conflict("CHOICE_CLOSED", "The choice for this call is closed");
    }
    if (call.phase !== "choosing" || !call.roomId) throw conflict("CHOICE_NOT_OPEN", "Choose after the call ends");
    return unwrapAnswer(await this.rooms.call<RoomAnswer<ChoiceOutcome>>(call.roomId, "choose", [userId, choice]));
  }

  // ---- actor side: called by the video_call room ------------------------

  async load(callId: string): Promise<Call | null> {
    return this.dataSource.getRepository(Call).findOne({ where: { id: callId } });
  }

  /**
   * Records a new call between two paired users (seat 0 = `userA`, who waited
   * longer), hosted by `roomId` on this process: one INSERT, made by the call's
   * room as it is created.
   */
  async open(input: { callId: string; userA: string; userB: string; bucket: Bucket; roomId: string }): Promise<Call> {
    const { callId, userA, userB, bucket, roomId } = input;
    const [row] = await this.dataSource.query(
      `INSERT INTO calls (id, user_a, user_b, region, language, room_id, process_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [callId, userA, userB, bucket.region, bucket.language, roomId, this.leases.processId],
    );
    return this.dataSource.getRepository(Call).create(fromColumns(row));
  }

  /**
   * Both peers are in: go live and charge both fees atomically (one key per call
   * and user). A call a sweep has ended meanwhile (its process was thought dead)
   * charges nothing.
   */
  async start(call: Call, at: Date): Promise<{ ok: true } | { ok: false; reason: "insufficient_funds" | "crashed" }> {
    let swept = false;
    try {
      await this.dataSource.transaction(async (m) => {
        const { affected } = await m.update(
          Call,
          { id: call.id, phase: "connecting" },
          { phase: "live", startedAt: at },
        );
        if (!affected) return void (swept = true);
        await this.wallet.apply(
          [call.userA, call.userB].map((userId) => ({
            userId,
            delta: -QUEUE_FEE,
            reason: "queue_fee",
            refType: "call",
            refId: call.id,
            idempotencyKey: `call:${call.id}:fee:${userId}`,
          })),
          m,
        );
        await this.domainLog?.record(
          m,
          "call_started",
          { callId: call.id, userA: call.userA, userB: call.userB, region: call.region, language: call.language },
          { occurredAt: at },
        );
      });
    } catch (err) {
      if (err instanceof AppError && err.status === 402) return { ok: false, reason: "insufficient_funds" };
      throw err;
    }
    if (swept) return { ok: false, reason: "crashed" };
    callsStarted.inc();
    this.startListener.announceCallStart({
      callId: call.id,
      userIds: [call.userA, call.userB],
      startedAt: at,
      ...(this.agora && { channel: AgoraTokens.channelFor(call.id) }),
    });
    return { ok: true };
  }

  /** The talk is over (timer or `end`): the choice opens. */
  async finishTalk(callId: string, reason: "completed" | "hung_up", at: Date): Promise<void> {
    const { affected } = await this.dataSource
      .getRepository(Call)
      .update({ id: callId, phase: "live" }, { phase: "choosing", endReason: reason, talkEndedAt: at });
    if (affected) callsEnded.inc({ reason });
  }

  /** Records a choice unless one stands already (one UPDATE); answers the standing choice and whether both chose. */
  async recordChoice(call: Call, userId: string, choice: CallChoice): Promise<{ standing: CallChoice; both: boolean }> {
    const column = seatColumn(call, userId);
    // (TypeORM answers an UPDATE as [rows, affected].)
    const [[row]] = await this.dataSource.query(
      `UPDATE calls SET ${column} = coalesce(${column}, $2) WHERE id = $1 RETURNING choice_a, choice_b`,
      [call.id, choice],
    );
    if (!row) throw notFound("No such call", "CALL_NOT_FOUND");
    return { standing: row[column], both: Boolean(row.choice_a && row.choice_b) };
  }

  /** Closes the choice: both MATCH make a Match (once); anything else, silence included, does not. */
  async resolve(callId: string): Promise<{ mutual: boolean; matchId?: string }> {
    const outcome = await this.dataSource.transaction(async (m) => {
      const call = await m.findOne(Call, { where: { id: callId }, lock: { mode: "pessimistic_write" } });
      if (!call) throw notFound("No such call", "CALL_NOT_FOUND");
      const mutual = call.choiceA === "MATCH" && call.choiceB === "MATCH";
      const matchId = mutual ? await this.createMatch(m, call) : undefined;
      if (call.phase !== "ended") await m.update(Call, { id: callId }, { phase: "ended", endedAt: new Date() });
      return { mutual, matchId };
    });
    matchesMade.inc({ result: outcome.mutual ? "mutual" : "non_mutual" });
    return outcome;
  }

  /**
   * Ends a call before or during the talk. A call ended by moderation refunds
   * the fee of the peer who did nothing wrong (`refundUserIds`).
   */
  async end(callId: string, reason: CallEndReason, refundUserIds: string[] = []): Promise<void> {
    const ended = await this.dataSource.transaction(async (m) => {
      const { affected } = await m.update(
        Call,
        { id: callId, phase: Not("ended") },
        { phase: "ended", endReason: reason, endedAt: new Date() },
      );
      if (!affected) return false; // ended already (a sweep): its refunds were decided then
      if (refundUserIds.length) await this.refund(m, callId, refundUserIds);
      return true;
    });
    if (ended) callsEnded.inc({ reason });
  }

  /** Processes hosting calls that are not over yet. */
  async openProcessIds(): Promise<string[]> {
    const rows: Array<{ process_id: string }> = await this.dataSource.query(
      `SELECT DISTINCT process_id FROM calls WHERE phase <> 'ended' AND process_id IS NOT NULL`,
    );
    return rows.map((r) => r.process_id);
  }

  /**
   * Calls whose process died: nothing more can happen in them. A call still
   * connecting or live ends as `crashed` and its charged fees are refunded (the
   * talk time it was paid for did not happen); a call in its choice closes as
   * the choice timer would have (a missing choice is a PASS). Rows from before
   * process ids were recorded are only taken once they are older than any
   * call can last. Safe to run twice or on two processes at once: each ending
   * is a conditional UPDATE and each refund has its idempotency key.
   */
  async sweep(deadProcessIds: string[]): Promise<number> {
    const { joinTimeoutSec, durationSec, choiceTimeoutSec } = this.timings;
    const rows: Array<{ id: string; phase: string }> = await this.dataSource.query(
      `SELECT id, phase FROM calls WHERE phase <> 'ended' AND (process_id = ANY($1::varchar[])
         OR (process_id IS NULL AND created_at < now() - make_interval(secs => $2)))`,
      [deadProcessIds, joinTimeoutSec + durationSec + choiceTimeoutSec + 60],
    );
    for (const { id, phase } of rows) {
      if (phase === "choosing") await this.resolve(id);
      else await this.endCrashed(id);
    }
    return rows.length;
  }

  private async endCrashed(callId: string): Promise<void> {
    const ended = await this.dataSource.transaction(async (m) => {
      const [rows]: [Array<{ user_a: string; user_b: string }>] = await m.query(
        `UPDATE calls SET phase = 'ended', end_reason = 'crashed', ended_at = now()
         WHERE id = $1 AND phase IN ('connecting', 'live') RETURNING user_a, user_b`,
        [callId],
      );
      if (!rows.length) return false;
      await this.refund(m, callId, [rows[0].user_a, rows[0].user_b]);
      return true;
    });
    if (ended) callsEnded.inc({ reason: "crashed" });
  }

  private async refund(m: EntityManager, callId: string, userIds: string[]) {
    // Only fees that were charged are refunded: the refund mirrors the fee entry of that call.
    const charged: Array<{ user_id: string }> = await m.query(
      `SELECT user_id FROM ledger_entries WHERE idempotency_key = ANY($1)`,
      [userIds.map((id) => `call:${callId}:fee:${id}`)],
    );
    if (!charged.length) return;
    await this.wallet.apply(
      charged.map(({ user_id }) => ({
        userId: user_id,
        delta: QUEUE_FEE,
        reason: "refund",
        refType: "call",
        refId: callId,
        idempotencyKey: `call:${callId}:refund:${user_id}`,
      })),
      m,
    );
  }

  private async createMatch(m: EntityManager, call: Call): Promise<string> {
    const inserted: Array<{ id: string }> = await m.query(
      `INSERT INTO matches (call_id, user_a, user_b) VALUES ($1, $2, $3) ON CONFLICT (call_id) DO NOTHING RETURNING id`,
      [call.id, call.userA, call.userB],
    );
    const matchId = inserted[0]?.id ?? (await m.findOneOrFail(Match, { where: { callId: call.id } })).id;
    // Only the resolve that made the match announces it.
    if (inserted.length > 0) {
      await this.domainLog?.record(m, "match_made", {
        matchId,
        callId: call.id,
        userA: call.userA,
        userB: call.userB,
      });
    }
    return matchId;
  }

  private async participantCall(callId: string, userId: string): Promise<Call> {
    const call = await this.load(callId);
    if (!call) throw notFound("No such call", "CALL_NOT_FOUND");
    seatColumn(call, userId); // NOT_PARTICIPANT for anyone else
    return call;
  }

  private async matchIdOf(callId: string): Promise<string | undefined> {
    return (await this.dataSource.getRepository(Match).findOne({ where: { callId } }))?.id;
  }
}

/** A `calls` row as returned by RETURNING *, in entity property names. */
function fromColumns(row: Record<string, unknown>): Partial<Call> {
  return {
    id: row.id as string,
    userA: row.user_a as string,
    userB: row.user_b as string,
    region: row.region as string,
    language: row.language as string,
    roomId: row.room_id as string | null,
    phase: row.phase as Call["phase"],
    createdAt: new Date(row.created_at as string),
  };
}

/** The caller's seat column; throws for anyone else. */
function seatColumn(call: Call, userId: string): "choice_a" | "choice_b" {
  if (call.userA === userId) return "choice_a";
  if (call.userB === userId) return "choice_b";
  throw forbidden("Only the call's two participants may choose", "NOT_PARTICIPANT");
}

export function seatChoice(call: Call, userId: string): CallChoice | null {
  return call.userA === userId ? call.choiceA : call.userB === userId ? call.choiceB : null;
}

/** The outcome a participant sees, given the call row (and its match, if any). */
export function outcomeOf(call: Call, matchId?: string): Pick<ChoiceOutcome, "result" | "matchId"> {
  if (call.phase !== "ended") return { result: "pending" };
  return matchId ? { result: "mutual", matchId } : { result: "non_mutual" };
}
