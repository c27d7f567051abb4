import "reflect-metadata";
import fs from "node:fs";
import path from "node:path";
import { loadConfig } from "../config";
import { GameService } from "../services/games";
import { seed } from "../services/seed";
import type { DataSource } from "typeorm";
import { openConfiguredDatabase } from "./open";

/**
 * npm run migration:run | migration:generate <Name> | seed
 * Works on the configured database: DATABASE_URL, or the embedded one in DATA_DIR.
 */
async function main() {
  const [command, name] = process.argv.slice(2);
  const config = loadConfig();
  const database = await openConfiguredDatabase(config);
  try {
    if (command === "run") {
      console.log("migrations up to date");
    } else if (command === "seed") {
      const games = new GameService(
        database.dataSource,
        config.ASSET_STORAGE_ROOT,
        config.ASSET_UPLOAD_LIMIT_MB * 1024 * 1024,
      );
      const { created } = await seed(database.dataSource, games);
      console.log(created.length ? `seeded: ${created.join(", ")}` : "seed: nothing missing");
    } else if (command === "generate") {
      if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name))
        throw new Error("usage: npm run migration:generate <PascalCaseName>");
      await generate(database.dataSource, name);
    } else {
      throw new Error("usage: cli.ts run | generate <Name> | seed");
    }
  } finally {
    await database.close();
  }
}

/** Writes a migration holding the SQL that takes the migrated schema to the entities. */
async function generate(dataSource: DataSource, name: string) {
  const sql = await dataSource.driver.createSchemaBuilder().log();
  if (sql.upQueries.length === 0) {
    console.log("entities match the migrations: nothing to generate");
    return;
  }
  const timestamp = Date.now();
  const lines = (queries: typeof sql.upQueries) =>
    queries.map((q) => `    await q.query(${sqlLiteral(q.query.trim())});`).join("\n");
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
  registerMigration(`${name}${timestamp}`, `${timestamp}-${name}`);
  console.log(`wrote ${path.relative(process.cwd(), file)} and listed it in src/db/migrations/index.ts`);
}

/** Adds the new class to the ordered list in migrations/index.ts. */
function registerMigration(className: string, fileName: string) {
  const index = path.join(__dirname, "migrations", "index.ts");
  const source = fs
    .readFileSync(index, "utf8")
    .replace(/^(import [^\n]+\n)(?!import)/m, `$1import { ${className} } from "./${fileName}";\n`)
    .replace(/(export const migrations = \[[^\]]*?)(,?\s*\];)/s, `$1, ${className}];`);
  fs.writeFileSync(index, source);
}

/** SQL as a readable template literal, or a JSON string when it holds backticks or ${. */
function sqlLiteral(sql: string): string {
  return /`|\$\{|\\/.test(sql) ? JSON.stringify(sql) : `\`${sql}\``;
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
