import assert from "node:assert/strict";
import { shortString } from "starknet";
import { type TestApp, testApp } from "./helpers/app";
import type { FakeAccount } from "./helpers/fake-starknet";
import { finishedRound, walletSignIn } from "./helpers/starknet";
import { register } from "./helpers/users";

interface MintRow {
  status: string;
  tx_hash: string | null;
  nonce: string | null;
  attempts: number;
  last_error: string | null;
}

describe("StarkNet badge minting (outbox and worker, against the JSON-RPC double)", () => {
  let t: TestApp;
  const FIRST_ROUND = shortString.encodeShortString("first-round");

  before(async () => {
    t = await testApp();
  });

  afterEach(() => {
    t.starknet.release();
    t.starknet.delayInclusion = 0;
    t.starknet.includeOnNonceRead = false;
    t.starknet.revertNext(0);
  });

  /** A wallet-only account (signed in with a fresh plain wallet). */
  async function linkedPlayer(): Promise<{ userId: string; wallet: FakeAccount }> {
    const wallet = t.starknet.addAccount("plain");
    const res = await walletSignIn(t, wallet);
    assert.equal(res.status, 200);
    return { userId: res.body.user.id, wallet };
  }

  /** A finished round: the `first-round` badge is awarded by the badges consumer. */
  async function playRound(userId: string) {
    await t.app.dataSource.transaction((m) =>
      t.app.services.domainLog.record(m, "round_finished", finishedRound(userId), { userId }),
    );
  }

  async function mintRow(userId: string): Promise<MintRow | undefined> {
    const [row] = await t.app.dataSource.query(
      `SELECT status, tx_hash, nonce::text AS nonce, attempts, last_error FROM starknet_mints WHERE user_id = $1`,
      [userId],
    );
    return row;
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  const settled = (userId: string) =>
    until("the mint to settle", async () => {
      const row = await mintRow(userId);
      return row && (row.status === "accepted" || row.status === "failed") ? row : undefined;
    });

  const mintsTo = (wallet: FakeAccount) => t.starknet.mints.filter((m) => m.to === wallet.address);

  async function earned(userId: string) {
    const res = await t.fetch(`/api/users/${userId}/badges`);
    assert.equal(res.status, 200);
    return (await res.json()).badges as Array<{ badgeId: string; onChain: { status: string; txHash: string } | null }>;
  }

  it("mints an award of a linked user exactly once; status and tx hash on the user's badges", async () => {
    const { userId, wallet } = await linkedPlayer();
    await playRound(userId);
    const row = await settled(userId);
    assert.equal(row.status, "accepted", row.last_error ?? "");
    assert.equal(mintsTo(wallet).length, 1);
    const [mint] = mintsTo(wallet);
    assert.equal(mint.badgeId, FIRST_ROUND, "badge_id: the badge id as a short string");
    assert.equal(mint.txHash, row.tx_hash, "the hash we computed is the one the node computed");
    const [badge] = await earned(userId);
    assert.deepEqual(badge.onChain, { status: "accepted", txHash: row.tx_hash });
    // Another round: the badge is earned once, so nothing more is minted.
    await playRound(userId);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(mintsTo(wallet).length, 1);
    assert.deepEqual(t.starknet.unknownMethods, []);
    const metrics = await (await t.fetch("/metrics")).text();
    assert.match(metrics, /^starknet_mints_total\{outcome="accepted"\} [1-9]/m);
    assert.match(metrics, /^starknet_signins_total\{outcome="signed_in"\} [1-9]/m);
    assert.match(metrics, /^starknet_mints_pending \d+/m);
  });

  it("mints nothing for a user without a wallet, and the awards a wallet had before it was linked", async () => {
    const player = await register(t);
    await playRound(player.user.id);
    await until("the award", async () => (await earned(player.user.id)).length === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await mintRow(player.user.id), undefined);
    assert.equal((await earned(player.user.id))[0].onChain, null);

    const wallet = t.starknet.addAccount("multisig");
    assert.equal((await walletSignIn(t, wallet, player.accessToken)).status, 200);
    assert.equal((await settled(player.user.id)).status, "accepted");
    assert.equal(mintsTo(wallet).length, 1);
  });

  it("retries transient RPC failures with backoff: one mint", async () => {
    const { userId, wallet } = await linkedPlayer();
    t.starknet.failNext("starknet_addInvokeTransaction", 2);
    t.starknet.failNext("starknet_getNonce", 1, { code: -32603, message: "Internal error" });
    await playRound(userId);
    const row = await settled(userId);
    assert.equal(row.status, "accepted");
    assert.equal(mintsTo(wallet).length, 1);
    const sends = t.starknet.calls.filter(
      (c) =>
        c.method === "starknet_addInvokeTransaction" &&
        BigInt(c.params.invoke_transaction.nonce) === BigInt(row.nonce!),
    );
    assert.ok(sends.length >= 3, "sent again after each failure");
    // Stark signatures are deterministic (RFC 6979): one signature, one signed transaction.
    const signatures = new Set(sends.map((s) => s.params.invoke_transaction.signature.join()));
    assert.equal(signatures.size, 1, "the same signed payload each time");
  });

  it("a reverted mint is failed (the node's reason kept), and the next award is minted after it", async () => {
    const { userId, wallet } = await linkedPlayer();
    t.starknet.revertNext(1);
    await playRound(userId);
    const row = await settled(userId);
    assert.equal(row.status, "failed");
    assert.match(row.last_error ?? "", /mint refused/);
    assert.equal(mintsTo(wallet).length, 0);
    assert.equal((await earned(userId))[0].onChain?.status, "failed");

    const next = await linkedPlayer();
    await playRound(next.userId);
    assert.equal((await settled(next.userId)).status, "accepted");
    assert.equal(mintsTo(next.wallet).length, 1);
  });

  it("a node that hangs: the send times out and the same transaction is sent again, one mint", async () => {
    const { userId, wallet } = await linkedPlayer();
    t.starknet.hang("starknet_addInvokeTransaction");
    await playRound(userId);
    await until("a send to time out", async () => ((await mintRow(userId))?.attempts ?? 0) > 0);
    assert.equal(mintsTo(wallet).length, 0);
    t.starknet.release();
    assert.equal((await settled(userId)).status, "accepted");
    assert.equal(mintsTo(wallet).length, 1);
  });

  it("a node that executes and then hangs: the recorded hash is found, nothing is sent twice", async () => {
    const { userId, wallet } = await linkedPlayer();
    t.starknet.hang("starknet_addInvokeTransaction", { afterExecute: true });
    await playRound(userId);
    const row = await settled(userId);
    assert.equal(row.status, "accepted");
    assert.equal(mintsTo(wallet).length, 1);
  });

  it("a node that lags (not found for a while, then found): resent, refused as a duplicate, one mint", async () => {
    const { userId, wallet } = await linkedPlayer();
    t.starknet.delayInclusion = 3;
    await playRound(userId);
    const row = await settled(userId);
    assert.equal(row.status, "accepted");
    assert.equal(mintsTo(wallet).length, 1);
  });

  it("a block lands between the status and the nonce reads: found on a second look, not prepared again", async () => {
    const { userId, wallet } = await linkedPlayer();
    t.starknet.delayInclusion = 5;
    t.starknet.includeOnNonceRead = true;
    await playRound(userId);
    const row = await settled(userId);
    assert.equal(row.status, "accepted");
    assert.equal(mintsTo(wallet).length, 1);
  });

  it("several awards at once: each minted once, the server account's nonces in order", async () => {
    const players = await Promise.all([linkedPlayer(), linkedPlayer(), linkedPlayer()]);
    const before = t.starknet.server.nonce;
    await Promise.all(players.map((p) => playRound(p.userId)));
    for (const p of players) assert.equal((await settled(p.userId)).status, "accepted");
    for (const p of players) assert.equal(mintsTo(p.wallet).length, 1);
    assert.equal(t.starknet.server.nonce, before + 3n);
  });
});
