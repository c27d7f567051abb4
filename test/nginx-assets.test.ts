import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { type TestApp, testApp } from "./helpers/app";
import { nginxMissing, type RunningNginx, startNginx } from "./helpers/nginx";
import { demoGame, heartbeat, sleep, startSession, stop } from "./helpers/play";
import { bearer, register } from "./helpers/users";

/** The authoriser's answers live this long in nginx (production uses 5 s; short here to wait it out). */
const AUTH_TTL_MS = 1000;

describe("production asset mode: deploy/nginx in front of the server (auth_request, nginx sends the bytes)", function () {
  let t: TestApp;
  let nginx: RunningNginx | undefined;
  let token: string;
  let game: Awaited<ReturnType<typeof demoGame>>;

  before(async function () {
    const missing = nginxMissing();
    if (missing) {
      console.warn(`    skipped: ${missing}`);
      this.skip();
    }
    t = await testApp();
    nginx = await startNginx({
      processes: [{ name: "a", address: `127.0.0.1:${t.app.port}` }],
      assetRoot: t.app.config.ASSET_STORAGE_ROOT,
      assetAuthTtl: `${AUTH_TTL_MS / 1000}s`,
    });
  });
  after(async () => {
    await nginx?.stop();
  });
  let beating: NodeJS.Timeout | undefined;
  beforeEach(async () => {
    game = await demoGame(t, "demo-arcade");
    token = (await startSession(t, (await register()).accessToken, game.id)).body.sessionToken;
    // Sessions here expire 2 s after the last heartbeat: a slow machine must not end them mid-test.
    beating = setInterval(() => void (token && heartbeat(t, token).catch(() => {})), 500);
  });
  afterEach(async () => {
    clearInterval(beating);
    if (token) await stop(t, token);
  });

  const music = () => game.assets.find((a) => a.name === "music.ogg")!;
  const viaNginx = (path: string, headers: Record<string, string> = {}) => fetch(`${nginx!.url}${path}`, { headers });
  const direct = async (path: string) =>
    Buffer.from(await (await t.fetch(path, { headers: bearer(token) })).arrayBuffer());
  const signedUrl = async () =>
    (await (await t.fetch(`/api/assets/${music().id}/url`, { headers: bearer(token) })).json()).url as string;

  it("a session token reads its game's asset whole and by ranges; the bytes come from nginx", async () => {
    const asset = music();
    const bytes = await direct(`/api/assets/${asset.id}`);
    const full = await viaNginx(`/api/assets/${asset.id}`, bearer(token));
    assert.equal(full.status, 200, nginx!.errorLog());
    assert.equal(full.headers.get("content-type"), "audio/ogg");
    assert.equal(full.headers.get("accept-ranges"), "bytes");
    assert.equal(full.headers.get("x-asset-path"), null, "the file's place stays inside nginx");
    // nginx's own ETag (mtime and size), not the server's SHA-256: nginx answered, not Node.
    assert.notEqual(full.headers.get("etag"), `"${asset.sha256}"`);
    assert.deepEqual(Buffer.from(await full.arrayBuffer()), bytes);

    const range = await viaNginx(`/api/assets/${asset.id}`, { ...bearer(token), Range: "bytes=1000-1999" });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get("content-range"), `bytes 1000-1999/${asset.size}`);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), bytes.subarray(1000, 2000));
    const suffix = await viaNginx(`/api/assets/${asset.id}`, { ...bearer(token), Range: "bytes=-10" });
    assert.equal(suffix.status, 206);
    assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), bytes.subarray(bytes.length - 10));
    const unsatisfiable = await viaNginx(`/api/assets/${asset.id}`, {
      ...bearer(token),
      Range: `bytes=${asset.size}-`,
    });
    assert.equal(unsatisfiable.status, 416);
  });

  it("refuses another game's asset, an unknown asset and a missing or forged token; the authoriser is internal", async () => {
    const other = await demoGame(t, "whack-arena-deluxe");
    assert.equal((await viaNginx(`/api/assets/${other.assets[0].id}`, bearer(token))).status, 403);
    assert.equal((await viaNginx(`/api/assets/00000000-0000-4000-8000-000000000000`, bearer(token))).status, 403);
    assert.equal((await viaNginx(`/api/assets/${music().id}`)).status, 401);
    assert.equal((await viaNginx(`/api/assets/${music().id}`, bearer(`${token.slice(0, -2)}xx`))).status, 401);
    assert.equal((await viaNginx(`/api/assets/${music().id}/access`, bearer(token))).status, 404);
  });

  it("signed URLs: 206 with ranges; a bad signature, another asset or an expired URL get 401", async () => {
    const url = await signedUrl();
    const ranged = await viaNginx(url, { Range: "bytes=0-9" });
    assert.equal(ranged.status, 206, nginx!.errorLog());
    assert.equal(ranged.headers.get("content-range"), `bytes 0-9/${music().size}`);
    const tampered = url.replace(/sig=(.)/, (_: string, c: string) => `sig=${c === "A" ? "B" : "A"}`);
    assert.equal((await viaNginx(tampered)).status, 401);
    const otherAsset = url.replace(music().id, game.assets.find((a) => a.name === "loader.js")!.id);
    assert.equal((await viaNginx(otherAsset)).status, 401, "a signature is bound to its asset");
    // Correctly signed, but a second ago: only the expiry refuses it.
    const sid = /sid=([^&]+)/.exec(url)![1];
    const exp = Math.floor(Date.now() / 1000) - 1;
    const sig = createHmac("sha256", t.app.config.SESSION_JWT_SECRET)
      .update(`asset:${music().id}:${sid}:${exp}`)
      .digest("base64url");
    const expired = await viaNginx(`/api/assets/${music().id}?sid=${sid}&exp=${exp}&sig=${sig}`);
    assert.equal(expired.status, 401);
  });

  it("a stopped session's token and signed URLs fail once the cached authorisation expires", async () => {
    const url = await signedUrl();
    assert.equal((await viaNginx(`/api/assets/${music().id}`, bearer(token))).status, 200);
    assert.equal((await viaNginx(url, { Range: "bytes=0-0" })).status, 206);
    const stopped = token;
    token = "";
    assert.equal((await stop(t, stopped)).status, 200);
    // nginx keeps whole seconds: an answer cached at x.9 s with 1 s lives until (x + 2) s.
    await sleep(AUTH_TTL_MS + 1500);
    assert.equal((await viaNginx(`/api/assets/${music().id}`, bearer(stopped))).status, 401);
    assert.equal((await viaNginx(url, { Range: "bytes=0-0" })).status, 401);
  });
});
