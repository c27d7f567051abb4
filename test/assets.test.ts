import assert from "node:assert/strict";
import { testApp, type TestApp, ADMIN } from "./helpers/app";
import { demoGame, startSession, stop } from "./helpers/play";
import { type Account, bearer, login, register } from "./helpers/users";

describe("game assets", () => {
  let t: TestApp;
  let player: Account;
  let token: string;
  let game: Awaited<ReturnType<typeof demoGame>>;
  beforeEach(async () => {
    t = await testApp();
    player = await register();
    game = await demoGame(t, "demo-arcade");
    token = (await startSession(t, player.accessToken, game.id)).body.sessionToken;
  });
  afterEach(async () => {
    await stop(t, token);
  });
  const music = () => game.assets.find((a) => a.name === "music.ogg")!;
  const get = (path: string, headers: Record<string, string> = {}) =>
    t.fetch(path, { headers: { ...bearer(token), ...headers } });

  it("streams the session's game asset with a strong ETag and byte ranges", async () => {
    const asset = music();
    const full = await get(`/api/assets/${asset.id}`);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get("etag"), `"${asset.sha256}"`);
    assert.equal(full.headers.get("accept-ranges"), "bytes");
    assert.equal(full.headers.get("content-type"), "audio/ogg");
    const bytes = Buffer.from(await full.arrayBuffer());
    assert.equal(bytes.length, asset.size);
    const range = await get(`/api/assets/${asset.id}`, { Range: "bytes=1000-1999" });
    assert.equal(range.status, 206);
    assert.equal(range.headers.get("content-range"), `bytes 1000-1999/${asset.size}`);
    assert.deepEqual(Buffer.from(await range.arrayBuffer()), bytes.subarray(1000, 2000));
    const notModified = await get(`/api/assets/${asset.id}`, { "If-None-Match": `"${asset.sha256}"` });
    assert.equal(notModified.status, 304);
    const unsatisfiable = await get(`/api/assets/${asset.id}`, { Range: `bytes=${asset.size}-` });
    assert.equal(unsatisfiable.status, 416);
    assert.equal(unsatisfiable.headers.get("content-range"), `bytes */${asset.size}`);
  });

  it("refuses another game's asset (403) and any asset once the session ended (401)", async () => {
    const other = await demoGame(t, "whack-arena-deluxe");
    assert.equal((await get(`/api/assets/${other.assets[0].id}`)).status, 403);
    assert.equal((await get(`/api/assets/00000000-0000-4000-8000-000000000000`)).status, 404);
    assert.equal((await stop(t, token)).status, 200);
    const after = await get(`/api/assets/${music().id}`);
    assert.equal(after.status, 401);
    assert.equal((await after.json()).error.code, "SESSION_ENDED");
  });

  it("signed URLs work without headers for 60 s and die with the session", async () => {
    const signed = await (await get(`/api/assets/${music().id}/url`)).json();
    assert.ok(Date.parse(signed.expiresAt) - Date.now() <= 60_000);
    const viaUrl = await t.fetch(signed.url, { headers: { Range: "bytes=0-9" } });
    assert.equal(viaUrl.status, 206);
    // Flip the signature's first character (to a different one: "A" would be a no-op for 1 in 64 signatures).
    const tampered = signed.url.replace(/sig=(.)/, (_: string, c: string) => `sig=${c === "A" ? "B" : "A"}`);
    assert.equal((await t.fetch(tampered)).status, 401);
    const otherAsset = signed.url.replace(music().id, game.assets.find((a) => a.name === "loader.js")!.id);
    assert.equal((await t.fetch(otherAsset)).status, 401, "a signature is bound to its asset");
    const expired = signed.url.replace(/exp=\d+/, `exp=${Math.floor(Date.now() / 1000) - 5}`);
    assert.equal((await t.fetch(expired)).status, 401);
    await stop(t, token);
    assert.equal((await t.fetch(signed.url)).status, 401);
    assert.equal((await t.fetch(`/api/assets/${music().id}`)).status, 401);
  });

  it("admins add games and upload assets (streamed, hashed, size-limited); others may not", async () => {
    const admin = await login(ADMIN.email, ADMIN.password);
    const slug = `uploaded-${Date.now()}`;
    const create = (tok: string) =>
      t.fetch("/api/games", {
        method: "POST",
        headers: { ...bearer(tok), "Content-Type": "application/json" },
        body: JSON.stringify({ slug, title: "Uploaded", pricePerMinute: 0 }),
      });
    assert.equal((await create(player.accessToken)).status, 403);
    const created = await create(admin.accessToken);
    assert.equal(created.status, 201);
    const { id } = await created.json();
    const upload = (body: Buffer, name = "level.json") =>
      t.fetch(`/api/games/${id}/assets?name=${name}`, {
        method: "POST",
        headers: { ...bearer(admin.accessToken), "Content-Type": "application/json" },
        body: new Uint8Array(body),
      });
    const content = Buffer.from(JSON.stringify({ level: 1, tiles: "x".repeat(5000) }));
    const uploaded = await upload(content);
    assert.equal(uploaded.status, 201);
    const asset = await uploaded.json();
    assert.equal(asset.size, content.length);
    assert.match(asset.sha256, /^[0-9a-f]{64}$/);
    const tooBig = await upload(Buffer.alloc(1024 * 1024 + 1));
    assert.equal(tooBig.status, 413);
    assert.equal(
      (await upload(content, "..%2F..%2Fetc%2Fpasswd")).status,
      400,
      "names are checked; paths are the server's",
    );
    const listed = await (await t.fetch(`/api/games/${id}`)).json();
    assert.equal(listed.assets.length, 1);
  });

  it("never resolves a stored path outside ASSET_STORAGE_ROOT", async () => {
    const games = t.app.services.games;
    assert.ok(games.resolveInside("abc/def.bin").startsWith(t.app.config.ASSET_STORAGE_ROOT));
    for (const escape of ["../secrets.json", "a/../../x", "/etc/passwd", "..", ""]) {
      assert.throws(() => games.resolveInside(escape), /outside the storage root/, escape);
    }
  });

  it("counts bytes and range kinds in /metrics", async () => {
    await get(`/api/assets/${music().id}`, { Range: "bytes=0-99" });
    const text = await (await t.fetch("/metrics")).text();
    assert.match(text, /assets_bytes_served_total [1-9]/);
    assert.match(text, /assets_range_requests_total\{kind="single"\} [1-9]/);
    assert.match(text, /play_sessions_started_total [1-9]/);
    assert.match(text, /play_sessions_live \d+/);
  });
});
