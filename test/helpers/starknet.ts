import { randomUUID } from "node:crypto";
import { type TypedData, typedData } from "starknet";
import type { DomainEventPayloads } from "../../src/services/domain-log";
import type { SessionBundle } from "../../src/services/auth";
import type { TestApp } from "./app";
import { type FakeAccount, signFor, type TestKey } from "./fake-starknet";
import { bearer, json, remember } from "./users";

export interface Challenge {
  typedData: TypedData;
  nonce: string;
  expiresAt: string;
}

export async function challenge(t: TestApp, address: string): Promise<Challenge> {
  const res = await t.fetch("/api/auth/starknet/challenge", json({ address }));
  if (res.status !== 200) throw new Error(`challenge failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Challenge;
}

/** What a wallet does: hashes the typed data it was shown, for its own address, and signs it. */
export function walletSignature(account: FakeAccount, data: TypedData, keys?: TestKey[]): string[] {
  return signFor(account, typedData.getMessageHash(data, account.address), keys);
}

export async function verify(
  t: TestApp,
  body: { address: string; signature: string[]; nonce?: string },
  accessToken?: string,
): Promise<{ status: number; body: any }> {
  const res = await t.fetch("/api/auth/starknet/verify", json(body, accessToken ? bearer(accessToken) : {}));
  const answer = await res.json();
  if (res.status === 200) {
    remember((answer as SessionBundle).accessToken);
    remember((answer as SessionBundle).refreshToken);
  }
  return { status: res.status, body: answer };
}

/** Challenge, sign with every key of the account, verify: the whole wallet sign-in. */
export async function walletSignIn(t: TestApp, account: FakeAccount, accessToken?: string) {
  const c = await challenge(t, account.address);
  return verify(t, { address: account.address, signature: walletSignature(account, c.typedData) }, accessToken);
}

/** A finished solo round of `userId`: its delivery to the `badges` consumer awards `first-round`. */
export const finishedRound = (userId: string): DomainEventPayloads["round_finished"] => ({
  roundId: randomUUID(),
  mode: "solo",
  userId,
  score: 10,
  hits: 10,
  misses: 0,
  rank: 1,
  flagged: false,
  endReason: "time_up",
});
