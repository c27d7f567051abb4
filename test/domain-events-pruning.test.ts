import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DataSource } from "typeorm";
import { ConfigError, loadConfig } from "../src/config";
import { createDataSource } from "../src/db/data-source";
import { registry } from "../src/metrics";
import { DomainLog } from "../src/services/domain-log";
import { DomainEventPruner } from "../src/services/domain-log-pruner";
import { testApp, type TestApp } from "./helpers/app";

const HOUR = 3_600_000;
const RETENTION_HOURS = 168;

describe("domain events: delivered events are pruned after the retention", () => {
  let t: TestApp;
  let db: DataSource;

  before(async () => {
    t = await testApp();
    db = t.app.dataSource;
    // The server's own pass would race this file's passes for the same rows: paused meanwhile.
    await t.app.services.domainEventPruner.stop();
  });
  after(() => t.app.services.domainEventPruner.start());

  const pruner = (options: Partial<ConstructorParameters<typeof DomainEventPruner>[1]> = {}, on = db) =>
    new DomainEventPruner(on, { retentionHours: RETENTION_HOURS, ...options });
  const hoursAgo = (hours: number) => new Date(Date.now() - hours * HOUR);
  /** A log of its own with one consumer per handler (names unique to the test: the server's dispatchers leave them alone). */
  function logWith(handlers: Record<string, () => Promise<void>>, maxAttempts = 10) {
    const log = new DomainLog(db, { maxAttempts });
    const suffix = randomUUID().slice(0, 8);
    for (const [name, handler] of Object.entries(handlers)) log.register(`${name}-${suffix}`, handler);
    return log;
  }
  const record = (log: DomainLog, occurredAt: Date) =>
    db.transaction((m) => log.record(m, "login", { userId: randomUUID() }, { occurredAt }));
  /** Dispatches until none of the log's deliveries is due (each pass takes at most 10). */
  async function dispatchAll(log: DomainLog) {
    while ((await log.dispatchOnce(new Date(Date.now() + HOUR))).taken > 0);
  }
  const existing = async (ids: string[]) =>
    ((await db.query(`SELECT id FROM domain_events WHERE id = ANY($1)`, [ids])) as Array<{ id: string }>)
      .map((r) => r.id)
      .sort();
  const prunedTotal = async () =>
    Number(
      /^domain_events_pruned_total (\S+)/m.exec(
        await registry.getSingleMetricAsString("domain_events_pruned_total"),
      )?.[1],
    );

  it("deletes old delivered events; keeps recent ones and those with a pending or poisoned delivery", async () => {
    const counted = await prunedTotal();
    const done = logWith({ done: async () => {} });
    const poisoned = logWith({ poison: async () => assert.fail("cannot handle") }, 1);
    const retrying = logWith({ ok: async () => {}, flaky: async () => assert.fail("down for now") });
    const pending = logWith({ never: async () => {} });

    const oldDelivered = [await record(done, hoursAgo(RETENTION_HOURS + 1)), await record(done, hoursAgo(1000))];
    const recentDelivered = [await record(done, hoursAgo(RETENTION_HOURS - 1)), await record(done, new Date())];
    const oldPoisoned = await record(poisoned, hoursAgo(RETENTION_HOURS + 5));
    const oldRetrying = await record(retrying, hoursAgo(RETENTION_HOURS + 5));
    const oldPending = await record(pending, hoursAgo(RETENTION_HOURS + 5));
    await dispatchAll(done);
    await dispatchAll(poisoned);
    await retrying.dispatchOnce(); // "ok" delivered, "flaky" failed once: retried later
    const [poison] = await db.query(`SELECT poisoned_at FROM domain_event_deliveries WHERE event_id = $1`, [
      oldPoisoned,
    ]);
    assert.ok(poison?.poisoned_at, "the poisoned delivery is kept, marked");
    const left = await db.query(`SELECT consumer, attempts FROM domain_event_deliveries WHERE event_id = $1`, [
      oldRetrying,
    ]);
    assert.equal(left.length, 1, "one consumer done, the other still retrying");

    const pruned = await pruner().pruneOnce();
    assert.ok(pruned >= oldDelivered.length, `pruned ${pruned}`);
    const kept = [...recentDelivered, oldPoisoned, oldRetrying, oldPending];
    assert.deepEqual(await existing([...oldDelivered, ...kept]), [...kept].sort());
    assert.equal(await prunedTotal(), counted + pruned, "domain_events_pruned_total counts them");
    // Deliveries still there for the kept ones: nothing else was touched.
    const deliveries = await db.query(
      `SELECT count(*)::int AS n FROM domain_event_deliveries WHERE event_id = ANY($1)`,
      [[oldPoisoned, oldRetrying, oldPending]],
    );
    assert.equal(deliveries[0].n, 3);
    assert.equal(await pruner().pruneOnce(), 0, "a second pass finds nothing");
  });

  it("works in bounded batches: a pass stops at its bound and the next one goes on", async () => {
    const log = logWith({ done: async () => {} });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await record(log, hoursAgo(RETENTION_HOURS + 10 + i)));
    await dispatchAll(log);
    const bounded = pruner({ batchSize: 2, maxBatchesPerPass: 2 });
    assert.equal(await bounded.pruneOnce(), 4, "two batches of two");
    assert.equal((await existing(ids)).length, 3);
    assert.equal(await bounded.pruneOnce(), 3, "the rest next time (a short batch ends the pass)");
    assert.deepEqual(await existing(ids), []);
  });

  it("passes on two processes at once delete each event once, without errors or waiting on each other", async () => {
    const url = t.app.config.DATABASE_URL;
    // PostgreSQL: a second data source, as another process has; embedded: the one database.
    let other: DataSource = db;
    if (url) {
      other = createDataSource({ url, embeddedDir: "memory://" });
      await other.initialize();
    }
    try {
      const log = logWith({ done: async () => {} });
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push(await record(log, hoursAgo(RETENTION_HOURS + 1 + i / 100)));
      await dispatchAll(log);
      const [a, b] = await Promise.all([
        pruner({ batchSize: 5 }).pruneOnce(),
        pruner({ batchSize: 5 }, other).pruneOnce(),
      ]);
      assert.equal(a + b, ids.length, `first ${a}, second ${b}`);
      assert.deepEqual(await existing(ids), []);
    } finally {
      if (other !== db) await other.destroy();
    }
  });

  it("a started pruner runs a pass at once, then every interval", async () => {
    const log = logWith({ done: async () => {} });
    const first = await record(log, hoursAgo(RETENTION_HOURS + 2));
    await dispatchAll(log);
    const running = pruner({ intervalMs: 50 });
    running.start();
    try {
      await until(async () => (await existing([first])).length === 0, "the first pass");
      const second = await record(log, hoursAgo(RETENTION_HOURS + 2));
      await dispatchAll(log);
      await until(async () => (await existing([second])).length === 0, "a later pass");
    } finally {
      await running.stop();
    }
  });
});

describe("config: DOMAIN_EVENT_RETENTION_HOURS", () => {
  let dataDir: string;
  beforeEach(() => (dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-config-"))));
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("defaults to a week and takes whole hours from 1 to 87600", () => {
    assert.equal(loadConfig({ DATA_DIR: dataDir }).DOMAIN_EVENT_RETENTION_HOURS, 168);
    assert.equal(
      loadConfig({ DATA_DIR: dataDir, DOMAIN_EVENT_RETENTION_HOURS: "24" }).DOMAIN_EVENT_RETENTION_HOURS,
      24,
    );
    for (const bad of ["0", "-1", "1.5", "a week", "87601"]) {
      assert.throws(
        () => loadConfig({ DATA_DIR: dataDir, DOMAIN_EVENT_RETENTION_HOURS: bad }),
        (err: Error) => err instanceof ConfigError && /DOMAIN_EVENT_RETENTION_HOURS/.test(err.message),
        bad,
      );
    }
  });
});

async function until(done: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 15_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 15 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
