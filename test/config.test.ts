import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConfigError, ENV_VARIABLES, loadConfig } from "../src/config";
import { README, renderEnvTable, withEnvTable } from "../scripts/docs-env";

describe("config", () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-config-"));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it("applies the documented defaults", () => {
    const c = loadConfig({ DATA_DIR: dataDir });
    assert.equal(c.PORT, 2567);
    assert.equal(c.NODE_ENV, "development");
    assert.equal(c.SESSION_JWT_TTL_SEC, 300);
    assert.equal(c.HEARTBEAT_INTERVAL_SEC, 45);
    assert.equal(c.CALL_DURATION_SEC, 45);
    assert.equal(c.CHOICE_TIMEOUT_SEC, 60);
    assert.deepEqual(c.MATCH_REGIONS, ["eu", "na", "sa", "as", "af", "oc"]);
    assert.equal(c.DATABASE_URL, undefined);
    assert.equal(c.REDIS_URL, undefined);
    assert.equal(c.ASSET_STORAGE_ROOT, path.join(dataDir, "assets"));
  });

  it("names every bad variable in one error", () => {
    assert.throws(
      () =>
        loadConfig({
          DATA_DIR: dataDir,
          PORT: "eighty",
          REDIS_URL: "http://127.0.0.1:6379",
          CORS_ORIGINS: "https://ok.test, not a url",
          MATCH_REGIONS: "EU",
        }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        for (const name of ["PORT", "REDIS_URL", "CORS_ORIGINS", "MATCH_REGIONS"])
          assert.match(err.message, new RegExp(name));
        return true;
      },
    );
  });

  it("parses lists and URLs", () => {
    const c = loadConfig({
      DATA_DIR: dataDir,
      CORS_ORIGINS: "https://a.test, https://b.test",
      TURN_URIS: "turn:127.0.0.1:3478?transport=udp,turns:turn.test:5349",
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/test",
    });
    assert.deepEqual(c.CORS_ORIGINS, ["https://a.test", "https://b.test"]);
    assert.equal(c.TURN_URIS.length, 2);
    assert.equal(c.DATABASE_URL, "postgres://postgres@127.0.0.1:5432/test");
  });

  it("refuses production without JWT secrets", () => {
    assert.throws(
      () => loadConfig({ DATA_DIR: dataDir, NODE_ENV: "production" }),
      /JWT_SECRET[\s\S]*SESSION_JWT_SECRET/,
    );
    assert.throws(
      () =>
        loadConfig({
          DATA_DIR: dataDir,
          NODE_ENV: "production",
          JWT_SECRET: "short",
          SESSION_JWT_SECRET: "x".repeat(40),
        }),
      /JWT_SECRET: must be at least 32 characters/,
    );
    const c = loadConfig({
      DATA_DIR: dataDir,
      NODE_ENV: "production",
      JWT_SECRET: "a".repeat(32),
      SESSION_JWT_SECRET: "b".repeat(32),
      NOTIFIER_WEBHOOK_URL: "https://notify.arcadia.test/send",
    });
    assert.equal(c.JWT_SECRET, "a".repeat(32));
    assert.equal(fs.existsSync(path.join(dataDir, "secrets.json")), false, "production never writes secrets to disk");
  });

  it("refuses production without a notifier (codes would go to the log), naming NOTIFIER_WEBHOOK_URL", () => {
    const production = {
      DATA_DIR: dataDir,
      NODE_ENV: "production",
      JWT_SECRET: "a".repeat(32),
      SESSION_JWT_SECRET: "b".repeat(32),
    };
    assert.throws(
      () => loadConfig(production),
      (err: Error) => err instanceof ConfigError && /NOTIFIER_WEBHOOK_URL: required in production/.test(err.message),
    );
    assert.equal(
      loadConfig({ ...production, NOTIFIER_WEBHOOK_URL: "https://notify.arcadia.test/send" }).NOTIFIER_WEBHOOK_URL,
      "https://notify.arcadia.test/send",
    );
    assert.equal(loadConfig({ DATA_DIR: dataDir }).NOTIFIER_WEBHOOK_URL, undefined, "development may go without");
  });

  it("holds ADMIN_PASSWORD to the users' password policy, in every environment", () => {
    const production = {
      DATA_DIR: dataDir,
      NODE_ENV: "production",
      JWT_SECRET: "a".repeat(32),
      SESSION_JWT_SECRET: "b".repeat(32),
      NOTIFIER_WEBHOOK_URL: "https://notify.arcadia.test/send",
      ADMIN_EMAIL: "ops@arcadia.test",
    };
    const development = { DATA_DIR: dataDir, NODE_ENV: "development", ADMIN_EMAIL: "ops@arcadia.test" };
    for (const env of [production, development]) {
      for (const weak of ["admin", "password123!", "ops@arcadia.test1"]) {
        assert.throws(
          () => loadConfig({ ...env, ADMIN_PASSWORD: weak }),
          (err: Error) => {
            assert.ok(err instanceof ConfigError);
            assert.match(err.message, /ADMIN_PASSWORD: (This password is too easy to guess|Passwords are 8)/);
            assert.ok(!err.message.includes(weak), "the error never quotes the password");
            return true;
          },
          `${env.NODE_ENV}: ${weak}`,
        );
      }
      assert.equal(loadConfig({ ...env, ADMIN_PASSWORD: "correct-horse-battery-staple" }).ADMIN_EMAIL, env.ADMIN_EMAIL);
    }
  });

  it("generates development secrets once and keeps them in DATA_DIR", () => {
    const first = loadConfig({ DATA_DIR: dataDir });
    const second = loadConfig({ DATA_DIR: dataDir });
    assert.ok(first.JWT_SECRET.length >= 32);
    assert.notEqual(first.JWT_SECRET, first.SESSION_JWT_SECRET);
    assert.equal(second.JWT_SECRET, first.JWT_SECRET);
    assert.equal(second.SESSION_JWT_SECRET, first.SESSION_JWT_SECRET);
    const mode = fs.statSync(path.join(dataDir, "secrets.json")).mode & 0o777;
    assert.equal(mode, 0o600);
    const given = loadConfig({ DATA_DIR: dataDir, JWT_SECRET: "z".repeat(40) });
    assert.equal(given.JWT_SECRET, "z".repeat(40), "the environment wins over the stored secret");
  });

  it("requires ADMIN_PASSWORD with ADMIN_EMAIL", () => {
    assert.throws(() => loadConfig({ DATA_DIR: dataDir, ADMIN_EMAIL: "ops@arcadia.test" }), /ADMIN_PASSWORD/);
    assert.throws(() => loadConfig({ DATA_DIR: dataDir, ADMIN_EMAIL: "nope", ADMIN_PASSWORD: "x" }), /ADMIN_EMAIL/);
  });

  it(".env.example lists every variable, and only those", () => {
    const example = fs.readFileSync(path.join(__dirname, "..", ".env.example"), "utf8");
    const listed = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    assert.deepEqual([...listed].sort(), [...ENV_VARIABLES].sort());
  });
});

describe("README environment table", () => {
  it("is what `npm run docs:env` writes from src/config.ts", async () => {
    const readme = fs.readFileSync(README, "utf8");
    assert.equal(readme, await withEnvTable(readme), "run `npm run docs:env` and commit README.md");
  });

  it("lists every variable with its schema default", async () => {
    const table = await renderEnvTable();
    for (const name of ENV_VARIABLES) assert.match(table, new RegExp(`^\\| \`${name}\` +\\|`, "m"));
    assert.match(table, /^\| `PLAY_BILLING_PERIOD_SEC` +\| `60` +\|/m);
    assert.match(table, /^\| `MATCH_REGIONS` +\| `eu,na,sa,as,af,oc` +\|/m);
    assert.match(table, /^\| `STRIPE_SECRET_KEY` +\| — +\|/m);
  });
});
