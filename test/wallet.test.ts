import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Purchase } from "../src/entities";
import { PaymentsService } from "../src/services/payments";
import { testApp, type TestApp } from "./helpers/app";
import { type Account, bearer, json, register } from "./helpers/users";
import { fund } from "./helpers/wallet";

describe("wallet ledger", () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });
  const debit = (userId: string, key: string, delta = -1) =>
    t.app.services.wallet.apply([{ userId, delta, reason: "play", idempotencyKey: key }]);

  it("50 concurrent debits of 1 against a balance of 20: exactly 20 pass, 30 refused, balance 0", async () => {
    const { user } = await register();
    await fund(t, user.id, 20);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => debit(user.id, `race:${user.id}:${i}`)),
    );
    const refused = results.filter((r) => r.status === "rejected");
    assert.equal(results.length - refused.length, 20);
    assert.equal(refused.length, 30);
    for (const r of refused) assert.equal((r as PromiseRejectedResult).reason.code, "INSUFFICIENT_FUNDS");
    assert.equal(await t.app.services.wallet.balance(user.id), 0);
  });

  it("concurrent debits on one wallet with every key sent twice at once: each key applied at most once, exactly the affordable count", async () => {
    const { user } = await register();
    await fund(t, user.id, 20);
    const keys = Array.from({ length: 30 }, (_, i) => `twice:${user.id}:${i}`);
    const results = await Promise.allSettled(keys.flatMap((key) => [debit(user.id, key), debit(user.id, key)]));
    const applied = new Set<string>();
    for (let i = 0; i < keys.length; i++) {
      const [a, b] = [results[2 * i], results[2 * i + 1]];
      if (a.status === "rejected" || b.status === "rejected") {
        for (const r of [a, b]) assert.equal(r.status === "rejected" && r.reason.code, "INSUFFICIENT_FUNDS");
        continue;
      }
      assert.deepEqual(a.value.entries, b.value.entries, "both copies answer with the one entry");
      assert.equal([a.value.replayed, b.value.replayed].filter(Boolean).length, 1, "one applied, one replayed");
      applied.add(keys[i]);
    }
    assert.equal(applied.size, 20);
    assert.equal(await t.app.services.wallet.balance(user.id), 0);
    const entries = await t.app.dataSource.query(
      `SELECT delta, balance_after FROM ledger_entries WHERE user_id = $1 ORDER BY id`,
      [user.id],
    );
    assert.equal(entries.length, 21, "the funding entry and one per applied key");
    assert.deepEqual(
      entries.map((e: { balance_after: string }) => Number(e.balance_after)),
      Array.from({ length: 21 }, (_, i) => 20 - i),
    );
    assert.deepEqual(await t.app.services.wallet.checkInvariants(), []);
  });

  it("a retried key returns the first result and changes nothing, even when funds ran out since", async () => {
    const { user } = await register();
    await fund(t, user.id, 5);
    const key = `retry:${randomUUID()}`;
    const first = await debit(user.id, key, -5);
    assert.equal(first.replayed, false);
    const again = await debit(user.id, key, -5);
    assert.equal(again.replayed, true);
    assert.deepEqual(again.entries, first.entries);
    assert.equal(await t.app.services.wallet.balance(user.id), 0);
  });

  it("refuses a key set that overlaps another operation's", async () => {
    const { user } = await register();
    await fund(t, user.id, 5);
    const key = `overlap:${randomUUID()}`;
    await debit(user.id, key);
    await assert.rejects(
      t.app.services.wallet.apply([
        { userId: user.id, delta: -1, reason: "play", idempotencyKey: key },
        { userId: user.id, delta: -1, reason: "play", idempotencyKey: `${key}:other` },
      ]),
      /IDEMPOTENCY_CONFLICT|idempotency keys/,
    );
    assert.equal(await t.app.services.wallet.balance(user.id), 4);
  });

  it("opposite transfers between the same wallets run concurrently without deadlock", async () => {
    const a = (await register()).user.id;
    const b = (await register()).user.id;
    await fund(t, a, 100);
    await fund(t, b, 100);
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        t.app.services.wallet.transfer({
          from: i % 2 ? a : b,
          to: i % 2 ? b : a,
          amount: 1 + (i % 3),
          refType: "test",
          refId: "swap",
          idempotencyKey: `swap:${a}:${i}`,
        }),
      ),
    );
    const total = (await t.app.services.wallet.balance(a)) + (await t.app.services.wallet.balance(b));
    assert.equal(total, 200, "tokens are moved, never created or lost");
  });

  it("rejects zero, fractional and oversized changes", async () => {
    const { user } = await register();
    for (const delta of [0, 1.5, 2_000_000_000, Number.NaN]) {
      await assert.rejects(debit(user.id, `bad:${randomUUID()}`, delta), /INVALID_AMOUNT|Amounts/);
    }
  });

  it("history pages newest first with a cursor", async () => {
    const account = await register();
    for (let i = 1; i <= 5; i++) await fund(t, account.user.id, i);
    const page = async (cursor?: string) =>
      (
        await t.fetch(`/api/payments/history?limit=2${cursor ? `&cursor=${cursor}` : ""}`, {
          headers: bearer(account.accessToken),
        })
      ).json();
    const first = await page();
    assert.deepEqual(
      first.entries.map((e: { delta: number }) => e.delta),
      [5, 4],
    );
    assert.equal(first.entries[0].balanceAfter, 15);
    const second = await page(first.nextCursor);
    assert.deepEqual(
      second.entries.map((e: { delta: number }) => e.delta),
      [3, 2],
    );
    const third = await page(second.nextCursor);
    assert.deepEqual(
      third.entries.map((e: { delta: number }) => e.delta),
      [1],
    );
    assert.equal(third.nextCursor, null);
    const bad = await t.fetch("/api/payments/history?limit=1000", { headers: bearer(account.accessToken) });
    assert.equal(bad.status, 400);
  });

  it("GET /api/tokens/balance", async () => {
    const account = await register();
    const zero = await (await t.fetch("/api/tokens/balance", { headers: bearer(account.accessToken) })).json();
    assert.deepEqual(zero, { balance: 0 });
    await fund(t, account.user.id, 42);
    const after = await (await t.fetch("/api/tokens/balance", { headers: bearer(account.accessToken) })).json();
    assert.deepEqual(after, { balance: 42 });
    assert.equal((await t.fetch("/api/tokens/balance")).status, 401);
  });
});

describe("token packs and purchases", () => {
  let t: TestApp;
  const purchase = (account: Account, pack: string, key: string = randomUUID()) =>
    t.fetch("/api/tokens/purchase", json({ pack }, { ...bearer(account.accessToken), "Idempotency-Key": key }));
  before(async () => {
    t = await testApp();
  });

  it("lists starter, plus and pro", async () => {
    const { packs } = await (await t.fetch("/api/tokens/packs")).json();
    assert.deepEqual(
      packs.map((p: { id: string }) => p.id),
      ["starter", "plus", "pro"],
    );
    for (const p of packs) assert.ok(p.tokens > 0 && p.priceCents > 0 && p.currency === "usd");
  });

  it("creates a Stripe Checkout Session with the official SDK and records the pending purchase", async () => {
    const account = await register();
    const before = t.stripe.created.length;
    const res = await purchase(account, "plus");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.match(body.checkoutSessionId, /^cs_test_/);
    assert.match(body.checkoutUrl, /^https:\/\/checkout\.stripe\.test\//);
    const sent = t.stripe.created[before];
    assert.equal(sent.mode, "payment");
    assert.equal(sent.client_reference_id, account.user.id);
    assert.equal(sent["metadata[pack]"], "plus");
    assert.equal(sent["line_items[0][price_data][unit_amount]"], "499");
    const recorded = await t.app.dataSource
      .getRepository(Purchase)
      .findOneByOrFail({ checkoutSessionId: body.checkoutSessionId });
    assert.equal(recorded.status, "pending");
    assert.equal(recorded.tokens, 550);
    assert.equal(recorded.userId, account.user.id);
  });

  it("404 for an unknown pack, 502 when Stripe fails; nothing recorded", async () => {
    const account = await register();
    const unknown = await purchase(account, "mega");
    assert.equal(unknown.status, 404);
    t.stripe.failWith = 500;
    try {
      const down = await purchase(account, "starter");
      assert.equal(down.status, 502);
      assert.equal((await down.json()).error.code, "PAYMENT_PROVIDER_ERROR");
    } finally {
      t.stripe.failWith = undefined;
    }
    assert.equal(await t.app.dataSource.getRepository(Purchase).countBy({ userId: account.user.id }), 0);
  });

  it("requires an Idempotency-Key: 400 IDEMPOTENCY_KEY_REQUIRED, no checkout created", async () => {
    const account = await register();
    const before = t.stripe.created.length;
    const res = await t.fetch("/api/tokens/purchase", json({ pack: "plus" }, bearer(account.accessToken)));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, "IDEMPOTENCY_KEY_REQUIRED");
    assert.equal(t.stripe.created.length, before);
  });

  it("a retry with the same key returns the same checkout session, created once at Stripe", async () => {
    const account = await register();
    const key = randomUUID();
    const before = t.stripe.created.length;
    const first = await (await purchase(account, "plus", key)).json();
    const again = await purchase(account, "plus", key);
    assert.equal(again.status, 200);
    assert.deepEqual(await again.json(), first);
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => purchase(account, "pro", `${key}-c`)));
    const sessions = await Promise.all(concurrent.map(async (r) => (await r.json()).checkoutSessionId));
    assert.ok(concurrent.every((r) => r.status === 200));
    assert.equal(new Set(sessions).size, 1, "concurrent retries share one session (Stripe's idempotency key)");
    assert.equal(t.stripe.created.length, before + 2);
    assert.equal(await t.app.dataSource.getRepository(Purchase).countBy({ userId: account.user.id }), 2);
    const other = await (await purchase(account, "plus")).json();
    assert.notEqual(other.checkoutSessionId, first.checkoutSessionId, "a new key is a new purchase");
  });

  it("the same key for another pack is 422 IDEMPOTENCY_KEY_REUSED", async () => {
    const account = await register();
    const key = randomUUID();
    assert.equal((await purchase(account, "starter", key)).status, 200);
    const res = await purchase(account, "pro", key);
    assert.equal(res.status, 422);
    assert.equal((await res.json()).error.code, "IDEMPOTENCY_KEY_REUSED");
    assert.equal(await t.app.dataSource.getRepository(Purchase).countBy({ userId: account.user.id }), 1);
  });

  it("keys are per user: another user's key creates their own checkout", async () => {
    const [a, b] = [await register(), await register()];
    const key = randomUUID();
    const first = await (await purchase(a, "starter", key)).json();
    const second = await (await purchase(b, "starter", key)).json();
    assert.notEqual(first.checkoutSessionId, second.checkoutSessionId);
  });

  it("without STRIPE_SECRET_KEY, purchases and webhooks answer 503 BILLING_NOT_CONFIGURED", async () => {
    const payments = new PaymentsService(t.app.dataSource, t.app.services.wallet, {
      successUrl: "http://x.test/s",
      cancelUrl: "http://x.test/c",
    });
    await assert.rejects(
      payments.purchase(randomUUID(), "starter", randomUUID()),
      (e: { status: number; code: string }) => {
        assert.equal(e.status, 503);
        assert.equal(e.code, "BILLING_NOT_CONFIGURED");
        return true;
      },
    );
    assert.throws(() => payments.verifyWebhook(Buffer.from("{}"), "t=1,v1=x"), /not configured/);
  });
});
