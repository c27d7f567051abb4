import assert from "node:assert/strict";
import { DomainLog } from "../../src/services/domain-log";
import { eventually, FaultCluster, get, killHard, post, say, sleep } from "../helpers/fault-cluster";
import { type FakeAccount, type FakeStarknet, startFakeStarknet } from "../helpers/fake-starknet";
import { finishedRound, walletSignature } from "../helpers/starknet";

/** Ports of this suite's private services (none shared with the other fault suites). */
const PORTS = { postgres: 48301, redis: 48302, servers: [48310, 48311] as [number, number] };

interface MintRow {
  status: string;
  tx_hash: string | null;
  nonce: string | null;
}

/**
 * kill -9 of the server processes while the mint worker's `starknet_addInvokeTransaction` is
 * under way (the double holds its answer), on a private PostgreSQL (48301) and Redis (48302).
 * After a restart, every award is minted exactly once: the recorded hash is looked for first,
 * the same signed payload is resent when the node never got it, and a transaction whose nonce
 * was used by something else is prepared anew.
 */
describe("fault: kill -9 between sending a mint and recording the answer", function () {
  this.timeout(300_000);
  let cluster: FaultCluster;
  let chain: FakeStarknet;

  before(async function () {
    this.timeout(240_000);
    chain = await startFakeStarknet();
    cluster = await FaultCluster.start(PORTS, {
      STARKNET_RPC_URL: chain.url,
      STARKNET_ACCOUNT_ADDRESS: chain.server.address,
      STARKNET_PRIVATE_KEY: chain.server.keys[0].privateKey,
      STARKNET_BADGE_CONTRACT: chain.badgeContract,
      // Long enough that the worker is still waiting for the held answer when it is killed.
      STARKNET_RPC_TIMEOUT_MS: "2000",
      STARKNET_POLL_MS: "100",
      STARKNET_RETRY_BASE_MS: "100",
    });
  });

  after(async () => {
    await cluster?.stop();
    await chain?.close();
  });

  afterEach(async function () {
    chain.release();
    if (this.currentTest?.state === "failed") {
      for (const s of cluster.servers) say(`last output of ${s.port}:\n${s.output().slice(-2500)}`);
    }
  });

  /** A wallet signs in through server 0 (a new wallet-only account). */
  async function linkedPlayer(): Promise<{ userId: string; wallet: FakeAccount }> {
    const wallet = chain.addAccount("plain");
    const [server] = cluster.servers;
    const c = await (await post(server, "/api/auth/starknet/challenge", { address: wallet.address })).json();
    const res = await post(server, "/api/auth/starknet/verify", {
      address: wallet.address,
      signature: walletSignature(wallet, c.typedData),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return { userId: (await res.json()).user.id, wallet };
  }

  /** A finished round recorded for the servers' `badges` consumer: it awards `first-round`. */
  async function playRound(userId: string) {
    const recorder = new DomainLog(cluster.db);
    recorder.register("badges", async () => assert.fail("the recorder dispatches nothing"));
    await cluster.db.transaction((m) => recorder.record(m, "round_finished", finishedRound(userId), { userId }));
  }

  const mintRow = async (userId: string): Promise<MintRow | undefined> =>
    (
      await cluster.db.query(`SELECT status, tx_hash, nonce::text AS nonce FROM starknet_mints WHERE user_id = $1`, [
        userId,
      ])
    )[0];
  const sendsSoFar = () => chain.calls.filter((c) => c.method === "starknet_addInvokeTransaction").length;

  /** Holds the node's answer to the next send, kills both processes while it is held, restarts them. */
  async function killDuringSend(userId: string, executed: boolean, meanwhile?: () => void) {
    const sends = sendsSoFar();
    chain.hang("starknet_addInvokeTransaction", { afterExecute: executed });
    await playRound(userId);
    await eventually(async () => assert.ok(sendsSoFar() > sends), 60_000, "the mint sent");
    const recorded = await mintRow(userId);
    await Promise.all(cluster.servers.map((s) => killHard(s)));
    say(
      `both processes killed while the node held its answer (executed: ${executed}); row ${JSON.stringify(recorded)}`,
    );
    assert.ok(recorded?.tx_hash, "the transaction was recorded before it was sent");
    assert.equal(recorded.status, "pending", "…and its sending was never recorded");
    chain.release();
    meanwhile?.();
    await sleep(200);
    await cluster.respawn(0);
    await cluster.respawn(1);
    return recorded;
  }

  const settled = (userId: string) =>
    eventually(
      async () => assert.ok(["accepted", "failed"].includes((await mintRow(userId))?.status ?? "")),
      90_000,
      "the mint settled",
    );

  it("executed before the kill: the recorded hash is found after the restart, nothing is sent again", async () => {
    const { userId, wallet } = await linkedPlayer();
    const recorded = await killDuringSend(userId, true);
    const ms = await settled(userId);
    const row = (await mintRow(userId))!;
    say(`settled ${ms} ms after the restart: ${row.status}`);
    assert.equal(row.status, "accepted");
    assert.equal(row.tx_hash, recorded.tx_hash);
    assert.deepEqual(
      chain.mints.filter((m) => m.to === wallet.address).map((m) => m.txHash),
      [recorded.tx_hash],
      "exactly one mint",
    );
    const badges = await (await get(cluster.servers[1], `/api/users/${userId}/badges`)).json();
    assert.deepEqual(badges.badges[0].onChain, { status: "accepted", txHash: recorded.tx_hash });
  });

  it("never reached the node: the same signed transaction is sent again, one mint", async () => {
    const { userId, wallet } = await linkedPlayer();
    const recorded = await killDuringSend(userId, false);
    await settled(userId);
    const row = (await mintRow(userId))!;
    assert.equal(row.status, "accepted");
    assert.equal(row.tx_hash, recorded.tx_hash, "the same hash: the same payload");
    assert.equal(chain.mints.filter((m) => m.to === wallet.address).length, 1);
  });

  it("its nonce used by another transaction meanwhile: prepared anew with the next nonce, one mint", async () => {
    const { userId, wallet } = await linkedPlayer();
    // Someone else's transaction takes the nonce while no process runs.
    const recorded = await killDuringSend(userId, false, () => void (chain.server.nonce += 1n));
    await settled(userId);
    const row = (await mintRow(userId))!;
    assert.equal(row.status, "accepted");
    assert.notEqual(row.tx_hash, recorded.tx_hash);
    assert.equal(BigInt(row.nonce!), BigInt(recorded.nonce!) + 1n);
    assert.equal(chain.mints.filter((m) => m.to === wallet.address).length, 1);
    assert.deepEqual(chain.unknownMethods, []);
    await cluster.assertAllAlive();
  });
});
