// First: every module imported after it is compiled from the cache on later starts.
import "./compile-cache";
import fs from "node:fs";
import { openConfiguredDatabase } from "./db/open";
import { loadConfig, StartupError } from "./config";

/** `npm start`: embedded defaults unless DATABASE_URL / REDIS_URL say otherwise. */
async function main() {
  // A local .env is a development convenience; the real environment wins over it.
  if (fs.existsSync(".env")) process.loadEnvFile(".env");
  const config = loadConfig();
  // Open the database first: PGlite compiles its WebAssembly in the background
  // while the server's modules load, which takes a second off every start.
  const database = openConfiguredDatabase(config);
  database.catch(() => {}); // observed below; avoids an unhandled-rejection race
  const { startApp } = await import("./app");
  await startApp(config, { port: config.PORT, exitOnShutdown: true, database });
}

main().catch((err) => {
  // Start-up errors are for humans: no stack, just what to fix.
  console.error(err instanceof StartupError ? err.message : err);
  process.exit(1);
});
