import http from "node:http";
import { EDAMode, ec, encode, hash, shortString } from "starknet";
import { listenOnLoopback } from "./listen";

/**
 * A StarkNet JSON-RPC 2.0 node double: the spec's method names, parameter and result shapes and
 * error codes, with account contracts whose `is_valid_signature` really checks Stark signatures
 * (plain, 2-of-2 multisig, owner + guardian), a server account whose invoke v3 transactions are
 * checked (nonce, hash recomputed, signature, the `mint(to, badge_id)` call) and executed once
 * each, and faults on demand: JSON-RPC errors, hangs, delayed inclusion, reverts.
 */

export const SN_SEPOLIA = shortString.encodeShortString("SN_SEPOLIA");
const VALID = shortString.encodeShortString("VALID");
const IS_VALID_SIGNATURE = BigInt(hash.getSelectorFromName("is_valid_signature"));
const MINT = BigInt(hash.getSelectorFromName("mint"));

export type AccountKind = "plain" | "multisig" | "guardian";

export interface TestKey {
  privateKey: string;
  publicKey: string;
}

export interface FakeAccount {
  address: string;
  kind: AccountKind;
  keys: TestKey[];
  nonce: bigint;
  /** Answer 1 instead of 'VALID' (pre-SNIP-6 accounts). */
  legacy?: boolean;
}

export interface ExecutedMint {
  txHash: string;
  to: string;
  badgeId: string;
  nonce: bigint;
}

interface Tx {
  hash: string;
  sender: string;
  nonce: bigint;
  /** Status queries still to answer "not found" before inclusion (a node that lags). */
  hiddenFor: number;
  included: boolean;
  reverted?: string;
  mint?: { to: string; badgeId: string };
}

export interface FakeStarknet {
  url: string;
  chainId: string;
  accounts: Map<string, FakeAccount>;
  /** The server's account and the badge contract it must call. */
  server: FakeAccount;
  badgeContract: string;
  /** Every mint executed (successful transactions only), in order. */
  mints: ExecutedMint[];
  /** Every accepted addInvokeTransaction (before inclusion), and every request by method. */
  calls: Array<{ method: string; params: any }>;
  /** Methods the double does not know: a test fails when starknet.js or our code asks for one. */
  unknownMethods: string[];
  /** The next `count` requests of `method` (or any, with "*") answer this JSON-RPC error. */
  failNext(method: string, count: number, error?: { code: number; message: string }): void;
  /** Requests of `method` never get an answer until `release()`; with `afterExecute`, the invoke executes first. */
  hang(method: string, options?: { afterExecute?: boolean }): void;
  release(): void;
  /** The next `count` executed mints revert. */
  revertNext(count: number): void;
  /** New transactions stay unknown to status queries this many times (and unexecuted) before inclusion. */
  delayInclusion: number;
  /** Hidden transactions are included when the sender's nonce is read (a block lands between two reads). */
  includeOnNonceRead: boolean;
  addAccount(kind: AccountKind, options?: { legacy?: boolean }): FakeAccount;
  close(): Promise<void>;
}

export function newKey(): TestKey {
  const privateKey = encode.addHexPrefix(encode.buf2hex(ec.starkCurve.utils.randomPrivateKey()));
  const publicKey = encode.addHexPrefix(encode.buf2hex(ec.starkCurve.getPublicKey(privateKey, false)));
  return { privateKey, publicKey };
}

export const felt = (v: bigint | number | string) => `0x${BigInt(v).toString(16)}`;
const addr = (v: string | bigint) => `0x${BigInt(v).toString(16).padStart(64, "0")}`;

/** A signature as the account kind expects it: [r, s] per key, concatenated. */
export function signFor(account: Pick<FakeAccount, "keys">, msgHash: string, keys = account.keys): string[] {
  return keys.flatMap((k) => {
    const s = ec.starkCurve.sign(msgHash, k.privateKey);
    return [felt(s.r), felt(s.s)];
  });
}

function verifies(sig: bigint[], at: number, msgHash: bigint, key: TestKey): boolean {
  if (sig.length < at + 2) return false;
  try {
    const signature = new ec.starkCurve.Signature(sig[at], sig[at + 1]);
    return ec.starkCurve.verify(signature, felt(msgHash), key.publicKey);
  } catch {
    return false;
  }
}

/** What each kind of account checks: every key signs, in order ([r,s] each). */
function accountAccepts(account: FakeAccount, msgHash: bigint, sig: bigint[]): boolean {
  if (sig.length !== account.keys.length * 2) return false;
  return account.keys.every((k, i) => verifies(sig, i * 2, msgHash, k));
}

class RpcFault extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeStarknet(options: { chainId?: string } = {}): Promise<FakeStarknet> {
  const txs = new Map<string, Tx>();
  const failures: Array<{ method: string; count: number; error: { code: number; message: string } }> = [];
  const hanging = new Map<string, { afterExecute: boolean }>();
  const held = new Set<http.ServerResponse>();
  let reverts = 0;
  let block = 1000;

  const makeAccount = (kind: AccountKind, legacy?: boolean): FakeAccount => {
    const keys = kind === "plain" ? [newKey()] : [newKey(), newKey()];
    const address = addr(BigInt(keys[0].publicKey.slice(0, 60)) >> 8n);
    const account: FakeAccount = { address, kind, keys, nonce: 0n, legacy };
    fake.accounts.set(address, account);
    return account;
  };

  const include = (tx: Tx) => {
    if (tx.included) return;
    tx.included = true;
    block++;
    const sender = fake.accounts.get(tx.sender)!;
    sender.nonce = tx.nonce + 1n;
    if (!tx.mint) tx.reverted = "not a single mint(to, badge_id) call to the badge contract";
    else if (reverts > 0) {
      reverts--;
      tx.reverted = "Execution reverted: mint refused";
    } else fake.mints.push({ txHash: tx.hash, to: tx.mint.to, badgeId: tx.mint.badgeId, nonce: tx.nonce });
  };

  const findTx = (h: string) => {
    const tx = txs.get(addr(h));
    if (!tx) throw new RpcFault(29, "Transaction hash not found");
    if (!tx.included && tx.hiddenFor > 0) {
      tx.hiddenFor--;
      throw new RpcFault(29, "Transaction hash not found");
    }
    include(tx);
    return tx;
  };

  const methods: Record<string, (p: any) => unknown> = {
    starknet_specVersion: () => "0.9.0",
    starknet_chainId: () => fake.chainId,
    starknet_blockNumber: () => block,
    starknet_getNonce: (p) => {
      const a = fake.accounts.get(addr(p.contract_address));
      if (!a) throw new RpcFault(20, "Contract not found");
      if (fake.includeOnNonceRead) for (const tx of txs.values()) if (tx.sender === a.address) include(tx);
      return felt(a.nonce);
    },
    starknet_call: (p) => {
      const { contract_address, entry_point_selector, calldata } = p.request;
      const a = fake.accounts.get(addr(contract_address));
      if (!a) throw new RpcFault(20, "Contract not found");
      if (BigInt(entry_point_selector) !== IS_VALID_SIGNATURE)
        throw new RpcFault(21, "Requested entrypoint does not exist in the contract");
      const [msgHash, len, ...sig] = (calldata as string[]).map((v) => BigInt(v));
      if (len !== BigInt(sig.length)) throw new RpcFault(40, "Contract error: bad signature array length");
      const ok = accountAccepts(a, msgHash, sig);
      // A plain account answers 0 when refusing; multisig and guardian accounts assert (revert).
      if (!ok && a.kind !== "plain") throw new RpcFault(40, "Contract error: argent/invalid-signature");
      return [ok ? (a.legacy ? "0x1" : VALID) : "0x0"];
    },
    starknet_estimateFee: (p) => {
      const [tx] = p.request;
      checkInvokeShape(tx);
      return [
        {
          l1_gas_consumed: "0x0",
          l1_gas_price: "0x1",
          l2_gas_consumed: "0x1f400",
          l2_gas_price: "0x2540be400",
          l1_data_gas_consumed: "0x80",
          l1_data_gas_price: "0x3e8",
          overall_fee: "0x12a05f2001f400",
          unit: "FRI",
        },
      ];
    },
    starknet_addInvokeTransaction: (p) => {
      const tx = p.invoke_transaction;
      checkInvokeShape(tx);
      const sender = fake.accounts.get(addr(tx.sender_address));
      if (!sender) throw new RpcFault(20, "Contract not found");
      const txHash = addr(recomputeHash(tx, fake.chainId));
      if (txs.has(txHash)) throw new RpcFault(59, "A transaction with the same hash already exists in the mempool");
      const pendingBefore = [...txs.values()].filter((t) => t.sender === sender.address && !t.included).length;
      if (BigInt(tx.nonce) !== sender.nonce + BigInt(pendingBefore)) {
        throw new RpcFault(52, "Invalid transaction nonce");
      }
      const sig = (tx.signature as string[]).map((v) => BigInt(v));
      if (!accountAccepts(sender, BigInt(txHash), sig)) throw new RpcFault(55, "Account validation failed");
      const entry: Tx = {
        hash: txHash,
        sender: sender.address,
        nonce: BigInt(tx.nonce),
        hiddenFor: fake.delayInclusion,
        included: false,
        mint: decodeMint(tx.calldata, fake.badgeContract),
      };
      txs.set(txHash, entry);
      if (entry.hiddenFor === 0) include(entry);
      return { transaction_hash: txHash };
    },
    starknet_getTransactionStatus: (p) => {
      const tx = findTx(p.transaction_hash);
      return tx.reverted
        ? { finality_status: "ACCEPTED_ON_L2", execution_status: "REVERTED", failure_reason: tx.reverted }
        : { finality_status: "ACCEPTED_ON_L2", execution_status: "SUCCEEDED" };
    },
    starknet_getTransactionReceipt: (p) => {
      const tx = findTx(p.transaction_hash);
      return {
        type: "INVOKE",
        transaction_hash: tx.hash,
        actual_fee: { amount: "0x1", unit: "FRI" },
        execution_status: tx.reverted ? "REVERTED" : "SUCCEEDED",
        finality_status: "ACCEPTED_ON_L2",
        block_hash: felt(block),
        block_number: block,
        messages_sent: [],
        events: [],
        execution_resources: { l1_gas: 0, l1_data_gas: 128, l2_gas: 128000 },
        ...(tx.reverted ? { revert_reason: tx.reverted } : {}),
      };
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      let body: { id: unknown; method: string; params: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        return void res.writeHead(400).end();
      }
      const answer = (payload: object) =>
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ jsonrpc: "2.0", id: body.id, ...payload }));
      fake.calls.push({ method: body.method, params: body.params });
      const failure = failures.find((f) => f.count > 0 && (f.method === body.method || f.method === "*"));
      if (failure) {
        failure.count--;
        return answer({ error: failure.error });
      }
      const hang = hanging.get(body.method);
      const handler = methods[body.method];
      if (!handler) {
        fake.unknownMethods.push(body.method);
        console.error(`fake-starknet: unknown method ${body.method}`);
        return answer({ error: { code: -32601, message: "Method not found" } });
      }
      if (hang && !hang.afterExecute) return void held.add(res);
      try {
        const result = handler(body.params);
        if (hang) return void held.add(res);
        answer({ result });
      } catch (err) {
        if (err instanceof RpcFault) return answer({ error: { code: err.code, message: err.message } });
        answer({ error: { code: -32602, message: `Invalid params: ${(err as Error).message}` } });
      }
    });
  });
  const { url, close } = await listenOnLoopback(server);
  const fake: FakeStarknet = {
    url,
    chainId: options.chainId ?? SN_SEPOLIA,
    accounts: new Map(),
    server: undefined as unknown as FakeAccount,
    badgeContract: addr(0xbad9e5n),
    mints: [],
    calls: [],
    unknownMethods: [],
    delayInclusion: 0,
    includeOnNonceRead: false,
    failNext: (method, count, error = { code: 63, message: "An unexpected error occurred" }) =>
      void failures.push({ method, count, error }),
    hang: (method, o = {}) => void hanging.set(method, { afterExecute: o.afterExecute ?? false }),
    release: () => {
      hanging.clear();
      for (const res of held) res.destroy();
      held.clear();
    },
    revertNext: (count) => void (reverts = count),
    addAccount: (kind, o = {}) => makeAccount(kind, o.legacy),
    close: async () => {
      fake.release();
      server.closeAllConnections();
      await close();
    },
  };
  fake.server = makeAccount("plain");
  return fake;
}

function checkInvokeShape(tx: any) {
  const fields = ["sender_address", "calldata", "signature", "nonce", "resource_bounds", "tip", "paymaster_data"];
  for (const f of fields) if (tx?.[f] === undefined) throw new Error(`invoke transaction without ${f}`);
  if (tx.type !== "INVOKE" || tx.version !== "0x3") throw new RpcFault(61, "The transaction version is not supported");
  for (const r of ["l1_gas", "l2_gas", "l1_data_gas"]) {
    if (!tx.resource_bounds[r]) throw new Error(`resource_bounds without ${r}`);
  }
}

/**
 * The invoke v3 hash, recomputed here from the payload as a node does (not trusted from the
 * sender, and deliberately not through the server's own mapping in src/services/starknet-invoke.ts:
 * a mistake there must show as a hash mismatch, not be repeated here).
 */
function recomputeHash(tx: any, chainId: string): string {
  const big = (b: any) => ({ max_amount: BigInt(b.max_amount), max_price_per_unit: BigInt(b.max_price_per_unit) });
  return hash.calculateInvokeTransactionHash({
    senderAddress: tx.sender_address,
    version: "0x3",
    compiledCalldata: tx.calldata,
    chainId: chainId as any,
    nonce: tx.nonce,
    accountDeploymentData: tx.account_deployment_data,
    nonceDataAvailabilityMode: tx.nonce_data_availability_mode === "L2" ? EDAMode.L2 : EDAMode.L1,
    feeDataAvailabilityMode: tx.fee_data_availability_mode === "L2" ? EDAMode.L2 : EDAMode.L1,
    resourceBounds: {
      l1_gas: big(tx.resource_bounds.l1_gas),
      l2_gas: big(tx.resource_bounds.l2_gas),
      l1_data_gas: big(tx.resource_bounds.l1_data_gas),
    },
    tip: tx.tip,
    paymasterData: tx.paymaster_data,
  });
}

/** A Cairo 1 `__execute__` calldata of exactly one call: mint(to, badge_id) on the badge contract. */
function decodeMint(calldata: string[], badgeContract: string): { to: string; badgeId: string } | undefined {
  const v = calldata.map((c) => BigInt(c));
  if (v.length !== 6 || v[0] !== 1n) return undefined;
  const [, to, selector, len, recipient, badge] = v;
  if (addr(to) !== badgeContract || selector !== MINT || len !== 2n) return undefined;
  return { to: addr(recipient), badgeId: felt(badge) };
}
