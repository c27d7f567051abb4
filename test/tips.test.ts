import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
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
  /** A tip with a fresh Idempotency-Key unless `headers` gives one. */
  const tip = (from: Account, body: unknown, headers: Record<string, string> = { "Idempotency-Key": randomUUID() }) =>
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

  it("requires an Idempotency-Key, and refuses a malformed one, moving nothing", async () => {
    const missing = await tip(alice, { toUserId: bob.user.id, amount: 1 }, {});
    assert.equal(missing.status, 400);
    assert.equal((await missing.json()).error.code, "IDEMPOTENCY_KEY_REQUIRED");
    const bad = await tip(alice, { toUserId: bob.user.id, amount: 1 }, { "Idempotency-Key": "bad key!" });
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error.code, "INVALID_IDEMPOTENCY_KEY");
    assert.equal(await balance(alice), 50);
  });

  it("a retry with the same key and body returns the first result and moves nothing more", async () => {
    const headers = { "Idempotency-Key": randomUUID() };
    const first = await (await tip(alice, { toUserId: bob.user.id, amount: 10 }, headers)).json();
    const again = await tip(alice, { toUserId: bob.user.id, amount: 10 }, headers);
    assert.equal(again.status, 200);
    const replay = await again.json();
    assert.equal(first.replayed, false);
    assert.equal(replay.replayed, true);
    assert.equal(replay.tipId, first.tipId);
    assert.equal(replay.balance, first.balance);
    assert.equal(await balance(alice), 40);
    assert.equal(await balance(bob), 10);
  });

  it("a retry of a tip whose answer was lost (e.g. a 500 during an outage) is answered, not repeated", async () => {
    const key = randomUUID();
    // The tip went through, but the client never saw the answer.
    await t.app.services.tips.tip(alice.user.id, { toUserId: bob.user.id, amount: 7 }, key);
    const retry = await tip(alice, { toUserId: bob.user.id, amount: 7 }, { "Idempotency-Key": key });
    assert.equal(retry.status, 200);
    assert.deepEqual(await retry.json(), { tipId: key, amount: 7, toUserId: bob.user.id, balance: 43, replayed: true });
    assert.equal(await balance(alice), 43);
  });

  it("the same key with another amount or recipient is 422 and moves nothing", async () => {
    const carol = await register(undefined, { displayName: "Carol" });
    const headers = { "Idempotency-Key": randomUUID() };
    assert.equal((await tip(alice, { toUserId: bob.user.id, amount: 5 }, headers)).status, 200);
    for (const body of [
      { toUserId: bob.user.id, amount: 6 },
      { toUserId: carol.user.id, amount: 5 },
    ]) {
      const res = await tip(alice, body, headers);
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal((await res.json()).error.code, "IDEMPOTENCY_KEY_REUSED");
    }
    assert.equal(await balance(alice), 45);
    assert.equal(await balance(carol), 0);
  });

  it("20 concurrent requests with one key move the tokens once", async () => {
    const headers = { "Idempotency-Key": randomUUID() };
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => tip(alice, { toUserId: bob.user.id, amount: 3 }, headers)),
    );
    const bodies = await Promise.all(responses.map((r) => r.json()));
    const failed = bodies.filter((b) => b.error).map((b) => b.error.requestId as string);
    assert.deepEqual(
      failed.length ? t.logs.filter((line) => failed.some((id) => line.includes(id))) : [],
      [],
      "the server's log lines for the failed requests",
    );
    assert.equal(bodies.filter((b) => !b.replayed).length, 1);
    assert.equal(await balance(alice), 47);
  });

  it("a tip to a live stream pays its owner and raises the stream event on presence", async () => {
    const stream = await t.app.dataSource.getRepository(Stream).save({ ownerId: bob.user.id, title: "Speedrun" });
    const key = randomUUID();
    const received: unknown[] = [];
    const unsubscribe = await t.app.services.events.subscribe("stream.tip", stream.id, (e) => received.push(e));
    try {
      const res = await tip(
        alice,
        { streamId: stream.id, amount: 7, message: "  nice \u0000run " },
        { "Idempotency-Key": key },
      );
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
    const retried = await tip(
      alice,
      { streamId: stream.id, amount: 7, message: "nice run" },
      { "Idempotency-Key": key },
    );
    assert.equal(retried.status, 200, "a retry of a tip made while live still gets its answer");
    assert.equal((await retried.json()).replayed, true);
    const ownStream = await tip(bob, { streamId: stream.id, amount: 1 });
    assert.equal(ownStream.status, 409);
  });

  it("counts tips in /metrics", async () => {
    await tip(alice, { toUserId: bob.user.id, amount: 1 });
    assert.match(await (await t.fetch("/metrics")).text(), /wallet_tips_total\{target="user"\} [1-9]/);
  });
});
