import { Counter } from "prom-client";
import type { DataSource, EntityManager } from "typeorm";
import { registry } from "../metrics";
import { AppError, badRequest, conflict } from "./errors";

/** Largest single change: far above any pack, far below bigint and float limits. */
export const MAX_DELTA = 1_000_000_000;

export interface WalletChange {
  userId: string;
  /** Tokens: positive credits, negative debits; never zero. */
  delta: number;
  /** purchase, tip_sent, tip_received, play, queue_fee, refund, adjustment */
  reason: string;
  refType?: string;
  refId?: string;
  /** Unique per change; a retry with the same key returns the first result. */
  idempotencyKey: string;
}

export interface LedgerEntryView {
  id: string;
  userId: string;
  delta: number;
  balanceAfter: number;
  reason: string;
  refType: string | null;
  refId: string | null;
  createdAt: string;
}

export interface ApplyResult {
  entries: LedgerEntryView[];
  /** True when every key had been applied before: nothing changed now. */
  replayed: boolean;
}

const insufficientFunds = new Counter({
  name: "wallet_insufficient_funds_total",
  help: "Wallet changes refused for lack of funds",
  labelNames: ["reason"] as const,
  registers: [registry],
});

/** Runs in the transaction of a wallet change that was new (not a replay). */
export type AppliedHook = (m: EntityManager, result: ApplyResult) => Promise<void>;

/**
 * The one owner of balances (Nakama's core_wallet model). Every change runs in
 * one transaction: the wallet rows are locked FOR UPDATE in user-id order (so
 * two transfers in opposite directions cannot deadlock), or, for one change on
 * its own, one statement does it all (`applyOne`); retried keys return their
 * first result, a balance never goes below zero (402), and each change writes
 * one append-only ledger entry with the balance after it.
 */
export class WalletService {
  constructor(private readonly dataSource: DataSource) {}

  /** Through `m` inside a caller's transaction. */
  async balance(userId: string, m: EntityManager = this.dataSource.manager): Promise<number> {
    const rows = await m.query(`SELECT balance FROM wallets WHERE user_id = $1`, [userId]);
    return rows.length ? Number(rows[0].balance) : 0;
  }

  /**
   * Applies changes atomically, in the caller's transaction when `m` is given. `onApplied` runs
   * in the same transaction when the changes were new (not a replay): e.g. their domain event.
   */
  async apply(changes: WalletChange[], m?: EntityManager, onApplied?: AppliedHook): Promise<ApplyResult> {
    validate(changes);
    if (!m && !onApplied && changes.length === 1) {
      const result = await this.applyOne(changes[0]);
      if (result) return result;
    }
    if (m) {
      const result = await this.applyLocked(m, changes, "create");
      if (onApplied && !result.replayed) await onApplied(m, result);
      return result;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.dataSource.transaction(async (tx) => {
          const result = await this.applyLocked(tx, changes, "refuse");
          if (onApplied && !result.replayed) await onApplied(tx, result);
          return result;
        });
      } catch (err) {
        if (err instanceof MissingWallets && attempt < 3) {
          // Created in a statement of their own, before any lock is held, then the change runs again:
          // creating them inside the lock sequence would take locks out of user-id order and deadlock.
          await this.dataSource.query(
            `INSERT INTO wallets (user_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING`,
            [err.userIds],
          );
          continue;
        }
        // A deadlock victim rolled back whole, so it can run again.
        if (!isDeadlock(err) || attempt === 3) throw err;
      }
    }
  }

  /** Moves tokens between two users: two entries in one transaction. */
  async transfer(input: {
    from: string;
    to: string;
    amount: number;
    refType: string;
    refId: string;
    idempotencyKey: string;
    reasons?: [string, string];
    onApplied?: AppliedHook;
  }): Promise<ApplyResult> {
    if (input.from === input.to) throw badRequest("SELF_TRANSFER", "Cannot move tokens to the same wallet");
    const [sent, received] = input.reasons ?? ["transfer_sent", "transfer_received"];
    const common = { refType: input.refType, refId: input.refId };
    return this.apply(
      [
        {
          userId: input.from,
          delta: -input.amount,
          reason: sent,
          ...common,
          idempotencyKey: `${input.idempotencyKey}:debit`,
        },
        {
          userId: input.to,
          delta: input.amount,
          reason: received,
          ...common,
          idempotencyKey: `${input.idempotencyKey}:credit`,
        },
      ],
      undefined,
      input.onApplied,
    );
  }

  /** The entries an earlier change wrote under these keys, if it went through (a retry's answer). */
  async earlierResult(keys: string[]): Promise<ApplyResult | undefined> {
    return this.replay(this.dataSource.manager, keys);
  }

  /** Newest first; `cursor` is the last id of the previous page. */
  async history(userId: string, options: { cursor?: string; limit: number }) {
    const rows = await this.dataSource.query(
      `SELECT * FROM ledger_entries WHERE user_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint)
       ORDER BY id DESC LIMIT $3`,
      [userId, options.cursor ?? null, options.limit + 1],
    );
    const entries = rows.slice(0, options.limit).map(toView);
    const nextCursor = rows.length > options.limit ? entries[entries.length - 1].id : null;
    return { entries, nextCursor };
  }

  /**
   * Every broken invariant, as readable lines (empty when all hold): a balance
   * that differs from the sum of its entries, a negative balance, an entry
   * whose balance-after went negative. `db` lets a caller bound it (a transaction with a statement timeout).
   */
  async checkInvariants(db: Pick<EntityManager, "query"> = this.dataSource): Promise<string[]> {
    const rows = await db.query(`
      SELECT coalesce(w.user_id, l.user_id) AS user_id, coalesce(w.balance, 0) AS balance, coalesce(l.total, 0) AS total
      FROM wallets w
      FULL OUTER JOIN (SELECT user_id, sum(delta) AS total FROM ledger_entries GROUP BY user_id) l ON l.user_id = w.user_id
      WHERE coalesce(w.balance, 0) <> coalesce(l.total, 0) OR w.balance < 0`);
    const negatives = await db.query(`SELECT id FROM ledger_entries WHERE balance_after < 0 LIMIT 10`);
    return [
      ...rows.map((r: any) => `wallet ${r.user_id}: balance ${r.balance} but entries sum to ${r.total}`),
      ...negatives.map((r: any) => `ledger entry ${r.id} has a negative balance after it`),
    ];
  }

  /**
   * One change on its own (no caller transaction, no hook): the hot path, e.g. many debits on one
   * wallet. One autocommit statement moves the balance only when it suffices and writes the entry,
   * so the row lock is held for that statement alone instead of across BEGIN, lock, write, COMMIT.
   * A used key makes the INSERT violate the unique index, which rolls the UPDATE back with it;
   * the first result is then read. (ON CONFLICT DO NOTHING would keep the UPDATE: a data-modifying
   * CTE cannot make it depend on the INSERT that needs its result.)
   */
  private async applyOne(c: WalletChange): Promise<ApplyResult | undefined> {
    let rows: any[] = [];
    try {
      rows = await this.dataSource.query(
        `WITH moved AS (
           UPDATE wallets SET balance = balance + $2::bigint, updated_at = now()
           WHERE user_id = $1 AND balance + $2::bigint >= 0
           RETURNING balance
         )
         INSERT INTO ledger_entries (user_id, delta, balance_after, reason, ref_type, ref_id, idempotency_key)
         SELECT $1, $2, balance, $3, $4, $5, $6 FROM moved
         RETURNING *`,
        [c.userId, c.delta, c.reason, c.refType ?? null, c.refId ?? null, c.idempotencyKey],
      );
    } catch (err) {
      if (!isUsedKey(err)) throw err;
    }
    if (rows.length === 1) return { entries: [toView(rows[0])], replayed: false };
    // Nothing moved: a used key, not enough tokens, or a wallet that does not exist yet.
    const replay = await this.replay(this.dataSource.manager, [c.idempotencyKey]);
    if (replay) return replay;
    const found = await this.dataSource.query(`SELECT balance FROM wallets WHERE user_id = $1`, [c.userId]);
    if (found.length && Number(found[0].balance) + c.delta < 0) {
      insufficientFunds.inc({ reason: c.reason });
      throw new AppError(402, "INSUFFICIENT_FUNDS", "Not enough tokens", {
        balance: Number(found[0].balance),
        needed: -c.delta,
      });
    }
    // A missing wallet, or tokens that arrived since: the locked path decides.
    return undefined;
  }

  /**
   * Happy path, four round trips: BEGIN, lock, one statement writing the
   * entries and balances, COMMIT. The unique idempotency key is the guard
   * against replays (ON CONFLICT DO NOTHING); earlier results are looked up
   * only when something did not go through.
   */
  private async applyLocked(m: EntityManager, changes: WalletChange[], missing: MissingPolicy): Promise<ApplyResult> {
    const userIds = [...new Set(changes.map((c) => c.userId))].sort();
    const balances = await this.lockWallets(m, userIds, missing);
    const keys = changes.map((c) => c.idempotencyKey);

    const after: number[] = [];
    for (const c of changes) {
      const next = balances.get(c.userId)! + c.delta;
      if (next < 0) {
        // A retry of an operation that went through before funds ran out replays, not 402.
        const replay = await this.replay(m, keys);
        if (replay) return replay;
        insufficientFunds.inc({ reason: c.reason });
        throw new AppError(402, "INSUFFICIENT_FUNDS", "Not enough tokens", {
          balance: balances.get(c.userId),
          needed: -c.delta,
        });
      }
      balances.set(c.userId, next);
      after.push(next);
    }

    // Balances move only if every entry was inserted (none of the keys used before).
    const rows = await m.query(
      `WITH entries AS (
         INSERT INTO ledger_entries (user_id, delta, balance_after, reason, ref_type, ref_id, idempotency_key)
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::varchar[], $5::varchar[], $6::varchar[], $7::varchar[])
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING *
       ), balances AS (
         UPDATE wallets w SET balance = v.balance, updated_at = now()
         FROM unnest($8::uuid[], $9::bigint[]) AS v(user_id, balance)
         WHERE w.user_id = v.user_id AND (SELECT count(*) FROM entries) = $10
       )
       SELECT * FROM entries ORDER BY id`,
      [
        changes.map((c) => c.userId),
        changes.map((c) => c.delta),
        after,
        changes.map((c) => c.reason),
        changes.map((c) => c.refType ?? null),
        changes.map((c) => c.refId ?? null),
        keys,
        userIds,
        userIds.map((id) => balances.get(id)!),
        changes.length,
      ],
    );
    if (rows.length === changes.length) return { entries: rows.map(toView), replayed: false };
    if (rows.length === 0) {
      const replay = await this.replay(m, keys);
      if (replay) return replay;
    }
    // Some keys were new and some not: refuse (the transaction rolls the new entries back).
    throw conflict("IDEMPOTENCY_CONFLICT", "Some of these idempotency keys were used by another operation");
  }

  /** The entries an earlier run of these keys wrote, if it wrote all of them. */
  private async replay(m: EntityManager, keys: string[]): Promise<ApplyResult | undefined> {
    const rows = await m.query(`SELECT * FROM ledger_entries WHERE idempotency_key = ANY($1::varchar[])`, [keys]);
    if (rows.length !== keys.length) {
      if (rows.length > 0)
        throw conflict("IDEMPOTENCY_CONFLICT", "Some of these idempotency keys were used by another operation");
      return undefined;
    }
    const byKey = new Map<string, LedgerEntryView>(rows.map((r: any) => [r.idempotency_key, toView(r)]));
    return { entries: keys.map((k) => byKey.get(k)!), replayed: true };
  }

  /**
   * SELECT … FOR UPDATE in id order. Missing wallets are refused (the caller
   * creates them outside the transaction and runs again) or, inside a
   * caller's transaction, created here.
   */
  private async lockWallets(m: EntityManager, userIds: string[], missing: MissingPolicy): Promise<Map<string, number>> {
    const select = () =>
      m.query(`SELECT user_id, balance FROM wallets WHERE user_id = ANY($1::uuid[]) ORDER BY user_id FOR UPDATE`, [
        userIds,
      ]);
    let rows: Array<{ user_id: string; balance: string | number }> = await select();
    if (rows.length < userIds.length) {
      if (missing === "refuse") {
        const found = new Set(rows.map((r) => r.user_id));
        throw new MissingWallets(userIds.filter((id) => !found.has(id)));
      }
      await m.query(`INSERT INTO wallets (user_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING`, [userIds]);
      rows = await select();
    }
    return new Map(rows.map((r) => [r.user_id, Number(r.balance)]));
  }
}

/** What lockWallets does when a wallet does not exist yet. */
type MissingPolicy = "create" | "refuse";

/** Wallets a change needs that do not exist yet (created by `apply` before it runs again). */
class MissingWallets extends Error {
  constructor(readonly userIds: string[]) {
    super("wallets missing");
  }
}

/** A unique violation on the ledger's idempotency key: the change was applied before (or is racing). */
function isUsedKey(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e.driverError?.code ?? e.code;
  const constraint = e.driverError?.constraint ?? e.constraint;
  return code === "23505" && constraint === "ledger_entries_idempotency_key";
}

function isDeadlock(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  return (e.driverError?.code ?? e.code) === "40P01";
}

function validate(changes: WalletChange[]) {
  if (changes.length === 0) throw badRequest("EMPTY_CHANGE", "Nothing to apply");
  for (const c of changes) {
    if (!Number.isSafeInteger(c.delta) || c.delta === 0 || Math.abs(c.delta) > MAX_DELTA) {
      throw badRequest("INVALID_AMOUNT", `Amounts are whole numbers from 1 to ${MAX_DELTA}`).withParams({
        max: MAX_DELTA,
      });
    }
    if (!c.idempotencyKey) throw badRequest("IDEMPOTENCY_KEY_REQUIRED", "Every wallet change needs an idempotency key");
  }
}

function toView(r: any): LedgerEntryView {
  return {
    id: String(r.id),
    userId: r.user_id,
    delta: Number(r.delta),
    balanceAfter: Number(r.balance_after),
    reason: r.reason,
    refType: r.ref_type,
    refId: r.ref_id,
    createdAt: new Date(r.created_at).toISOString(),
  };
}
