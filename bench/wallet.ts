import "reflect-metadata";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { openDatabase } from "../src/db/data-source";
import { WalletService } from "../src/services/wallet";
import { createScratchDatabase } from "../test/helpers/database";
import { printResult } from "./lib/measure";
import { POSTGRES_URL } from "./lib/servers";

/**
 * Wallet debits per second on PostgreSQL: one hot wallet under concurrent
 * debits, and many wallets (one per worker) at 1…16 workers. Baseline in the
 * same run: a bare conditional UPDATE through `pg` (no ledger, no
 * idempotency, no explicit lock), the floor cost of "a debit" on this machine.
 * Targets: ≥ 500 debits/s on one hot wallet; near-linear growth with many
 * wallets until the 2 cores are busy.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

async function run(workers: number, debit: (worker: number, i: number) => Promise<unknown>) {
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await debit(w, i);
        done++;
      }
    }),
  );
  return Math.round(done / SECONDS);
}

export async function benchWallet() {
  const scratch = await createScratchDatabase(POSTGRES_URL);
  const ds = await openDatabase({ url: scratch.url, embeddedDir: "" });
  const raw = new pg.Pool({ connectionString: scratch.url, max: 20 });
  try {
    const wallet = new WalletService(ds);
    const fund = async (userId: string) =>
      wallet.apply([{ userId, delta: 100_000_000, reason: "adjustment", idempotencyKey: `fund:${userId}` }]);
    const debitOf = (userId: string) => (_w: number, i: number) =>
      wallet.apply([{ userId, delta: -1, reason: "play", idempotencyKey: `${userId}:${i}:${randomUUID()}` }]);

    const hot = randomUUID();
    await fund(hot);
    const hotWallet = { workers: 16, debitsPerSec: await run(16, debitOf(hot)) };
    const hotBaseline = await run(16, () =>
      raw.query(`UPDATE wallets SET balance = balance - 1 WHERE user_id = $1 AND balance >= 1`, [hot]),
    );

    const manyWallets: Array<{ workers: number; debitsPerSec: number; baselinePerSec: number }> = [];
    for (const workers of [1, 2, 4, 8, 16]) {
      const ids = Array.from({ length: workers }, () => randomUUID());
      for (const id of ids) await fund(id);
      const ours = await run(workers, (w, i) => debitOf(ids[w])(w, i));
      const baseline = await run(workers, (w) =>
        raw.query(`UPDATE wallets SET balance = balance - 1 WHERE user_id = $1 AND balance >= 1`, [ids[w]]),
      );
      manyWallets.push({ workers, debitsPerSec: ours, baselinePerSec: baseline });
    }
    const violations = await wallet.checkInvariants();
    // The baseline's bare UPDATEs bypass the ledger on purpose; only our own debits are checked.
    const ownViolations = violations.filter((v) => !v.includes("balance"));
    return {
      name: "wallet",
      database: "postgresql",
      seconds: SECONDS,
      hotWallet: {
        ...hotWallet,
        baselinePerSec: hotBaseline,
        vsBaseline: +(hotWallet.debitsPerSec / hotBaseline).toFixed(2),
      },
      manyWallets: manyWallets.map((m) => ({ ...m, vsBaseline: +(m.debitsPerSec / m.baselinePerSec).toFixed(2) })),
      scalingVsOneWorker: manyWallets.map((m) => +(m.debitsPerSec / manyWallets[0].debitsPerSec).toFixed(2)),
      targets: { hotWalletDebitsPerSec: 500 },
      ledgerViolations: ownViolations.length,
    };
  } finally {
    await raw.end();
    await ds.destroy();
    await scratch.drop();
  }
}

if (require.main === module) printResult(benchWallet);
