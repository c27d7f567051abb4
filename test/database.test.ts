import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDatabase } from "../src/db/data-source";
import { lockEmbeddedDatabase } from "../src/db/embedded-lock";
import { migrations } from "../src/db/migrations";
import { User } from "../src/entities";
import { DEMO_DEVICE_ID, seed } from "../src/services/seed";
import { testApp } from "./helpers/app";
import { createScratchDatabase } from "./helpers/database";

describe("database", () => {
  it("migrations produce exactly the schema the entities describe", async () => {
    const { app } = await testApp();
    const diff = await app.dataSource.driver.createSchemaBuilder().log();
    assert.deepEqual(
      diff.upQueries.map((q) => q.query),
      [],
    );
  });

  it("the first start seeded the demo content, and seeding again adds nothing", async () => {
    const { app } = await testApp();
    const users = app.dataSource.getRepository(User);
    assert.equal(await users.countBy({ deviceId: DEMO_DEVICE_ID }), 1);
    assert.deepEqual(await seed(app.dataSource, app.services.games), { created: [] });
    assert.equal(await users.countBy({ deviceId: DEMO_DEVICE_ID }), 1);
  });

  it("serialises concurrent transactions that lock the same row (FOR UPDATE)", async () => {
    const { app } = await testApp();
    const { id } = await app.dataSource.getRepository(User).save({ displayName: "Counter", isGuest: true });
    await Promise.all(
      Array.from({ length: 20 }, () =>
        app.dataSource.transaction(async (m) => {
          const [row] = await m.query(`SELECT token_version FROM users WHERE id = $1 FOR UPDATE`, [id]);
          await new Promise((r) => setTimeout(r, 2));
          await m.query(`UPDATE users SET token_version = $2 WHERE id = $1`, [id, row.token_version + 1]);
        }),
      ),
    );
    const after = await app.dataSource.getRepository(User).findOneByOrFail({ id });
    assert.equal(after.tokenVersion, 20, "no lost update");
  });

  it("reports affected rows for updates, as PostgreSQL does", async () => {
    const { app } = await testApp();
    const users = app.dataSource.getRepository(User);
    const { id } = await users.save({ displayName: "Affected", isGuest: true });
    assert.equal((await users.update({ id }, { displayName: "Changed" })).affected, 1);
    assert.equal((await users.update({ id, displayName: "Nope" }, { displayName: "X" })).affected, 0);
  });

  it("PostgreSQL: processes starting together on an empty database migrate once, without racing", async function () {
    if (!process.env.DATABASE_URL) return this.skip();
    const scratch = await createScratchDatabase(process.env.DATABASE_URL);
    const opened = await Promise.all([1, 2, 3, 4].map(() => openDatabase({ url: scratch.url, embeddedDir: "unused" })));
    try {
      const ran = await opened[0].query(`SELECT count(*)::int AS n FROM migrations`);
      assert.equal(ran[0].n, migrations.length);
    } finally {
      await Promise.all(opened.map((ds) => ds.destroy()));
      await scratch.drop();
    }
  });

  describe("embedded", () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-db-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("keeps data across reopen, migrating only once", async function () {
      this.timeout(30_000);
      const embeddedDir = path.join(dir, "pglite");
      const first = await openDatabase({ embeddedDir });
      await first.getRepository(User).save({ displayName: "Persisted", isGuest: false });
      await first.destroy();
      const second = await openDatabase({ embeddedDir });
      try {
        assert.equal(await second.getRepository(User).countBy({ displayName: "Persisted" }), 1);
        const ran = await second.query(`SELECT count(*)::int AS n FROM migrations`);
        assert.equal(ran[0].n, migrations.length);
      } finally {
        await second.destroy();
      }
    });

    it("refuses a second owner of the data directory while the first lives, and takes over a stale lock", () => {
      const lockFile = path.join(dir, "pglite.lock");
      const release = lockEmbeddedDatabase(lockFile);
      fs.writeFileSync(lockFile, String(process.ppid)); // a live process that is not us
      assert.throws(() => lockEmbeddedDatabase(lockFile), /in use by process/);
      fs.writeFileSync(lockFile, "999999999"); // no such process: a crash left it
      const again = lockEmbeddedDatabase(lockFile);
      assert.equal(fs.readFileSync(lockFile, "utf8"), String(process.pid));
      again();
      release();
      assert.equal(fs.existsSync(lockFile), false);
    });
  });
});
