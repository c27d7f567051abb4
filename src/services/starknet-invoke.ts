import { EDAMode, ec, hash, shortString, transaction } from "starknet";
import type { FeeEstimate, InvokeTxnV3, ResourceBounds } from "./starknet-rpc";

/** The server account that sends mints, and the contract it calls. */
export interface MintAccount {
  address: string;
  privateKey: string;
  badgeContract: string;
}

const hex = (n: bigint | number | string) => `0x${BigInt(n).toString(16)}`;

/**
 * The `badge_id` felt of a badge: its id as a Cairo short string when it fits (31 ASCII
 * characters: readable in explorers), otherwise its starknet_keccak (250 bits).
 */
export function tokenBadgeId(badgeId: string): string {
  if (/^[\x20-\x7e]{1,31}$/.test(badgeId)) return shortString.encodeShortString(badgeId);
  return hex(hash.starknetKeccak(badgeId));
}

/** `__execute__` calldata (Cairo 1 account) of the single call `mint(to, badge_id)`. */
export function mintCalldata(account: MintAccount, recipient: string, badgeFelt: string): string[] {
  return transaction
    .getExecuteCalldata(
      [{ contractAddress: account.badgeContract, entrypoint: "mint", calldata: [recipient, badgeFelt] }],
      "1",
    )
    .map((v) => hex(v as string));
}

const ZERO_BOUNDS: ResourceBounds = {
  l1_gas: { max_amount: "0x0", max_price_per_unit: "0x0" },
  l2_gas: { max_amount: "0x0", max_price_per_unit: "0x0" },
  l1_data_gas: { max_amount: "0x0", max_price_per_unit: "0x0" },
};

/** An unsigned invoke v3 (what fees are estimated for). */
export function unsignedInvoke(
  account: MintAccount,
  calldata: string[],
  nonce: bigint,
  bounds = ZERO_BOUNDS,
): InvokeTxnV3 {
  return {
    type: "INVOKE",
    version: "0x3",
    sender_address: account.address,
    calldata,
    signature: [],
    nonce: hex(nonce),
    resource_bounds: bounds,
    tip: "0x0",
    paymaster_data: [],
    account_deployment_data: [],
    nonce_data_availability_mode: "L1",
    fee_data_availability_mode: "L1",
  };
}

/** Bounds with headroom over the estimate (×1.5 amounts and prices): prices move between blocks. */
export function boundsFromEstimate(e: FeeEstimate): ResourceBounds {
  const more = (v: string) => hex((BigInt(v) * 3n + 1n) / 2n);
  return {
    l1_gas: { max_amount: more(e.l1_gas_consumed), max_price_per_unit: more(e.l1_gas_price) },
    l2_gas: { max_amount: more(e.l2_gas_consumed), max_price_per_unit: more(e.l2_gas_price) },
    l1_data_gas: { max_amount: more(e.l1_data_gas_consumed), max_price_per_unit: more(e.l1_data_gas_price) },
  };
}

/** The transaction hash of an invoke v3 on `chainId`, as the network computes it. */
export function invokeHash(tx: InvokeTxnV3, chainId: string): string {
  const big = (b: { max_amount: string; max_price_per_unit: string }) => ({
    max_amount: BigInt(b.max_amount),
    max_price_per_unit: BigInt(b.max_price_per_unit),
  });
  return hash.calculateInvokeTransactionHash({
    senderAddress: tx.sender_address,
    version: "0x3",
    compiledCalldata: tx.calldata,
    chainId: chainId as Parameters<typeof hash.calculateInvokeTransactionHash>[0]["chainId"],
    nonce: tx.nonce,
    accountDeploymentData: tx.account_deployment_data,
    nonceDataAvailabilityMode: EDAMode.L1,
    feeDataAvailabilityMode: EDAMode.L1,
    resourceBounds: {
      l1_gas: big(tx.resource_bounds.l1_gas),
      l2_gas: big(tx.resource_bounds.l2_gas),
      l1_data_gas: big(tx.resource_bounds.l1_data_gas),
    },
    tip: tx.tip,
    paymasterData: tx.paymaster_data,
  });
}

/** Signs the transaction hash with the account's Stark key: the payload to send, and its hash. */
export function signInvoke(tx: InvokeTxnV3, chainId: string, privateKey: string): { tx: InvokeTxnV3; txHash: string } {
  const txHash = invokeHash(tx, chainId);
  const { r, s } = ec.starkCurve.sign(txHash, privateKey);
  return { tx: { ...tx, signature: [hex(r), hex(s)] }, txHash: normalizeHash(txHash) };
}

/** Hashes as stored and compared: 0x and 64 lowercase hex digits. */
export function normalizeHash(h: string): string {
  return `0x${BigInt(h).toString(16).padStart(64, "0")}`;
}
