import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { TurnService } from "../src/services/turn";
import { TURN_SHARED_SECRET, testApp } from "./helpers/app";
import { freePort } from "./helpers/process";
import { bearer, register } from "./helpers/users";

describe("TURN credentials", () => {
  it("POST /api/turn/credentials: expiry-first username, base64 HMAC-SHA1, TTL and URIs from config", async () => {
    const t = await testApp();
    const account = await register();
    const res = await t.fetch("/api/turn/credentials", { method: "POST", headers: bearer(account.accessToken) });
    assert.equal(res.status, 200);
    const body = await res.json();
    const [expiry, userId] = body.username.split(":");
    assert.equal(userId, account.user.id);
    assert.ok(Math.abs(Number(expiry) - (Math.floor(Date.now() / 1000) + 600)) <= 2);
    assert.equal(body.credential, createHmac("sha1", TURN_SHARED_SECRET).update(body.username).digest("base64"));
    assert.equal(body.ttl, 600);
    assert.deepEqual(body.uris, ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]);
    assert.equal((await t.fetch("/api/turn/credentials", { method: "POST" })).status, 401);
  });

  it("503 TURN_NOT_CONFIGURED without a shared secret", () => {
    assert.throws(() => new TurnService(undefined, [], 60).credentials("u"), /not configured/);
  });

  describe("against a real coturn (use-auth-secret) on loopback", function () {
    this.timeout(60_000);
    let turn: ChildProcess | undefined;
    let port = 0;
    const secret = "coturn-interop-secret";
    const service = () => new TurnService(secret, [], 600);

    before(async function () {
      const has = () => spawnSync("sh", ["-c", "command -v turnserver && command -v turnutils_uclient"]).status === 0;
      if (!has()) {
        spawnSync("apt-get", ["install", "-y", "-q", "coturn"], {
          env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
          stdio: "ignore",
        });
      }
      if (!has()) {
        console.log("    (skipped: Debian's coturn could not be installed here)");
        return this.skip();
      }
      port = await freePort();
      turn = spawn(
        "turnserver",
        [
          "-n",
          "--listening-ip=127.0.0.1",
          "--relay-ip=127.0.0.1",
          `--listening-port=${port}`,
          "--use-auth-secret",
          `--static-auth-secret=${secret}`,
          "--realm=arcadia.test",
          "--no-tls",
          "--no-dtls",
          "--no-cli",
          "--allow-loopback-peers",
          "--min-port=49200",
          "--max-port=49400",
          "--log-file=stdout",
        ],
        { stdio: "ignore" },
      );
      await new Promise((r) => setTimeout(r, 500));
    });
    after(() => turn?.kill());

    /** Two clients allocate relays and exchange messages through them (turnutils_uclient -y). */
    const relay = (username: string, credential: string) => {
      const r = spawnSync(
        "turnutils_uclient",
        ["-y", "-n", "1", "-m", "1", "-u", username, "-w", credential, "-p", String(port), "127.0.0.1"],
        { encoding: "utf8", timeout: 20_000 },
      );
      return `${r.stdout}${r.stderr}`;
    };

    it("our credentials allocate a relay and carry traffic", () => {
      const { username, credential } = service().credentials("player-1");
      const out = relay(username, credential);
      assert.doesNotMatch(out, /Cannot complete Allocation/);
      assert.match(out, /tot_recv_msgs=[1-9]/);
      assert.match(out, /Total lost packets 0 /);
    });

    it("expired and forged credentials are refused", () => {
      const expired = service().credentials("player-1", Date.now() - 3_600_000);
      assert.match(relay(expired.username, expired.credential), /Cannot complete Allocation/);
      const forged = new TurnService("not-the-secret", [], 600).credentials("player-1");
      assert.match(relay(forged.username, forged.credential), /Cannot complete Allocation/);
      const fresh = service().credentials("player-1");
      assert.match(
        relay(fresh.username.replace("player-1", "player-2"), fresh.credential),
        /Cannot complete Allocation/,
      );
    });
  });
});
