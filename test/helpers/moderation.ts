import { createHmac } from "node:crypto";
import { Call, type Role, User } from "../../src/entities";
import type { DomainEventMap } from "../../src/services/events";
import { HIVE_WEBHOOK_SECRET, type TestApp } from "./app";
import { type Account, register, remember } from "./users";

/** A new account with `role`: set in the database, then the auth cache dropped on every process. */
export async function registerWithRole(t: TestApp, role: Role): Promise<Account> {
  const account = await register(t);
  await t.app.dataSource.getRepository(User).update({ id: account.user.id }, { role });
  await t.app.services.authState.invalidate(account.user.id);
  return account;
}

/** A call between two users, as the queue records it. */
export async function recordCall(t: TestApp, userA: string, userB: string): Promise<string> {
  const call = await t.app.dataSource.getRepository(Call).save({ userA, userB, region: "eu", language: "en" });
  return call.id;
}

type ModerationEvent = DomainEventMap["user.moderation"];

/** Collects `user.moderation` events for a user; `next(n)` waits until n have arrived in all. */
export async function watchModeration(t: TestApp, userId: string) {
  const seen: ModerationEvent[] = [];
  const waiters: Array<() => void> = [];
  const unsubscribe = await t.app.services.events.subscribe("user.moderation", "all", (event) => {
    if (event.userId !== userId) return;
    seen.push(event);
    waiters.splice(0).forEach((wake) => wake());
  });
  return {
    seen,
    unsubscribe,
    next(count = 1, timeoutMs = 2000): Promise<ModerationEvent[]> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} moderation events for ${userId}, saw ${seen.length}`)),
          timeoutMs,
        );
        const check = () => {
          if (seen.length < count) return waiters.push(check);
          clearTimeout(timer);
          resolve(seen);
        };
        check();
      });
    },
  };
}

export const hiveSignature = (body: string, secret = HIVE_WEBHOOK_SECRET) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

/** Posts a verdict the way the provider does: raw JSON signed in X-Hive-Signature. */
export function deliverHive(t: TestApp, event: object, options: { signature?: string | null; secret?: string } = {}) {
  const body = JSON.stringify(event);
  const signature = options.signature === undefined ? hiveSignature(body, options.secret) : options.signature;
  // The root hook then proves neither the secret nor a signature reached the server logs.
  remember(HIVE_WEBHOOK_SECRET);
  remember(signature ?? undefined);
  return t.fetch("/api/webhooks/hive", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(signature !== null && { "X-Hive-Signature": signature }) },
    body,
  });
}
