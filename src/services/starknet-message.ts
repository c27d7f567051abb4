import { shortString, typedData, type TypedData } from "starknet";
import { badRequest } from "./errors";

/** 2^251: contract addresses are below it (and not zero). */
const ADDRESS_BOUND = 1n << 251n;
/** The field's prime: every felt is below it. */
export const FELT_PRIME = (1n << 251n) + 17n * (1n << 192n) + 1n;

/** An address as we store and compare it: lowercase, 0x and 64 hex digits; 400 when not an address. */
export function normalizeAddress(raw: string): string {
  const value = feltValue(raw);
  if (value === undefined || value === 0n || value >= ADDRESS_BOUND) {
    throw badRequest("INVALID_STARKNET_ADDRESS", "Not a StarkNet address (0x and up to 64 hex digits, below 2^251)");
  }
  return `0x${value.toString(16).padStart(64, "0")}`;
}

/** A felt given as hex (0x…) or decimal, or undefined when it is not one (or not below the prime). */
export function feltValue(raw: string): bigint | undefined {
  if (!/^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$/.test(raw)) return undefined;
  const value = BigInt(raw);
  return value < FELT_PRIME ? value : undefined;
}

/** What a sign-in challenge is made of (stored, never taken from the client). */
export interface SignInChallenge {
  address: string;
  nonce: string;
  chainId: string;
  domainName: string;
  domainVersion: string;
  issuedAt: Date;
  expiresAt: Date;
}

/** The chain id as SNIP-12 domains show it: the short string (`SN_MAIN`) when it is one, else the felt. */
export function chainIdForDomain(chainId: string): string {
  const text = shortString.decodeShortString(chainId);
  const printable = /^[\x20-\x7e]{1,31}$/.test(text);
  return printable && BigInt(shortString.encodeShortString(text)) === BigInt(chainId) ? text : chainId;
}

/** The SNIP-12 (revision 1) typed data the wallet signs for a challenge. */
export function signInTypedData(c: SignInChallenge): TypedData {
  return {
    types: {
      StarknetDomain: [
        { name: "name", type: "shortstring" },
        { name: "version", type: "shortstring" },
        { name: "chainId", type: "shortstring" },
        { name: "revision", type: "shortstring" },
      ],
      SignIn: [
        { name: "address", type: "ContractAddress" },
        { name: "nonce", type: "felt" },
        { name: "issuedAt", type: "timestamp" },
        { name: "expiresAt", type: "timestamp" },
      ],
    },
    primaryType: "SignIn",
    domain: { name: c.domainName, version: c.domainVersion, chainId: chainIdForDomain(c.chainId), revision: "1" },
    message: {
      address: c.address,
      nonce: c.nonce,
      issuedAt: Math.floor(c.issuedAt.getTime() / 1000),
      expiresAt: Math.floor(c.expiresAt.getTime() / 1000),
    },
  };
}

/** The message hash the account contract is asked about (SNIP-12: bound to the signer's address). */
export function signInMessageHash(c: SignInChallenge): string {
  return typedData.getMessageHash(signInTypedData(c), c.address);
}

/** SNIP-6 `is_valid_signature` answers the short string 'VALID'; older accounts answer 1. */
export function isValidSignatureAnswer(result: string[]): boolean {
  const first = result[0] === undefined ? undefined : feltValue(result[0]);
  return first === 0x56414c4944n || first === 1n;
}
