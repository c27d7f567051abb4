import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, runFailingStart } from "./helpers/process";

const ROOT = path.resolve(__dirname, "..");

/** `npm start` as an operator runs it: the port it gets, the signals it receives. */
describe("entry point", function () {
  // Start-up alone can take half a minute on a busy CI machine; nothing here measures speed.
  this.timeout(180_000);
  let dataDir: string;
  const embeddedEnv = () => ({ DATA_DIR: dataDir, DATABASE_URL: "", REDIS_URL: "", NODE_ENV: "development" });
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-entry-"));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("exits non-zero with a clear message when the port is already in use", async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, resolve));
    const { port } = holder.address() as net.AddressInfo;
    try {
      const { code, output } = await runFailingStart({ ...embeddedEnv(), PORT: String(port) });
      assert.equal(code, 1, output);
      assert.match(output, new RegExp(`Port ${port} is already in use \\(EADDRINUSE\\)`));
      assert.equal(fs.existsSync(path.join(dataDir, "pglite.lock")), false, "the database was released");
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it("`npm start` passes SIGTERM to the server, which closes its port and exits cleanly", async () => {
    const port = await freePort();
    const npm = spawn("npm", ["start"], {
      cwd: ROOT,
      env: { ...process.env, ...embeddedEnv(), PORT: String(port), LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so cleanup can reach a server that npm orphaned
    });
    let output = "";
    npm.stdout!.on("data", (d) => (output += d));
    npm.stderr!.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => npm.once("exit", (code) => resolve(code)));
    try {
      await until(
        () => output.includes('"msg":"server ready"'),
        150_000,
        () => output,
      );
      assert.equal(await isOpen(port), true);

      npm.kill("SIGTERM");
      assert.equal(await exited, 0, output);
      await until(
        async () => !(await isOpen(port)),
        5_000,
        () => `port ${port} still open\n${output}`,
      );
      assert.match(output, /shutdown complete/);
    } finally {
      try {
        process.kill(-npm.pid!, "SIGKILL");
      } catch {
        // the group is gone: nothing left to clean up
      }
    }
  });
});

function isOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function until(done: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms:\n${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
