import assert from "node:assert/strict";
import { Stream } from "../src/entities";
import { testApp, type TestApp } from "./helpers/app";
import { type Account, bearer, json, register } from "./helpers/users";
import { fund } from "./helpers/wallet";

describe("tips", () => {
  let t: TestApp;
  let alice: Account;
  let bob: Account;
  beforeEach(async () => {
    t = await testApp();
    alice = await register(undefined, { displayName: "Alice" });
    bob = await register(undefined, { displayName: "Bob" });
    await fund(t, alice.user.id, 50);
  });
  const tip = (from: Account, body: unknown, headers: Record<string, string> = {}) =>
    t.fetch("/api/payments/tip", json(body, { ...bearer(from.accessToken), ...headers }));
  const balance = (a: Account) => t.app.services.wallet.balance(a.user.id);

  it("moves tokens between users, writing one entry on each side", async () => {
    const res = await tip(alice, { toUserId: bob.user.id, amount: 15, message: "gg" });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.balance, 35);
    assert.equal(body.toUserId, bob.user.id);
    assert.equal(await balance(alice), 35);
    assert.equal(await balance(bob), 15);
    const bobHistory = await (await t.fetch("/api/payments/history", { headers: bearer(bob.accessToken) })).json();
    assert.equal(bobHistory.entries[0].reason, "tip_received");
    assert.equal(bobHistory.entries[0].delta, 15);
  });

  it("refuses bad amounts, self-tips and bad targets with a 400, changing nothing", async () => {
    const cases: unknown[] = [
      { toUserId: bob.user.id, amount: -5 },
      { toUserId: bob.user.id, amount: 0 },
      { toUserId: bob.user.id, amount: 1.5 },
      { toUserId: bob.user.id, amount: "10" },
      { toUserId: bob.user.id, amount: 1e12 },
      { toUserId: bob.user.id, amount: Number.MAX_SAFE_INTEGER + 2 },
      { toUserId: alice.user.id, amount: 5 },
      { amount: 5 },
      { toUserId: bob.user.id, streamId: bob.user.id, amount: 5 },
      { toUserId: "not-a-uuid", amount: 5 },
      { toUserId: bob.user.id, amount: 5, message: "x".repeat(201) },
    ];
    for (const body of cases) {
      const res = await tip(alice, body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.equal(await balance(alice), 50);
    assert.equal(await balance(bob), 0);
  });

  it("402 when short, 404 for an unknown user", async () => {
    const short = await tip(alice, { toUserId: bob.user.id, amount: 51 });
    assert.equal(short.status, 402);
    assert.equal((await short.json()).error.code, "INSUFFICIENT_FUNDS");
    const unknown = await tip(alice, { toUserId: "00000000-0000-4000-8000-000000000000", amount: 1 });
    assert.equal(unknown.status, 404);
    assert.equal(await balance(alice), 50);
  });

  it("an Idempotency-Key makes a retried tip return the first result", async () => {
    const headers = { "Idempotency-Key": `tip-retry-${Date.now()}` };
    const first = await (await tip(alice, { toUserId: bob.user.id, amount: 10 }, headers)).json();
    const again = await (await tip(alice, { toUserId: bob.user.id, amount: 10 }, headers)).json();
    assert.equal(first.replayed, false);
    assert.equal(again.replayed, true);
    assert.equal(again.balance, first.balance);
    assert.equal(await balance(alice), 40);
    assert.equal(
      (await tip(alice, { toUserId: bob.user.id, amount: 1 }, { "Idempotency-Key": "bad key!" })).status,
      400,
    );
  });

  it("a tip to a live stream pays its owner and raises the stream event on presence", async () => {
    const stream = await t.app.dataSource.getRepository(Stream).save({ ownerId: bob.user.id, title: "Speedrun" });
    const received: unknown[] = [];
    const unsubscribe = await t.app.services.events.subscribe("stream.tip", stream.id, (e) => received.push(e));
    try {
      const res = await tip(alice, { streamId: stream.id, amount: 7, message: "  nice \u0000run " });
      assert.equal(res.status, 200);
      assert.equal(await balance(bob), 7);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(received, [
        { streamId: stream.id, fromUserId: alice.user.id, fromDisplayName: "Alice", amount: 7, message: "nice run" },
      ]);
    } finally {
      unsubscribe();
    }
    await t.app.dataSource.getRepository(Stream).update({ id: stream.id }, { status: "ended" });
    const ended = await tip(alice, { streamId: stream.id, amount: 1 });
    assert.equal(ended.status, 409);
    const ownStream = await tip(bob, { streamId: stream.id, amount: 1 });
    assert.equal(ownStream.status, 409);
  });

  it("counts tips in /metrics", async () => {
    await tip(alice, { toUserId: bob.user.id, amount: 1 });
    assert.match(await (await t.fetch("/metrics")).text(), /wallet_tips_total\{target="user"\} [1-9]/);
  });
});
