import { randomBytes } from "node:crypto";
import { hash, type TypedData } from "starknet";
import type { DataSource, EntityManager } from "typeorm";
import { User } from "../entities";
import { starknetSignins } from "../metrics";
import type { AuthService, SessionBundle } from "./auth";
import { AppError, conflict, isUniqueViolation, unauthorized } from "./errors";
import {
  feltValue,
  isValidSignatureAnswer,
  normalizeAddress,
  type SignInChallenge,
  signInMessageHash,
  signInTypedData,
} from "./starknet-message";
import { StarknetRpcError, type StarknetRpc } from "./starknet-rpc";

const IS_VALID_SIGNATURE = hash.getSelectorFromName("is_valid_signature");
/** Signatures longer than this are refused before asking the node (multisig owners × 2 fits easily). */
export const MAX_SIGNATURE_FELTS = 64;

export interface StarknetSignInOptions {
  domainName: string;
  domainVersion: string;
  challengeTtlSec: number;
  /** Called after a wallet's first link (minting enqueues the awards it already has). */
  onLinked?: (m: EntityManager, userId: string, address: string) => Promise<void>;
  clock?: () => Date;
}

export interface ChallengeAnswer {
  typedData: TypedData;
  nonce: string;
  expiresAt: string;
}

interface ChallengeRow {
  nonce: string;
  address: string;
  chain_id: string;
  domain_name: string;
  domain_version: string;
  issued_at: Date;
  expires_at: Date;
}

const refused = () =>
  unauthorized(
    "The signed challenge is unknown, spent, expired or not signed by the wallet",
    "STARKNET_SIGNIN_REFUSED",
  );

/**
 * Wallet sign-in (SNIP-12 revision 1, SNIP-6): a single-use challenge per request, checked by the
 * wallet's own account contract (`is_valid_signature` through `starknet_call`, so multisig and
 * guardian accounts work), spent atomically with the account change it allows.
 */
export class StarknetSignIn {
  private readonly clock: () => Date;

  constructor(
    private readonly dataSource: DataSource,
    private readonly rpc: StarknetRpc,
    private readonly auth: AuthService,
    private readonly options: StarknetSignInOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** A fresh challenge for `address` (its typed data, its nonce and when it expires). */
  async challenge(rawAddress: string): Promise<ChallengeAnswer> {
    const address = normalizeAddress(rawAddress);
    const chainId = await this.withNode(() => this.rpc.getChainId());
    // Stored to the millisecond (the newest challenge is well defined); the message shows seconds.
    const issuedAt = this.clock();
    const c: SignInChallenge = {
      address,
      // 248 random bits: below the field prime, unguessable.
      nonce: `0x${randomBytes(31).toString("hex")}`,
      chainId,
      domainName: this.options.domainName,
      domainVersion: this.options.domainVersion,
      issuedAt,
      expiresAt: new Date(issuedAt.getTime() + this.options.challengeTtlSec * 1000),
    };
    // Spent and expired challenges are kept an hour (replays answer the same 401 meanwhile), then go.
    await this.dataSource.query(
      `DELETE FROM starknet_challenges WHERE nonce IN (
         SELECT nonce FROM starknet_challenges WHERE expires_at < $1 ORDER BY expires_at LIMIT 100)`,
      [new Date(issuedAt.getTime() - 3600_000)],
    );
    await this.dataSource.query(
      `INSERT INTO starknet_challenges (nonce, address, chain_id, domain_name, domain_version, issued_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [c.nonce, c.address, c.chainId, c.domainName, c.domainVersion, c.issuedAt, c.expiresAt],
    );
    return { typedData: signInTypedData(c), nonce: c.nonce, expiresAt: c.expiresAt.toISOString() };
  }

  /**
   * Checks the signature of the address's open challenge (the newest, or the one named by
   * `nonce`) and signs in: the wallet's account (created on first sign-in), or, with `bearerUserId`,
   * links the wallet to that account. A replay, an expired or foreign message, a wrong signature: 401.
   */
  async verify(
    input: { address: string; signature: string[]; nonce?: string },
    bearerUserId?: string,
  ): Promise<SessionBundle> {
    try {
      const result = await this.verifyOnce(input, bearerUserId);
      starknetSignins.inc({ outcome: bearerUserId ? "linked" : "signed_in" });
      return result;
    } catch (err) {
      const unavailable = err instanceof AppError && err.status === 503;
      starknetSignins.inc({ outcome: unavailable ? "unavailable" : "refused" });
      throw err;
    }
  }

  private async verifyOnce(
    input: { address: string; signature: string[]; nonce?: string },
    bearerUserId?: string,
  ): Promise<SessionBundle> {
    const address = normalizeAddress(input.address);
    const signature = input.signature.map((s) => feltValue(s));
    if (signature.length === 0 || signature.length > MAX_SIGNATURE_FELTS || signature.some((s) => s === undefined)) {
      throw refused();
    }
    const now = this.clock();
    const [row]: ChallengeRow[] = await this.dataSource.query(
      `SELECT nonce, address, chain_id, domain_name, domain_version, issued_at, expires_at FROM starknet_challenges
        WHERE address = $1 AND spent_at IS NULL AND expires_at > $2 AND ($3::text IS NULL OR nonce = $3)
        ORDER BY issued_at DESC, nonce LIMIT 1`,
      [address, now, input.nonce ?? null],
    );
    if (!row) throw refused();
    // The hash is rebuilt from what we stored: a client cannot choose the domain, nonce or expiry.
    const messageHash = signInMessageHash({
      address,
      nonce: row.nonce,
      chainId: row.chain_id,
      domainName: row.domain_name,
      domainVersion: row.domain_version,
      issuedAt: new Date(row.issued_at),
      expiresAt: new Date(row.expires_at),
    });
    const sig = signature.map((s) => `0x${s!.toString(16)}`);
    const answer = await this.withNode(() =>
      this.rpc.call(address, IS_VALID_SIGNATURE, [messageHash, `0x${sig.length.toString(16)}`, ...sig]),
    ).catch((err) => {
      // The account refused (wrong key: the contract asserts) or is not an account: the same 401.
      if (err instanceof StarknetRpcError) throw refused();
      throw err;
    });
    if (!isValidSignatureAnswer(answer)) throw refused();
    try {
      return await this.spendAndSignIn(row.nonce, address, now, bearerUserId);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      // Two links at once: the loser's transaction rolled back whole.
      if (bearerUserId) throw constraintOf(err) === "PK_starknet_wallets" ? accountHasWallet() : walletTaken();
      // Two first sign-ins of one wallet at once: once more, the loser finds the winner's account.
      return this.spendAndSignIn(row.nonce, address, now, bearerUserId);
    }
  }

  private spendAndSignIn(nonce: string, address: string, now: Date, bearerUserId?: string) {
    return this.dataSource.transaction(async (m) => {
      // A statement that is a SELECT answers its rows alike on both drivers.
      const spent: unknown[] = await m.query(
        `WITH s AS (UPDATE starknet_challenges SET spent_at = $2
                     WHERE nonce = $1 AND spent_at IS NULL AND expires_at > $2 RETURNING nonce)
         SELECT nonce FROM s`,
        [nonce, now],
      );
      if (spent.length === 0) throw refused();
      const [owner]: Array<{ user_id: string }> = await m.query(
        `SELECT user_id FROM starknet_wallets WHERE address = $1`,
        [address],
      );
      if (bearerUserId) {
        if (owner && owner.user_id !== bearerUserId) throw walletTaken();
        if (!owner) await this.link(m, bearerUserId, address);
        const user = await m.findOneOrFail(User, { where: { id: bearerUserId } });
        return this.auth.signInProven(m, user, false);
      }
      if (owner) {
        const user = await m.findOneOrFail(User, { where: { id: owner.user_id } });
        return this.auth.signInProven(m, user, false);
      }
      // A wallet-only account: registered (not a guest), no email, not verified (see README).
      const user = await m.save(
        m.create(User, { displayName: `Wallet ${address.slice(-6)}`, email: null, isGuest: false }),
      );
      await this.link(m, user.id, address);
      return this.auth.signInProven(m, user, true);
    });
  }

  private async link(m: EntityManager, userId: string, address: string) {
    const [has] = await m.query(`SELECT address FROM starknet_wallets WHERE user_id = $1`, [userId]);
    if (has) throw accountHasWallet();
    await m.query(`INSERT INTO starknet_wallets (user_id, address) VALUES ($1, $2)`, [userId, address]);
    await this.options.onLinked?.(m, userId, address);
  }

  /** The wallet linked to a user, if any. */
  async walletOf(userId: string): Promise<string | undefined> {
    const [row] = await this.dataSource.query(`SELECT address FROM starknet_wallets WHERE user_id = $1`, [userId]);
    return row?.address;
  }

  /** Node failures (down, hung, garbled) answer 503; JSON-RPC refusals are left to the caller. */
  private async withNode<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof StarknetRpcError) throw err;
      throw new AppError(503, "STARKNET_UNAVAILABLE", "The StarkNet node is not reachable; try again", undefined, {
        "Retry-After": "5",
      });
    }
  }
}

const walletTaken = () => conflict("WALLET_ALREADY_LINKED", "This wallet is linked to another account");
const accountHasWallet = () => conflict("ACCOUNT_HAS_WALLET", "This account is linked to another wallet already");

function constraintOf(err: unknown): string | undefined {
  const e = err as { constraint?: string; driverError?: { constraint?: string } };
  return e?.driverError?.constraint ?? e?.constraint;
}
