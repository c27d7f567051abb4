import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { benchAssets } from "./assets";
import { benchEvents } from "./events";
import { benchFanout } from "./fanout";
import { benchIdle } from "./idle";
import { benchJoins } from "./joins";
import { benchLeaderboard } from "./leaderboard";
import { benchScale } from "./scale";
import { benchStartup } from "./startup";
import { benchVideoChat } from "./videochat";
import { benchWallet } from "./wallet";
import { benchWeb } from "./web";
import { benchWhack } from "./whack";
import { writeSummary } from "./lib/summary";

/**
 * `npm run bench [name…]`: every benchmark (or the named ones), each
 * BENCH_REPEAT (1) times, printed and saved to bench/results/<name>.json
 * ({name, results: [one per run]}); then bench/results/summary.md from every
 * result there, so running one bench updates its rows only.
 */
const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  startup: benchStartup,
  wallet: benchWallet,
  assets: benchAssets,
  videochat: benchVideoChat,
  fanout: benchFanout,
  joins: benchJoins,
  idle: benchIdle,
  leaderboard: benchLeaderboard,
  whack: benchWhack,
  events: benchEvents,
  web: benchWeb,
  scale: benchScale,
};
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));

async function main() {
  const only = process.argv.slice(2);
  const unknown = only.filter((name) => !benches[name]);
  if (unknown.length) throw new Error(`unknown bench ${unknown.join(", ")}: one of ${Object.keys(benches).join(", ")}`);
  const loadBefore = os.loadavg();
  const dir = path.join(__dirname, "results");
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, run] of Object.entries(benches)) {
    if (only.length && !only.includes(name)) continue;
    const results: Array<Record<string, unknown>> = [];
    for (let i = 0; i < REPEAT; i++) {
      const result = { ...(await run()), at: new Date().toISOString(), cpus: os.cpus().length, loadavg: os.loadavg() };
      console.log(JSON.stringify(result, null, 2));
      results.push(result);
    }
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ name, results }, null, 2));
    writeSummary(dir, loadBefore);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
