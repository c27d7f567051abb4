import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseProcess, renderNginxConfig } from "../deploy/nginx/render";
import { nginxMissing } from "./helpers/nginx";

describe("deploy/nginx/arcadia.conf rendering", () => {
  const values = {
    listen: "127.0.0.1:42990",
    processes: ["3001", "edge=10.0.0.7:3001"].map(parseProcess),
    assetRoot: "/var/lib/arcadia/assets",
    cacheDir: "/var/cache/nginx/arcadia",
  };

  it("repeats the per-process blocks: one upstream server, upstream and seat route per process", () => {
    const conf = renderNginxConfig(values);
    assert.doesNotMatch(conf, /\{\{/);
    assert.match(conf, /server 127\.0\.0\.1:3001 max_fails/);
    assert.match(conf, /server 10\.0\.0\.7:3001 max_fails/);
    assert.match(conf, /location \/p\/3001\/ \{\s+proxy_pass http:\/\/arcadia_process_3001\/;/);
    assert.match(conf, /location \/p\/edge\/ \{\s+proxy_pass http:\/\/arcadia_process_edge\/;/);
    assert.match(conf, /proxy_cache_valid 200 204 5s;/);
  });

  it("refuses a process name that would break the config", () => {
    assert.throws(() => renderNginxConfig({ ...values, processes: [parseProcess("a b=1.2.3.4:1")] }), /process name/);
    assert.throws(() => renderNginxConfig({ ...values, processes: [] }), /at least one process/);
  });

  it("nginx -t accepts the rendered config", function () {
    const missing = nginxMissing();
    if (missing) {
      console.warn(`    skipped: ${missing}`);
      this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-nginx-t-"));
    try {
      fs.writeFileSync(path.join(dir, "arcadia.conf"), renderNginxConfig({ ...values, cacheDir: `${dir}/cache` }));
      fs.writeFileSync(
        path.join(dir, "nginx.conf"),
        `pid ${dir}/nginx.pid; error_log ${dir}/error.log; events {} http { include ${dir}/arcadia.conf; }`,
      );
      const r = spawnSync("nginx", ["-t", "-p", dir, "-e", `${dir}/error.log`, "-c", `${dir}/nginx.conf`], {
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
