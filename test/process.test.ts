import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "@colyseus/sdk";
import { runFailingStart, startServerProcess } from "./helpers/process";

/** The real entry point as its own process, on embedded defaults. */
describe("server process", function () {
  this.timeout(60_000);
  let dataDir: string;
  const embeddedEnv = () => ({ DATA_DIR: dataDir, DATABASE_URL: "", REDIS_URL: "", NODE_ENV: "development" });
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-proc-"));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("stops start-up with a message naming a bad variable", async () => {
    const { code, output } = await runFailingStart({ ...embeddedEnv(), PORT: "70000", RATE_LIMIT_MAX: "-1" });
    assert.equal(code, 1);
    assert.match(output, /PORT/);
    assert.match(output, /RATE_LIMIT_MAX/);
    assert.doesNotMatch(output, /at .*\.ts:\d+/, "a config error is a message, not a stack trace");
  });

  it("refuses production without secrets", async () => {
    const { code, output } = await runFailingStart({
      ...embeddedEnv(),
      NODE_ENV: "production",
      JWT_SECRET: "",
      SESSION_JWT_SECRET: "",
    });
    assert.equal(code, 1);
    assert.match(output, /JWT_SECRET: required in production/);
  });

  it("on SIGTERM lets rooms finish, closes the database and exits 0; a second process cannot share the data dir", async () => {
    const server = await startServerProcess(embeddedEnv());
    try {
      const ready = await fetch(`${server.baseUrl}/health/ready`);
      assert.equal(ready.status, 200);
      assert.ok(fs.existsSync(path.join(dataDir, "pglite.lock")));

      const second = await runFailingStart(embeddedEnv());
      assert.equal(second.code, 1);
      assert.match(second.output, /embedded database is in use by process/);

      const room = await new Client(server.baseUrl).joinOrCreate("lobby");
      room.onMessage("rooms", () => {});
      const left = new Promise<number>((resolve) => room.onLeave((code) => resolve(code)));

      const code = await server.kill("SIGTERM");
      assert.equal(code, 0, server.output());
      assert.ok((await left) >= 1000, "the client was disconnected by the server");
      assert.match(server.output(), /shutting down: draining rooms/);
      assert.match(server.output(), /shutdown complete/);
      assert.equal(fs.existsSync(path.join(dataDir, "pglite.lock")), false, "lock released");
    } finally {
      await server.kill("SIGKILL");
    }
  });

  it("starts again on the same data without migrating or seeding twice", async () => {
    const first = await startServerProcess(embeddedEnv());
    assert.match(first.output(), /seeded the new embedded database/);
    assert.equal(await first.kill("SIGINT"), 0);
    const second = await startServerProcess(embeddedEnv());
    try {
      assert.doesNotMatch(second.output(), /seeded/);
      assert.equal((await fetch(`${second.baseUrl}/health/ready`)).status, 200);
    } finally {
      await second.kill();
    }
  });
});
