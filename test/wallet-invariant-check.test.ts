import assert from "node:assert/strict";
import pino from "pino";
import { WalletInvariantCheck } from "../src/services/wallet-invariant-check";
import { testApp, type TestApp } from "./helpers/app";
import { sleep } from "./helpers/play";
import { register } from "./helpers/users";
import { fund } from "./helpers/wallet";

/** The value of an unlabelled metric in a /metrics text. */
function metricValue(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

describe("wallet invariant check (WALLET_INVARIANT_CHECK_SEC)", () => {
  let t: TestApp;
  before(async () => {
    t = await testApp();
  });
  const scrape = async () => (await t.fetch("/metrics")).text();

  it("reports its interval, and a check with no violation", async () => {
    const text = await scrape();
    assert.equal(metricValue(text, "wallet_invariant_check_interval_seconds"), t.app.config.WALLET_INVARIANT_CHECK_SEC);
    await t.app.services.walletInvariantCheck.checkOnce();
    const after = await scrape();
    assert.equal(metricValue(after, "wallet_invariant_violations"), 0);
    const checkedAt = metricValue(after, "wallet_invariant_last_check_timestamp_seconds");
    assert.ok(Math.abs(checkedAt - Date.now() / 1000) < 60, `a recent check (${checkedAt})`);
  });

  it("counts a broken balance as a violation, and clears it once the balance is right again", async () => {
    const user = await register(t);
    await fund(t, user.user.id, 7);
    const setBalance = (balance: number) =>
      t.app.dataSource.query(`UPDATE wallets SET balance = $2 WHERE user_id = $1`, [user.user.id, balance]);
    await setBalance(8);
    try {
      const broken = await t.app.services.walletInvariantCheck.checkOnce();
      assert.ok(
        broken.some((line) => line.includes(user.user.id)),
        broken.join("\n"),
      );
      assert.ok(metricValue(await scrape(), "wallet_invariant_violations") >= 1);
    } finally {
      await setBalance(7);
    }
    await t.app.services.walletInvariantCheck.checkOnce();
    assert.equal(metricValue(await scrape(), "wallet_invariant_violations"), 0);
  });

  it("runs on one process per period with Redis; the others show its result", async function () {
    const redis = t.app.redis;
    if (!redis) return this.skip();
    const keyPrefix = `${t.app.config.REDIS_KEY_PREFIX}wallet-check-test:`;
    let checks = 0;
    const wallet = {
      checkInvariants: async () => {
        checks++;
        return ["wallet x: balance 1 but entries sum to 0"];
      },
    } as unknown as typeof t.app.services.wallet;
    const logger = pino({ level: "silent" });
    // The app's own interval (300 s in tests): the three starts fall in one period.
    const options = {
      intervalSec: t.app.config.WALLET_INVARIANT_CHECK_SEC,
      redis,
      keyPrefix,
      logger,
      firstCheckDelayMs: 0,
    };
    const processes = [1, 2, 3].map(() => new WalletInvariantCheck(t.app.dataSource, wallet, options));
    try {
      processes.forEach((p) => p.start());
      await sleep(50);
      await Promise.all(processes.map((p) => p.stop()));
      assert.equal(checks, 1, "one check in the period across three processes");
      // The gauges are per process (shared by these three here): the app's own check sets them back to 0,
      // then a process that is not the period's checker shows the shared result again.
      await t.app.services.walletInvariantCheck.checkOnce();
      assert.equal(metricValue(await scrape(), "wallet_invariant_violations"), 0);
      const reader = new WalletInvariantCheck(t.app.dataSource, wallet, options);
      reader.start();
      await sleep(50);
      await reader.stop();
      assert.equal(checks, 1, "the reader did not check");
      assert.equal(metricValue(await scrape(), "wallet_invariant_violations"), 1, "the shared result");
    } finally {
      await redis.del(`${keyPrefix}wallet-check-turn`, `${keyPrefix}wallet-check-result`);
      await t.app.services.walletInvariantCheck.checkOnce();
    }
  });
});
