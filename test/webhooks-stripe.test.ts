import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Purchase, StripeEvent } from "../src/entities";
import { testApp, type TestApp } from "./helpers/app";
import { bearer, json, register } from "./helpers/users";
import { checkoutEvent, deliver } from "./helpers/wallet";

describe("Stripe webhook", () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });

  /** A user with a pending purchase of `pack`. */
  async function pendingPurchase(pack = "starter") {
    const account = await register();
    const res = await t.fetch(
      "/api/tokens/purchase",
      json({ pack }, { ...bearer(account.accessToken), "Idempotency-Key": randomUUID() }),
    );
    const { checkoutSessionId } = await res.json();
    return { account, sessionId: checkoutSessionId as string };
  }
  const balance = (userId: string) => t.app.services.wallet.balance(userId);
  const paid = (sessionId: string, extra: Record<string, unknown> = {}) =>
    checkoutEvent("checkout.session.completed", { id: sessionId, payment_status: "paid", ...extra });

  it("a paid checkout credits the recorded pack", async () => {
    const { account, sessionId } = await pendingPurchase("starter");
    const res = await deliver(t, paid(sessionId));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { received: true, outcome: "credited" });
    assert.equal(await balance(account.user.id), 100);
    const purchase = await t.app.dataSource.getRepository(Purchase).findOneByOrFail({ checkoutSessionId: sessionId });
    assert.equal(purchase.status, "paid");
    const history = await (await t.fetch("/api/payments/history", { headers: bearer(account.accessToken) })).json();
    assert.equal(history.entries[0].reason, "purchase");
    assert.equal(history.entries[0].refId, purchase.id);
  });

  it("20 concurrent deliveries of the same event credit once", async () => {
    const { account, sessionId } = await pendingPurchase("plus");
    const event = paid(sessionId);
    const responses = await Promise.all(Array.from({ length: 20 }, () => deliver(t, event)));
    assert.ok(responses.every((r) => r.status === 200));
    const outcomes = await Promise.all(responses.map(async (r) => (await r.json()).outcome));
    assert.equal(outcomes.filter((o) => o === "credited").length, 1);
    assert.equal(outcomes.filter((o) => o === "duplicate").length, 19);
    assert.equal(await balance(account.user.id), 550);
    assert.equal(await t.app.dataSource.getRepository(StripeEvent).countBy({ eventId: event.id }), 1);
  });

  it("a second event for the same paid session (async_payment_succeeded) credits nothing more", async () => {
    const { account, sessionId } = await pendingPurchase();
    await deliver(t, paid(sessionId));
    const res = await deliver(t, checkoutEvent("checkout.session.async_payment_succeeded", { id: sessionId }));
    assert.equal((await res.json()).outcome, "duplicate");
    assert.equal(await balance(account.user.id), 100);
  });

  it("credits what was recorded at purchase, never amounts or packs from the event", async () => {
    const { account, sessionId } = await pendingPurchase("starter");
    await deliver(t, paid(sessionId, { amount_total: 999999, metadata: { pack: "pro", tokens: "100000" } }));
    assert.equal(await balance(account.user.id), 100);
  });

  it("an unpaid completion waits for async_payment_succeeded", async () => {
    const { account, sessionId } = await pendingPurchase();
    const unpaid = await deliver(
      t,
      checkoutEvent("checkout.session.completed", { id: sessionId, payment_status: "unpaid" }),
    );
    assert.equal((await unpaid.json()).outcome, "ignored");
    assert.equal(await balance(account.user.id), 0);
    await deliver(
      t,
      checkoutEvent("checkout.session.async_payment_succeeded", { id: sessionId, payment_status: "paid" }),
    );
    assert.equal(await balance(account.user.id), 100);
  });

  it("a forged, missing or stale signature is a 400 and changes nothing", async () => {
    const { account, sessionId } = await pendingPurchase();
    const event = paid(sessionId);
    const forged = await deliver(t, event, { secret: "whsec_not_ours" });
    assert.equal(forged.status, 400);
    assert.equal((await forged.json()).error.code, "INVALID_SIGNATURE");
    const stale = await deliver(t, event, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    assert.equal(stale.status, 400);
    const garbage = await deliver(t, event, { signature: "t=1,v1=deadbeef" });
    assert.equal(garbage.status, 400);
    const missing = await t.fetch("/api/webhooks/stripe", { method: "POST", body: JSON.stringify(event) });
    assert.equal(missing.status, 400);
    assert.equal(await balance(account.user.id), 0);
    assert.equal(await t.app.dataSource.getRepository(StripeEvent).countBy({ eventId: event.id }), 0);
    assert.equal((await deliver(t, event)).status, 200, "the genuine delivery still works afterwards");
    assert.equal(await balance(account.user.id), 100);
  });

  it("other event types, and closing events of unknown sessions, are acknowledged and change nothing", async () => {
    const expired = await deliver(t, checkoutEvent("checkout.session.expired", { id: "cs_test_unknown_expired" }));
    assert.equal(expired.status, 200);
    assert.equal((await expired.json()).outcome, "ignored");
    const other = await deliver(t, {
      ...checkoutEvent("customer.created", { id: "cus_1" }),
      data: { object: { id: "cus_1" } },
    });
    assert.equal(other.status, 200);
    assert.equal((await other.json()).outcome, "ignored");
  });

  it("a paid event that arrives before its purchase row is kept, then credited once when the row is written", async () => {
    const account = await register();
    let early: { status: number; outcome: string; again: string } | undefined;
    const event = { id: "" } as ReturnType<typeof paid>;
    // Stripe has created the session, our INSERT has not run yet: the webhook arrives now.
    t.stripe.beforeAnswer = async (session) => {
      Object.assign(event, paid(session.id));
      const res = await deliver(t, event);
      const redelivered = await deliver(t, event);
      early = { status: res.status, outcome: (await res.json()).outcome, again: (await redelivered.json()).outcome };
    };
    let sessionId: string;
    try {
      const res = await t.fetch(
        "/api/tokens/purchase",
        json({ pack: "plus" }, { ...bearer(account.accessToken), "Idempotency-Key": randomUUID() }),
      );
      assert.equal(res.status, 200);
      sessionId = (await res.json()).checkoutSessionId;
    } finally {
      t.stripe.beforeAnswer = undefined;
    }
    assert.deepEqual(early, { status: 200, outcome: "deferred", again: "deferred" });
    assert.equal(await balance(account.user.id), 550, "credited when the purchase was recorded");
    const purchase = await t.app.dataSource.getRepository(Purchase).findOneByOrFail({ checkoutSessionId: sessionId });
    assert.equal(purchase.status, "paid");
    assert.equal((await (await deliver(t, event)).json()).outcome, "duplicate");
    assert.equal(await balance(account.user.id), 550);
  });

  it("money received after an expiry is credited (a delayed payment method can succeed late)", async () => {
    for (const late of ["checkout.session.async_payment_succeeded", "checkout.session.completed"]) {
      const { account, sessionId } = await pendingPurchase("starter");
      await deliver(t, checkoutEvent("checkout.session.expired", { id: sessionId }));
      const repo = t.app.dataSource.getRepository(Purchase);
      assert.equal((await repo.findOneByOrFail({ checkoutSessionId: sessionId })).status, "expired");
      const res = await deliver(t, checkoutEvent(late, { id: sessionId, payment_status: "paid" }));
      assert.equal((await res.json()).outcome, "credited", late);
      assert.equal(await balance(account.user.id), 100, late);
      assert.equal((await repo.findOneByOrFail({ checkoutSessionId: sessionId })).status, "paid");
    }
  });

  it("a validly signed event without data.object or its id is a 400 and changes nothing", async () => {
    const noObject = await deliver(t, { ...checkoutEvent("checkout.session.completed", {}), data: {} });
    assert.equal(noObject.status, 400);
    assert.equal((await noObject.json()).error.code, "INVALID_EVENT");
    const noData = await deliver(t, { id: "evt_no_data", object: "event", type: "checkout.session.completed" });
    assert.equal(noData.status, 400);
    const noId = await deliver(t, checkoutEvent("checkout.session.completed", { payment_status: "paid" }));
    assert.equal(noId.status, 400);
    const body = await noId.json();
    assert.equal(body.error.code, "INVALID_EVENT");
    assert.ok(body.error.requestId);
  });

  it("expiry after completion cannot undo the credit; expiry of a pending purchase closes it", async () => {
    const { account, sessionId } = await pendingPurchase();
    await deliver(t, paid(sessionId));
    const late = await deliver(t, checkoutEvent("checkout.session.expired", { id: sessionId }));
    assert.equal(late.status, 200);
    assert.equal(await balance(account.user.id), 100);
    const repo = t.app.dataSource.getRepository(Purchase);
    assert.equal((await repo.findOneByOrFail({ checkoutSessionId: sessionId })).status, "paid");

    const other = await pendingPurchase();
    await deliver(t, checkoutEvent("checkout.session.expired", { id: other.sessionId }));
    assert.equal((await repo.findOneByOrFail({ checkoutSessionId: other.sessionId })).status, "expired");
    assert.equal(await balance(other.account.user.id), 0);
  });

  it("counts credits and duplicates in /metrics", async () => {
    const text = await (await t.fetch("/metrics")).text();
    assert.match(text, /payments_credits_total\{pack="starter"\} [1-9]/);
    assert.match(text, /payments_webhook_duplicates_total [1-9]/);
    assert.match(text, /payments_checkouts_created_total\{pack="plus"\} [1-9]/);
  });
});
