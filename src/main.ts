import fs from "node:fs";
import { startApp } from "./app";
import { ConfigError, loadConfig } from "./config";

/** `npm start`: embedded defaults unless DATABASE_URL / REDIS_URL say otherwise. */
async function main() {
  // A local .env is a development convenience; the real environment wins over it.
  if (fs.existsSync(".env")) process.loadEnvFile(".env");
  const config = loadConfig();
  await startApp(config, { port: config.PORT, exitOnShutdown: true });
}

main().catch((err) => {
  // Config errors are for humans: no stack, just the variables to fix.
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
