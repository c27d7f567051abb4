import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createPostgres, type PrivatePostgres } from "../helpers/fault-services";
import { killHard, say } from "../helpers/fault-cluster";
import { type ServerProcess, startServerProcess } from "../helpers/process";

/** Start-up while PostgreSQL is still down (port 5434, private): the server waits, then starts. */
describe("fault: start-up while PostgreSQL is down", function () {
  this.timeout(120_000);
  let pg: PrivatePostgres | undefined;
  let server: ServerProcess | undefined;
  let dataDir = "";

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-fault-start-"));
  });

  after(async () => {
    if (server) await killHard(server);
    pg?.destroy();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("retries with backoff and becomes ready once PostgreSQL starts", async () => {
    pg = createPostgres(5434, { started: false });
    const db = pg;
    const starting = startServerProcess(
      { DATABASE_URL: db.url, REDIS_URL: "", DATA_DIR: dataDir, DATABASE_STARTUP_TIMEOUT_SEC: "90" },
      100_000,
    );
    starting.catch(() => undefined);
    // Until the server has tried once, the port answers and hangs up (as a database still starting
    // would); then the real PostgreSQL starts. Under load the server may take a while to get there.
    await new Promise<void>((resolve) => {
      const gate = net.createServer((socket) => {
        socket.destroy();
        gate.close(() => resolve());
      });
      gate.listen(5434, "127.0.0.1");
    });
    db.start();
    say("PostgreSQL started after the server's first attempt failed");
    server = await starting;
    const output = server.output();
    const attempts = output.match(/PostgreSQL at 127\.0\.0\.1:5434 is not reachable yet; retrying/g) ?? [];
    say(`${attempts.length} failed attempt(s) logged before it was reachable`);
    assert.ok(attempts.length >= 1, output);
    assert.match(output, /PostgreSQL at 127\.0\.0\.1:5434 is reachable/);
    const ready = await (await fetch(`${server.baseUrl}/health/ready`)).json();
    assert.equal(ready.checks.database.ok, true);
  });
});
