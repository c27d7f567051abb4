import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { benchAssets } from "./assets";
import { benchEvents } from "./events";
import { benchFanout } from "./fanout";
import { benchLeaderboard } from "./leaderboard";
import { benchScale } from "./scale";
import { benchStartup } from "./startup";
import { benchVideoChat } from "./videochat";
import { benchWallet } from "./wallet";
import { benchWeb } from "./web";
import { benchWhack } from "./whack";

/** `npm run bench`: every benchmark, printed and saved to bench/results/<name>.json. */
const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  startup: benchStartup,
  wallet: benchWallet,
  assets: benchAssets,
  videochat: benchVideoChat,
  fanout: benchFanout,
  leaderboard: benchLeaderboard,
  whack: benchWhack,
  events: benchEvents,
  web: benchWeb,
  scale: benchScale,
};

async function main() {
  const only = process.argv[2];
  const dir = path.join(__dirname, "results");
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, run] of Object.entries(benches)) {
    if (only && only !== name) continue;
    const result = { ...(await run()), at: new Date().toISOString(), cpus: os.cpus().length };
    console.log(JSON.stringify(result, null, 2));
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(result, null, 2));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
