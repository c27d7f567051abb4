import assert from "node:assert/strict";
import { type TypedData } from "starknet";
import { ConfigError, loadConfig } from "../src/config";
import { AppError } from "../src/services/errors";
import { StarknetService } from "../src/services/starknet";
import { normalizeAddress } from "../src/services/starknet-message";
import { StarknetRpc } from "../src/services/starknet-rpc";
import { StarknetSignIn } from "../src/services/starknet-signin";
import { type TestApp, testApp } from "./helpers/app";
import type { FakeAccount } from "./helpers/fake-starknet";
import { challenge, verify, walletSignature, walletSignIn } from "./helpers/starknet";
import { bearer, register } from "./helpers/users";

describe("StarkNet wallet sign-in (SNIP-12, SNIP-6)", () => {
  let t: TestApp;
  let plain: FakeAccount;

  before(async () => {
    t = await testApp();
    plain = t.starknet.addAccount("plain");
  });

  const walletOwner = async (address: string) =>
    (await t.app.dataSource.query(`SELECT user_id FROM starknet_wallets WHERE address = $1`, [address]))[0]?.user_id;

  it("hands out SNIP-12 revision 1 typed data with the node's chain id and a single-use nonce", async () => {
    const before = Date.now();
    const c = await challenge(t, plain.address.replace(/^0x0+/, "0x").toUpperCase().replace("0X", "0x"));
    const d = c.typedData;
    assert.deepEqual(d.domain, { name: "Arcadia", version: "1", chainId: "SN_SEPOLIA", revision: "1" });
    assert.equal(d.primaryType, "SignIn");
    assert.deepEqual(
      d.types.SignIn.map((f) => `${f.name}:${f.type}`),
      ["address:ContractAddress", "nonce:felt", "issuedAt:timestamp", "expiresAt:timestamp"],
    );
    assert.equal(d.types.StarknetDomain.length, 4);
    const message = d.message as Record<string, string | number>;
    assert.equal(message.address, plain.address, "the address, normalised: 0x and 64 lowercase hex digits");
    assert.equal(message.nonce, c.nonce);
    assert.match(c.nonce, /^0x[0-9a-f]{62}$/, "248 random bits");
    assert.equal(Number(message.expiresAt) - Number(message.issuedAt), 300, "five minutes");
    assert.ok(Date.parse(c.expiresAt) >= before + 299_000);
    assert.ok(t.starknet.calls.some((call) => call.method === "starknet_chainId"));
    const asked = t.starknet.calls.length;
    const second = await challenge(t, plain.address);
    assert.notEqual(second.nonce, c.nonce);
    // The chain id is asked once per process (cached), not for each challenge.
    assert.ok(t.starknet.calls.slice(asked).every((call) => call.method !== "starknet_chainId"));
  });

  it("refuses what is not an address (400)", async () => {
    for (const address of ["0x0", "hello", `0x${"f".repeat(64)}`, "0x" + "1".repeat(65)]) {
      const res = await t.fetch("/api/auth/starknet/challenge", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ address }),
      });
      assert.equal(res.status, 400, address);
    }
  });

  it("signs a new wallet in as a new account, then the same account again", async () => {
    const wallet = t.starknet.addAccount("plain");
    const first = await walletSignIn(t, wallet);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.ok(first.body.accessToken && first.body.refreshToken && first.body.expiresIn);
    assert.equal(first.body.user.isGuest, false);
    assert.equal(first.body.user.email, undefined);
    assert.equal(first.body.user.emailVerified, false, "a wallet does not verify the account (README)");
    const again = await walletSignIn(t, wallet);
    assert.equal(again.status, 200);
    assert.equal(again.body.user.id, first.body.user.id);
    assert.equal(await walletOwner(wallet.address), first.body.user.id);
    const me = await t.fetch("/api/auth/me", { headers: bearer(again.body.accessToken) });
    assert.equal(me.status, 200);
  });

  it("links the wallet to the bearer's account; one wallet per account and one account per wallet", async () => {
    const owner = await register(t);
    const wallet = t.starknet.addAccount("plain");
    const linked = await walletSignIn(t, wallet, owner.accessToken);
    assert.equal(linked.status, 200, JSON.stringify(linked.body));
    assert.equal(linked.body.user.id, owner.user.id);
    // Signing in with the wallet alone now reaches the same account.
    assert.equal((await walletSignIn(t, wallet)).body.user.id, owner.user.id);

    const other = await register(t);
    const taken = await walletSignIn(t, wallet, other.accessToken);
    assert.equal(taken.status, 409);
    assert.equal(taken.body.error.code, "WALLET_ALREADY_LINKED");
    const second = await walletSignIn(t, t.starknet.addAccount("plain"), owner.accessToken);
    assert.equal(second.status, 409);
    assert.equal(second.body.error.code, "ACCOUNT_HAS_WALLET");
    assert.equal(await walletOwner(wallet.address), owner.user.id);
  });

  it("asks the account contract: multisig (2 of 2) and guardian accounts sign in with both signatures only", async () => {
    for (const kind of ["multisig", "guardian"] as const) {
      const wallet = t.starknet.addAccount(kind);
      const c = await challenge(t, wallet.address);
      const one = walletSignature(wallet, c.typedData, [wallet.keys[0]]);
      assert.equal((await verify(t, { address: wallet.address, signature: one })).status, 401, `${kind}: one key`);
      const both = walletSignature(wallet, c.typedData);
      assert.equal(both.length, 4);
      const ok = await verify(t, { address: wallet.address, signature: both });
      assert.equal(ok.status, 200, `${kind}: ${JSON.stringify(ok.body)}`);
    }
    const checks = t.starknet.calls.filter((c) => c.method === "starknet_call");
    const last = checks[checks.length - 1].params;
    assert.equal(last.block_id, "latest");
    assert.equal(last.request.calldata[1], "0x4", "[hash, len, ...signature]");
  });

  it("accepts a pre-SNIP-6 account's answer 1", async () => {
    const wallet = t.starknet.addAccount("plain", { legacy: true });
    assert.equal((await walletSignIn(t, wallet)).status, 200);
  });

  it("refuses a replay, a wrong key, and a message of another domain or chain (401)", async () => {
    const wallet = t.starknet.addAccount("plain");
    const c = await challenge(t, wallet.address);
    const signature = walletSignature(wallet, c.typedData);
    assert.equal((await verify(t, { address: wallet.address, signature })).status, 200);
    const replay = await verify(t, { address: wallet.address, signature });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error.code, "STARKNET_SIGNIN_REFUSED");

    const stranger = t.starknet.addAccount("plain");
    const c2 = await challenge(t, wallet.address);
    const wrongKey = walletSignature(wallet, c2.typedData, stranger.keys);
    assert.equal((await verify(t, { address: wallet.address, signature: wrongKey })).status, 401);
    for (const domain of [
      { ...c2.typedData.domain, chainId: "SN_MAIN" },
      { ...c2.typedData.domain, name: "Elsewhere" },
    ]) {
      const foreign = { ...c2.typedData, domain } as TypedData;
      const res = await verify(t, { address: wallet.address, signature: walletSignature(wallet, foreign) });
      assert.equal(res.status, 401, JSON.stringify(domain));
    }
    // The challenge those refusals tried is still open: the right signature passes.
    const right = await verify(t, { address: wallet.address, signature: walletSignature(wallet, c2.typedData) });
    assert.equal(right.status, 200);
  });

  it("picks the named challenge when several are open (nonce), and refuses an unknown one", async () => {
    const wallet = t.starknet.addAccount("plain");
    const older = await challenge(t, wallet.address);
    await challenge(t, wallet.address);
    const signature = walletSignature(wallet, older.typedData);
    assert.equal((await verify(t, { address: wallet.address, signature })).status, 401, "the newest is checked");
    assert.equal((await verify(t, { address: wallet.address, signature, nonce: older.nonce })).status, 200);
    assert.equal((await verify(t, { address: wallet.address, signature, nonce: "0x1234" })).status, 401);
  });

  it("50 concurrent verifies of one signed challenge: exactly one signs in, one account", async () => {
    const wallet = t.starknet.addAccount("plain");
    const c = await challenge(t, wallet.address);
    const signature = walletSignature(wallet, c.typedData);
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => verify(t, { address: wallet.address, signature })),
    );
    const statuses = answers.map((a) => a.status).sort();
    assert.equal(statuses.filter((s) => s === 200).length, 1, statuses.join(","));
    assert.equal(statuses.filter((s) => s === 401).length, 49);
    const [{ n }] = await t.app.dataSource.query(
      `SELECT count(*)::int AS n FROM users u JOIN starknet_wallets w ON w.user_id = u.id WHERE w.address = $1`,
      [wallet.address],
    );
    assert.equal(n, 1);
  });

  it("answers 503 STARKNET_UNAVAILABLE when the node fails, and the challenge stays usable", async () => {
    const wallet = t.starknet.addAccount("plain");
    const c = await challenge(t, wallet.address);
    const signature = walletSignature(wallet, c.typedData);
    t.starknet.failNext("starknet_call", 1);
    const down = await verify(t, { address: wallet.address, signature });
    assert.equal(down.status, 503);
    assert.equal(down.body.error.code, "STARKNET_UNAVAILABLE");
    assert.equal((await verify(t, { address: wallet.address, signature })).status, 200);
  });

  it("refuses an expired challenge (401)", async () => {
    let now = Date.now();
    const signIn = new StarknetSignIn(t.app.dataSource, new StarknetRpc(t.starknet.url, 1000), t.app.services.auth, {
      domainName: "Arcadia",
      domainVersion: "1",
      challengeTtlSec: 300,
      clock: () => new Date(now),
    });
    const wallet = t.starknet.addAccount("plain");
    const c = await signIn.challenge(wallet.address);
    now += 301_000;
    await assert.rejects(
      signIn.verify({ address: wallet.address, signature: walletSignature(wallet, c.typedData) }),
      (err: AppError) => err.status === 401 && err.code === "STARKNET_SIGNIN_REFUSED",
    );
  });

  it("without the settings: 503 STARKNET_NOT_CONFIGURED; minting settings all or none", () => {
    assert.throws(
      () => new StarknetService().signIn(),
      (err: AppError) => err.status === 503 && err.code === "STARKNET_NOT_CONFIGURED",
    );
    const env = {
      NODE_ENV: "test",
      DATA_DIR: t.app.config?.DATA_DIR ?? "/tmp",
      STARKNET_RPC_URL: "http://127.0.0.1:1",
    };
    assert.throws(() => loadConfig({ ...env, STARKNET_ACCOUNT_ADDRESS: "0x1" }), ConfigError);
    assert.throws(
      () =>
        loadConfig({
          NODE_ENV: "test",
          DATA_DIR: env.DATA_DIR,
          STARKNET_ACCOUNT_ADDRESS: "0x1",
          STARKNET_PRIVATE_KEY: "0x2",
          STARKNET_BADGE_CONTRACT: "0x3",
        }),
      ConfigError,
    );
    assert.equal(normalizeAddress("0xABC"), `0x${"0".repeat(61)}abc`);
  });
});
