import "reflect-metadata";
import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../config";
import { seed } from "../services/seed";
import { openDatabase } from "./data-source";
import { lockEmbeddedDatabase } from "./embedded-lock";

/**
 * npm run migration:run | migration:generate <Name> | seed
 * Works on the configured database: DATABASE_URL, or the embedded one in DATA_DIR.
 */
async function main() {
  const [command, name] = process.argv.slice(2);
  const config = loadConfig();
  const embeddedDir = path.join(config.DATA_DIR, "pglite");
  let unlock = () => {};
  if (!config.DATABASE_URL) {
    fs.mkdirSync(config.DATA_DIR, { recursive: true });
    unlock = lockEmbeddedDatabase(path.join(config.DATA_DIR, "pglite.lock"));
  }
  const options = { url: config.DATABASE_URL, embeddedDir };
  try {
    if (command === "run") {
      const ds = await openDatabase(options);
      console.log("migrations up to date");
      await ds.destroy();
    } else if (command === "seed") {
      const ds = await openDatabase(options);
      const { created } = await seed(ds);
      console.log(created.length ? `seeded: ${created.join(", ")}` : "seed: nothing missing");
      await ds.destroy();
    } else if (command === "generate") {
      if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) throw new Error("usage: npm run migration:generate <PascalCaseName>");
      await generate(options, name);
    } else {
      throw new Error("usage: cli.ts run | generate <Name> | seed");
    }
  } finally {
    unlock();
  }
}

/** Writes a migration holding the SQL that takes the migrated schema to the entities. */
async function generate(options: { url?: string; embeddedDir: string }, name: string) {
  const ds = await openDatabase(options);
  const sql = await ds.driver.createSchemaBuilder().log();
  await ds.destroy();
  if (sql.upQueries.length === 0) {
    console.log("entities match the migrations: nothing to generate");
    return;
  }
  const timestamp = Date.now();
  const lines = (queries: typeof sql.upQueries) =>
    queries.map((q) => `    await q.query(${JSON.stringify(q.query)});`).join("\n");
  const file = path.join(__dirname, "migrations", `${timestamp}-${name}.ts`);
  fs.writeFileSync(
    file,
    `import type { MigrationInterface, QueryRunner } from "typeorm";

export class ${name}${timestamp} implements MigrationInterface {
  name = "${name}${timestamp}";

  async up(q: QueryRunner): Promise<void> {
${lines(sql.upQueries)}
  }

  async down(q: QueryRunner): Promise<void> {
${lines(sql.downQueries.reverse())}
  }
}
`,
  );
  console.log(`wrote ${path.relative(process.cwd(), file)}; add it to src/db/migrations/index.ts`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
