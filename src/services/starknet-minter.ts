import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { DataSource } from "typeorm";
import { starknetMints, starknetMintsPending } from "../metrics";
import { isUniqueViolation } from "./errors";
import {
  boundsFromEstimate,
  type MintAccount,
  mintCalldata,
  normalizeHash,
  signInvoke,
  unsignedInvoke,
} from "./starknet-invoke";
import { type InvokeTxnV3, RPC_ERRORS, StarknetRpcError, type StarknetRpc, type TxStatus } from "./starknet-rpc";

export interface MinterOptions {
  pollMs: number;
  retryBaseMs: number;
  retryMaxMs?: number;
  /** RPC timeout: the worker's lease outlasts a pass's slowest requests. */
  rpcTimeoutMs: number;
  logger?: Pick<Logger, "info" | "warn" | "error">;
}

interface MintRow {
  id: string;
  status: "pending" | "submitted";
  recipient: string;
  token_badge_id: string;
  nonce: string | null;
  tx_hash: string | null;
  signed_tx: InvokeTxnV3 | string | null;
  attempts: number;
}

/** Steps one pass takes at most (each settles, sends or re-prepares one transaction). */
const MAX_STEPS_PER_PASS = 20;
/** Refusals that mean "not taken, and never will be as signed": prepare it anew (fresh fees). */
const REPREPARE = new Set<number>([RPC_ERRORS.INSUFFICIENT_RESOURCES_FOR_VALIDATE]);
/**
 * Refusals worth waiting out: a low balance (the operator tops the account up), and a nonce the
 * node calls invalid, which may be our own transaction's, executed meanwhile: the next pass
 * settles it by its hash first, never by preparing another one straight away.
 */
const WAIT = new Set<number>([RPC_ERRORS.INSUFFICIENT_ACCOUNT_BALANCE, RPC_ERRORS.INVALID_TRANSACTION_NONCE]);

/**
 * The badge-mint worker: one `mint(to, badge_id)` invoke per outbox row, one transaction in flight
 * at a time (the server account's nonces in order; a unique index enforces it), never inside a
 * room or a request. Every process runs the loop; a lease row lets one at a time use the account.
 *
 * A transaction is prepared (nonce, fee estimate, hash, signature) and RECORDED before it is sent.
 * An in-flight row is settled by its recorded hash first: known to the node → tracked to
 * accepted/failed; unknown and the account's nonce not past it → the same signed payload is sent
 * again (same hash: it cannot execute twice); unknown and the nonce past it → it can never execute,
 * so it is prepared anew. So an award is minted at most once, whatever crashes in between.
 */
export class StarknetMinter {
  private readonly holder = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly rpc: StarknetRpc,
    private readonly account: MintAccount,
    private readonly options: MinterOptions,
  ) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.dataSource
      .query(`UPDATE starknet_worker_lease SET holder = NULL WHERE id = 1 AND holder = $1`, [this.holder])
      .catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (!this.started) return;
    this.timer = setTimeout(() => {
      this.running = this.pass()
        .catch((err) => this.options.logger?.error({ err }, "starknet mint pass failed; retried on the next one"))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.options.pollMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  /** One pass: with the lease, settle or send until nothing is due (bounded). */
  async pass(): Promise<void> {
    for (let step = 0; step < MAX_STEPS_PER_PASS; step++) {
      if (!(await this.takeLease())) break;
      if (!(await this.step())) break;
    }
    const [{ n }] = await this.dataSource.query(
      `SELECT count(*)::int AS n FROM starknet_mints WHERE status IN ('pending', 'submitted')`,
    );
    starknetMintsPending.set(n);
  }

  /** Takes or extends the worker lease (database time, so clocks of processes need not agree). */
  private async takeLease(): Promise<boolean> {
    // Renewed before each step; a step makes at most four requests (nonce, estimate, send, status).
    const ttlSec = Math.max(5, Math.ceil((this.options.rpcTimeoutMs * 5) / 1000));
    const taken: unknown[] = await this.dataSource.query(
      `WITH l AS (UPDATE starknet_worker_lease SET holder = $1, expires_at = now() + make_interval(secs => $2)
                   WHERE id = 1 AND (holder = $1 OR holder IS NULL OR expires_at < now()) RETURNING id)
       SELECT id FROM l`,
      [this.holder, ttlSec],
    );
    return taken.length > 0;
  }

  /** Settles the in-flight transaction, or prepares and sends the next due mint. True when it made progress. */
  private async step(): Promise<boolean> {
    const [inFlight]: Array<MintRow & { due: boolean }> = await this.dataSource.query(
      `SELECT *, next_attempt_at <= now() AS due FROM starknet_mints
        WHERE tx_hash IS NOT NULL AND status IN ('pending', 'submitted')`,
    );
    if (inFlight) return inFlight.due ? this.settle(inFlight) : false;
    const [next]: MintRow[] = await this.dataSource.query(
      `SELECT * FROM starknet_mints WHERE status = 'pending' AND tx_hash IS NULL AND next_attempt_at <= now()
        ORDER BY id LIMIT 1`,
    );
    return next ? this.prepareAndSend(next) : false;
  }

  private async settle(row: MintRow): Promise<boolean> {
    const txHash = row.tx_hash!;
    let status: TxStatus | undefined;
    try {
      status = await this.statusOf(txHash);
      if (!status) {
        const accountNonce = BigInt(await this.rpc.getNonce(this.account.address));
        if (accountNonce <= BigInt(row.nonce!)) {
          starknetMints.inc({ outcome: "resent" });
          return this.send(row, parseTx(row.signed_tx!), txHash);
        }
        // The nonce moved on. Asked again after the nonce: a transaction included between the
        // two reads is found now; one still unknown can never execute, so it is prepared anew.
        status = await this.statusOf(txHash);
        if (!status) return this.reprepare(row, "nonce used without this transaction");
      }
    } catch (err) {
      return this.retryLater(row, err);
    }
    const { finality_status: finality, execution_status: execution } = status;
    if (finality === "ACCEPTED_ON_L2" || finality === "ACCEPTED_ON_L1") {
      if (execution === "REVERTED") return this.finish(row, "failed", status.failure_reason ?? "reverted");
      return this.finish(row, "accepted");
    }
    if (finality === "REJECTED") return this.reprepare(row, status.failure_reason ?? "rejected");
    // Received, not yet in a block: the node has it (a row recorded but never acknowledged too).
    await this.update(row.id, `status = 'submitted', next_attempt_at = now() + make_interval(secs => $2)`, [
      this.options.pollMs / 1000,
    ]);
    return false;
  }

  /** The node's status of a transaction, or undefined when it does not know the hash. */
  private async statusOf(txHash: string): Promise<TxStatus | undefined> {
    try {
      return await this.rpc.getTransactionStatus(txHash);
    } catch (err) {
      if (err instanceof StarknetRpcError && err.code === RPC_ERRORS.TXN_HASH_NOT_FOUND) return undefined;
      throw err;
    }
  }

  private async prepareAndSend(row: MintRow): Promise<boolean> {
    let signed: { tx: InvokeTxnV3; txHash: string };
    let nonce: bigint;
    try {
      const chainId = await this.rpc.getChainId();
      nonce = BigInt(await this.rpc.getNonce(this.account.address));
      const calldata = mintCalldata(this.account, row.recipient, row.token_badge_id);
      const estimate = await this.rpc.estimateFee(unsignedInvoke(this.account, calldata, nonce));
      signed = signInvoke(
        unsignedInvoke(this.account, calldata, nonce, boundsFromEstimate(estimate)),
        chainId,
        this.account.privateKey,
      );
    } catch (err) {
      // The mint would revert (the estimate executes it): it never will pass as it is.
      if (err instanceof StarknetRpcError && err.code === RPC_ERRORS.TRANSACTION_EXECUTION_ERROR) {
        return this.finish(row, "failed", err.message);
      }
      return this.retryLater(row, err);
    }
    // Recorded before it is sent: after a crash, this hash is what the next pass looks for.
    try {
      const recorded: unknown[] = await this.dataSource.query(
        `WITH r AS (UPDATE starknet_mints SET nonce = $2, tx_hash = $3, signed_tx = $4, updated_at = now()
                     WHERE id = $1 AND status = 'pending' AND tx_hash IS NULL RETURNING id)
         SELECT id FROM r`,
        [row.id, nonce.toString(), signed.txHash, JSON.stringify(signed.tx)],
      );
      if (recorded.length === 0) return false;
    } catch (err) {
      if (isUniqueViolation(err)) return false; // another worker's transaction is in flight
      throw err;
    }
    return this.send(row, signed.tx, signed.txHash);
  }

  private async send(row: MintRow, tx: InvokeTxnV3, txHash: string): Promise<boolean> {
    try {
      const answer = await this.rpc.addInvokeTransaction(tx);
      if (normalizeHash(answer.transaction_hash) !== txHash) {
        this.options.logger?.error({ mintId: row.id, ours: txHash, node: answer.transaction_hash }, "tx hash mismatch");
      }
    } catch (err) {
      if (!(err instanceof StarknetRpcError)) return this.retryLater(row, err);
      if (err.code !== RPC_ERRORS.DUPLICATE_TX) {
        if (REPREPARE.has(err.code)) return this.reprepare(row, err.message);
        if (WAIT.has(err.code)) return this.retryLater(row, err);
        return this.finish(row, "failed", err.message);
      }
    }
    await this.update(
      row.id,
      `status = 'submitted', attempts = 0, next_attempt_at = now() + make_interval(secs => $2)`,
      [this.options.pollMs / 1000],
    );
    starknetMints.inc({ outcome: "submitted" });
    return true;
  }

  /** The signed transaction will never execute: forget it (the award's row is prepared again). */
  private async reprepare(row: MintRow, reason: string): Promise<boolean> {
    await this.update(
      row.id,
      `status = 'pending', nonce = NULL, tx_hash = NULL, signed_tx = NULL, last_error = $2, next_attempt_at = now()`,
      [reason.slice(0, 500)],
    );
    starknetMints.inc({ outcome: "reprepared" });
    this.options.logger?.warn({ mintId: row.id, txHash: row.tx_hash, reason }, "starknet mint prepared anew");
    return true;
  }

  private async finish(row: MintRow, status: "accepted" | "failed", reason?: string): Promise<boolean> {
    await this.update(row.id, `status = $2, last_error = $3`, [status, reason?.slice(0, 500) ?? null]);
    starknetMints.inc({ outcome: status });
    if (status === "failed") {
      this.options.logger?.warn({ mintId: row.id, txHash: row.tx_hash, reason }, "starknet mint failed");
    }
    return true;
  }

  /** A transient failure: the same step again after base·2^(n-1), capped. */
  private async retryLater(row: MintRow, err: unknown): Promise<boolean> {
    const attempts = row.attempts + 1;
    const delayMs = Math.min(this.options.retryMaxMs ?? 5 * 60_000, this.options.retryBaseMs * 2 ** (attempts - 1));
    await this.update(row.id, `attempts = $2, last_error = $3, next_attempt_at = now() + make_interval(secs => $4)`, [
      attempts,
      String((err as Error)?.message ?? err).slice(0, 500),
      delayMs / 1000,
    ]);
    starknetMints.inc({ outcome: "retried" });
    this.options.logger?.warn({ err, mintId: row.id, attempts }, "starknet mint step failed; retried later");
    return false;
  }

  private async update(id: string, set: string, params: unknown[]): Promise<void> {
    await this.dataSource.query(`UPDATE starknet_mints SET ${set}, updated_at = now() WHERE id = $1`, [id, ...params]);
  }
}

function parseTx(stored: InvokeTxnV3 | string): InvokeTxnV3 {
  return typeof stored === "string" ? (JSON.parse(stored) as InvokeTxnV3) : stored;
}
