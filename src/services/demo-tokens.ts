import { randomUUID } from "node:crypto";
import { notFound } from "./errors";
import type { WalletService } from "./wallet";

/** What a demo top-up brings a wallet up to. */
export const DEMO_BALANCE = 100;

/**
 * Demo tokens for local play without Stripe: tops a wallet up to
 * DEMO_BALANCE (never beyond, so it is no money printer). Refused in
 * production even if something registered a route for it.
 */
export class DemoTokens {
  constructor(
    private readonly wallet: WalletService,
    private readonly isProduction: boolean,
  ) {}

  async topUp(userId: string): Promise<{ granted: number; balance: number }> {
    if (this.isProduction) throw notFound("Demo tokens do not exist in production");
    const balance = await this.wallet.balance(userId);
    const granted = Math.max(0, DEMO_BALANCE - balance);
    if (!granted) return { granted, balance };
    const id = randomUUID();
    const { entries } = await this.wallet.apply([
      { userId, delta: granted, reason: "demo", refType: "demo", refId: id, idempotencyKey: `demo:${id}` },
    ]);
    return { granted, balance: entries[0].balanceAfter };
  }
}
