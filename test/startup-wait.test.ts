import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { runFailingStart } from "./helpers/process";

/** Nothing listens on these ports (the fault suite's range, unused by its services). */
const DEAD_POSTGRES = "postgres://arcadia:pw-never-logged@127.0.0.1:5439/arcadia";
const DEAD_REDIS = "redis://127.0.0.1:6439";

/** Start-up against a dependency that never comes up: retries, then a clear message and exit code 1. */
describe("start-up waits for its dependencies, within a limit", function () {
  this.timeout(60_000);
  let dataDir: string;
  beforeEach(() => (dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-wait-"))));
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("retries PostgreSQL with a log line per attempt, then exits 1 naming the setting", async () => {
    const { code, output } = await runFailingStart({
      DATA_DIR: dataDir,
      DATABASE_URL: DEAD_POSTGRES,
      REDIS_URL: "",
      DATABASE_STARTUP_TIMEOUT_SEC: "10",
    });
    assert.equal(code, 1);
    assert.match(output, /PostgreSQL at 127\.0\.0\.1:5439 is not reachable yet; retrying/);
    const final = /PostgreSQL at 127\.0\.0\.1:5439 was not reachable within 10 s \((\d+) attempts; .*ECONNREFUSED/.exec(
      output,
    );
    assert.ok(final && Number(final[1]) >= 2, `retried, then gave up:\n${output}`);
    assert.match(output, /raise DATABASE_STARTUP_TIMEOUT_SEC/);
    assert.doesNotMatch(output, /pw-never-logged/, "the URL's password stays out of the output");
    assert.doesNotMatch(output, /at .*\.ts:\d+/, "a message, not a stack trace");
  });

  it("retries Redis the same way, then exits 1 naming the setting", async () => {
    const { code, output } = await runFailingStart({
      DATA_DIR: dataDir,
      // PostgreSQL is waited for at the same time, for longer: Redis's limit ends the start.
      DATABASE_URL: DEAD_POSTGRES,
      DATABASE_STARTUP_TIMEOUT_SEC: "60",
      REDIS_URL: DEAD_REDIS,
      REDIS_STARTUP_TIMEOUT_SEC: "3",
    });
    assert.equal(code, 1);
    assert.match(output, /Redis at 127\.0\.0\.1:6439 is not reachable yet; retrying/);
    assert.match(output, /Redis at 127\.0\.0\.1:6439 was not reachable within 3 s/);
    assert.match(output, /raise REDIS_STARTUP_TIMEOUT_SEC/);
  });
});
