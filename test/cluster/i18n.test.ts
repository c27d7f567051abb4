import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { ADMIN } from "../helpers/app";
import { clusterDatabase } from "../helpers/database";
import { postTo, type ServerProcess, startServerProcess } from "../helpers/process";

/**
 * A translation changed through one process is served by the other without a restart: each
 * process's compiled-message cache is dropped through the `i18n.changed` presence event.
 */
describe("cluster: translation changes reach every process", function () {
  this.timeout(120_000);
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;

  before(async function () {
    const scratch = await clusterDatabase(this);
    if (!scratch) return;
    dropDatabase = scratch.drop;
    const env = {
      DATABASE_URL: scratch.url,
      REDIS_URL: scratch.redisUrl,
      REDIS_KEY_PREFIX: `i18n-${randomBytes(4).toString("hex")}:`,
      DATA_DIR: `/tmp/arcadia-i18n-cluster-${process.pid}`,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
    };
    // Ports of this suite's own range, one public address each.
    const start = (port: number) =>
      startServerProcess({ ...env, PORT: String(port), PUBLIC_ADDRESS: `127.0.0.1:${port}` });
    // One after the other: two first starts racing to create the ADMIN_EMAIL account collide on its email.
    a = await start(47410);
    b = await start(47411);
  });

  after(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await dropDatabase?.();
  });

  const notFoundMessage = async (server: ServerProcess) => {
    const res = await fetch(`${server.baseUrl}/api/nope`, { headers: { "Accept-Language": "es" } });
    assert.equal(res.headers.get("content-language"), "es");
    return (await res.json()).error.message as string;
  };

  it("a bulk upload on one process changes the other's answers", async () => {
    assert.equal(await notFoundMessage(b!), "No hay ninguna ruta para GET /api/nope", "both start from the catalogue");
    const login = await postTo(a!, "/api/auth/login", { email: ADMIN.email, password: ADMIN.password });
    const { accessToken } = await login.json();
    const res = await postTo(
      a!,
      "/api/translations/bulk",
      { lang: "es", messages: { "error.NOT_FOUND": "Ruta inexistente: {method} {path}" } },
      accessToken,
    );
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(await notFoundMessage(a!), "Ruta inexistente: GET /api/nope", "the answering process at once");
    // The other process applies the announcement when it arrives: wait for it (bounded), never a fixed sleep.
    const deadline = Date.now() + 10_000;
    let seen = await notFoundMessage(b!);
    while (seen !== "Ruta inexistente: GET /api/nope" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await notFoundMessage(b!);
    }
    assert.equal(seen, "Ruta inexistente: GET /api/nope");
  });
});
