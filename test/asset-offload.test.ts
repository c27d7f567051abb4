import http from "node:http";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import express from "express";
import { loadConfig } from "../src/config";
import { offloadToNginx } from "../src/http/range-response";
import { listenOnLoopback } from "./helpers/listen";

describe("asset offload to nginx (ASSET_ACCEL_REDIRECT_PREFIX)", () => {
  it("answers with an encoded X-Accel-Redirect to the internal location and no body", async () => {
    const app = express();
    app.get("/a", (_req, res) => offloadToNginx(res, "/_assets/", "game-1/level one.bin", "application/octet-stream"));
    const server = await listenOnLoopback(http.createServer(app));
    try {
      const res = await fetch(`${server.url}/a`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-accel-redirect"), "/_assets/game-1/level%20one.bin");
      assert.equal(res.headers.get("content-type"), "application/octet-stream");
      assert.equal((await res.arrayBuffer()).byteLength, 0);
    } finally {
      await server.close();
    }
  });

  it("the prefix must be a path starting and ending with /", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-offload-"));
    assert.equal(
      loadConfig({ DATA_DIR: dir, ASSET_ACCEL_REDIRECT_PREFIX: "/_assets/" }).ASSET_ACCEL_REDIRECT_PREFIX,
      "/_assets/",
    );
    assert.equal(loadConfig({ DATA_DIR: dir, ASSET_ACCEL_REDIRECT_PREFIX: "" }).ASSET_ACCEL_REDIRECT_PREFIX, undefined);
    assert.throws(
      () => loadConfig({ DATA_DIR: dir, ASSET_ACCEL_REDIRECT_PREFIX: "_assets" }),
      /ASSET_ACCEL_REDIRECT_PREFIX/,
    );
  });
});
