import { Counter } from "prom-client";
import type { DataSource } from "typeorm";
import { Stream } from "../entities";
import { registry } from "../metrics";
import type { AuthStateCache } from "./auth-state";
import { AppError, badRequest, conflict, notFound } from "./errors";
import type { DomainLog } from "./domain-log";
import type { DomainEvents } from "./events";
import type { ApplyResult, WalletService } from "./wallet";

const tipsTotal = new Counter({
  name: "wallet_tips_total",
  help: "Tips sent, by target",
  labelNames: ["target"] as const,
  registers: [registry],
});
const tippedTokens = new Counter({
  name: "wallet_tipped_tokens_total",
  help: "Tokens moved by tips",
  registers: [registry],
});

export interface TipInput {
  toUserId?: string;
  streamId?: string;
  amount: number;
  message?: string;
}

/** Tips: tokens from a viewer to a user, or to a live stream's owner. */
export class TipService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly wallet: WalletService,
    private readonly events: DomainEvents,
    private readonly authState: AuthStateCache,
    private readonly domainLog?: DomainLog,
  ) {}

  /**
   * Moves the tokens (402 when short) and announces the tip. `idempotencyKey`
   * (the client's Idempotency-Key, required) makes a retry return the first
   * result, even if the stream has ended or the funds ran out since; the same
   * key for a different amount or recipient is 422 IDEMPOTENCY_KEY_REUSED.
   */
  async tip(fromUserId: string, input: TipInput, idempotencyKey: string) {
    if (!input.toUserId === !input.streamId) throw badRequest("TIP_TARGET", "Give exactly one of toUserId or streamId");
    const key = `tip:${fromUserId}:${idempotencyKey}`;
    const keys = [`${key}:debit`, `${key}:credit`];
    const earlier = await this.wallet.earlierResult(keys);
    if (earlier) return tipResult(input, idempotencyKey, earlier);

    let toUserId = input.toUserId;
    if (input.streamId) {
      const stream = await this.dataSource.getRepository(Stream).findOne({ where: { id: input.streamId } });
      if (!stream) throw notFound("No such stream", "STREAM_NOT_FOUND");
      if (stream.status !== "live") throw conflict("STREAM_NOT_LIVE", "This stream has ended");
      toUserId = stream.ownerId;
    }
    const recipient = await this.authState.get(toUserId!);
    if (!recipient || recipient.deleted) throw notFound("No such user", "USER_NOT_FOUND");
    if (toUserId === fromUserId) throw badRequest("SELF_TIP", "You cannot tip yourself");

    const applied = await this.wallet.transfer({
      from: fromUserId,
      to: toUserId!,
      amount: input.amount,
      refType: input.streamId ? "stream" : "user",
      refId: input.streamId ?? toUserId!,
      idempotencyKey: key,
      reasons: ["tip_sent", "tip_received"],
      onApplied: async (m) => {
        await this.domainLog?.record(
          m,
          "tip_sent",
          { fromUserId, toUserId: toUserId!, amount: input.amount, streamId: input.streamId ?? null },
          { userId: fromUserId },
        );
      },
    });
    // A concurrent request with the same key may have won the race: same checks as a retry.
    if (applied.replayed) return tipResult(input, idempotencyKey, applied);
    tipsTotal.inc({ target: input.streamId ? "stream" : "user" });
    tippedTokens.inc(input.amount);
    const sender = await this.authState.get(fromUserId);
    const event = {
      fromUserId,
      fromDisplayName: sender?.displayName ?? "Someone",
      amount: input.amount,
      message: input.message,
    };
    if (input.streamId) await this.events.publish("stream.tip", input.streamId, { streamId: input.streamId, ...event });
    await this.events.publish("user.tip", toUserId!, { toUserId: toUserId!, streamId: input.streamId, ...event });
    return tipResult(input, idempotencyKey, applied);
  }
}

/**
 * The answer for a tip's ledger entries; for a replay, only if the request is
 * the one that wrote them (amount and target; the message is not stored).
 */
function tipResult(input: TipInput, tipId: string, { entries, replayed }: ApplyResult) {
  const [debit, credit] = entries;
  const target = input.streamId
    ? { refType: "stream", refId: input.streamId }
    : { refType: "user", refId: input.toUserId };
  if (replayed && (debit.delta !== -input.amount || debit.refType !== target.refType || debit.refId !== target.refId)) {
    throw new AppError(422, "IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used for a different tip");
  }
  return { tipId, amount: input.amount, toUserId: credit.userId, balance: debit.balanceAfter, replayed };
}
