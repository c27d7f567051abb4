import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { isUniqueViolation } from "../src/services/errors";
import { ADMIN, testApp, type TestApp } from "./helpers/app";
import { type Account, bearer, json, login, register, uniqueEmail } from "./helpers/users";
import { leaveAll, nextMessage, sdkFor } from "./helpers/video";

interface Language {
  code: string;
  name: string;
  active: boolean;
  isDefault: boolean;
}

/** A fresh language tag: ISO 639 reserves `qaa`–`qtz` for local use, so none is ever shipped. */
const letters = (n: number) => [...randomBytes(n)].map((b) => String.fromCharCode(97 + (b % 26))).join("");
/** A private-use language with a random region, in canonical form (a region such as `UK` is an alias of `GB`). */
const freshCode = () => Intl.getCanonicalLocales(`q${letters(2)}-${letters(2).toUpperCase()}`)[0];

describe("translations", () => {
  let t: TestApp;
  let admin: string;
  let user: Account;

  const languages = async (): Promise<Language[]> => (await (await t.fetch("/api/languages")).json()).languages;
  const put = (code: string, body: unknown, token = admin) =>
    t.fetch(`/api/languages/${code}`, { ...json(body, bearer(token)), method: "PUT" });
  const addLanguage = (body: unknown, token = admin) => t.fetch("/api/languages", json(body, bearer(token)));
  const bulk = (lang: string, messages: Record<string, string>, token = admin) =>
    t.fetch("/api/translations/bulk", json({ lang, messages }, bearer(token)));
  /** A new language for one test: fresh code, optionally active. */
  const newLanguage = async (active = false) => {
    const code = freshCode();
    const res = await addLanguage({ code, name: `Test ${code}`, active });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as Language;
  };

  before(async function () {
    this.timeout(120_000); // the first suite to run boots the shared app
    t = await testApp();
    admin = (await login(ADMIN.email, ADMIN.password, t)).accessToken;
    user = await register(t);
  });

  describe("languages", () => {
    it("lists the shipped languages with exactly one default, English", async () => {
      const list = await languages();
      for (const code of ["en", "es", "fr", "de", "pt"]) {
        assert.ok(
          list.some((l) => l.code === code && l.active),
          `${code} is shipped and active`,
        );
      }
      assert.deepEqual(
        list.filter((l) => l.isDefault).map((l) => l.code),
        ["en"],
      );
    });

    it("adds a language (admin only), canonicalising its BCP 47 tag; a second time is 409", async () => {
      const code = freshCode();
      assert.equal((await addLanguage({ code, name: "Nope" }, user.accessToken)).status, 403);
      const res = await addLanguage({ code: code.toLowerCase(), name: "Test", active: false });
      assert.equal(res.status, 201);
      assert.deepEqual(await res.json(), { code, name: "Test", active: false, isDefault: false });
      const again = await addLanguage({ code, name: "Test" });
      assert.equal(again.status, 409);
      assert.equal((await again.json()).error.code, "LANGUAGE_EXISTS");
      for (const bad of ["english", "e", "en_US", "en-US-x-private", ""]) {
        const refused = await addLanguage({ code: bad, name: "Bad" });
        assert.equal(refused.status, 400, bad);
        assert.equal((await refused.json()).error.code, "VALIDATION_FAILED", bad);
      }
    });

    it("moves the default atomically, activating the new one; the default is never deactivated or unset", async () => {
      const target = await newLanguage(false);
      try {
        const moved = await put(target.code, { isDefault: true });
        assert.equal(moved.status, 200, await moved.clone().text());
        assert.deepEqual(await moved.json(), { ...target, active: true, isDefault: true });
        const list = await languages();
        assert.deepEqual(
          list.filter((l) => l.isDefault).map((l) => l.code),
          [target.code],
          "exactly one default",
        );
        assert.equal(list[0].code, target.code, "the default is listed first");

        const deactivate = await put(target.code, { active: false });
        assert.equal(deactivate.status, 409);
        assert.equal((await deactivate.json()).error.code, "DEFAULT_LANGUAGE_INACTIVE");
        const unset = await put(target.code, { isDefault: false });
        assert.equal(unset.status, 409);
        assert.equal((await unset.json()).error.code, "DEFAULT_LANGUAGE_REQUIRED");
        const both = await put("en", { isDefault: true, active: false });
        assert.equal(both.status, 409, "a new default cannot be made inactive in the same request");
        assert.equal((await languages()).find((l) => l.isDefault)?.code, target.code, "refusals changed nothing");
      } finally {
        assert.equal((await put("en", { isDefault: true })).status, 200);
      }
      const list = await languages();
      assert.deepEqual(
        list.filter((l) => l.isDefault).map((l) => l.code),
        ["en"],
      );
      assert.equal(list.find((l) => l.code === target.code)?.isDefault, false);
    });

    it("concurrent moves of the default end with exactly one default", async () => {
      const [x, y] = [await newLanguage(true), await newLanguage(false)];
      try {
        const answers = await Promise.all([x, y, x, y].map((l) => put(l.code, { isDefault: true })));
        assert.deepEqual(
          answers.map((r) => r.status),
          [200, 200, 200, 200],
        );
        const defaults = (await languages()).filter((l) => l.isDefault).map((l) => l.code);
        assert.equal(defaults.length, 1);
        assert.ok([x.code, y.code].includes(defaults[0]));
      } finally {
        assert.equal((await put("en", { isDefault: true })).status, 200);
      }
    });

    it("renames and (de)activates a language; unknown codes are 404 and non-admins 403", async () => {
      const lang = await newLanguage(true);
      const renamed = await put(lang.code, { name: "Renamed", active: false });
      assert.deepEqual(await renamed.json(), { ...lang, name: "Renamed", active: false });
      assert.equal((await put(lang.code, { active: true }, user.accessToken)).status, 403);
      const unknown = await put("zz-ZZ", { active: true });
      assert.equal(unknown.status, 404);
      assert.equal((await unknown.json()).error.code, "UNKNOWN_LANGUAGE");
    });

    it("the database itself refuses a second default (partial unique index)", async () => {
      const code = freshCode();
      await assert.rejects(
        t.app.dataSource.query(
          `INSERT INTO languages (code, name, active, is_default) VALUES ($1, 'Rogue', true, true)`,
          [code],
        ),
        (err: unknown) => isUniqueViolation(err),
      );
      const lang = await newLanguage(true);
      await assert.rejects(
        t.app.dataSource.query(`UPDATE languages SET is_default = true WHERE code = $1`, [lang.code]),
        (err: unknown) => isUniqueViolation(err),
      );
      assert.deepEqual(
        (await languages()).filter((l) => l.isDefault).map((l) => l.code),
        ["en"],
      );
    });
  });

  describe("messages, bulk upload and coverage", () => {
    it("serves a language's messages; strict: 400 UNKNOWN_LANGUAGE / INACTIVE_LANGUAGE", async () => {
      const res = await t.fetch("/api/translations/fr", { headers: { "Accept-Language": "de" } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-language"), "fr", "the body is in the language asked for");
      const body = await res.json();
      assert.equal(body.lang, "fr");
      assert.equal(body.messages["error.USER_NOT_FOUND"], "Utilisateur introuvable");

      for (const lang of ["zz", "not-a-tag!"]) {
        const unknown = await t.fetch(`/api/translations/${lang}`);
        assert.equal(unknown.status, 400, lang);
        assert.equal((await unknown.json()).error.code, "UNKNOWN_LANGUAGE", lang);
      }
      const inactive = await newLanguage(false);
      const refused = await t.fetch(`/api/translations/${inactive.code}`);
      assert.equal(refused.status, 400);
      assert.equal((await refused.json()).error.code, "INACTIVE_LANGUAGE");
    });

    it("refuses a bulk upload with any bad message, naming every bad key, and writes none", async () => {
      const lang = await newLanguage(false);
      const res = await bulk(lang.code, {
        "error.USER_NOT_FOUND": "Kein {Nutzer",
        "error.LEADERBOARD_NOT_FOUND": "Keine Bestenliste {board}",
        "error.NO_SUCH_KEY_ANYWHERE": "Neu",
        "error.GAME_NOT_FOUND": "Kein Spiel",
      });
      assert.equal(res.status, 400);
      const { error } = await res.json();
      assert.equal(error.code, "INVALID_MESSAGES");
      const problems = Object.fromEntries(
        error.details.map((d: { key: string; problem: string }) => [d.key, d.problem]),
      );
      assert.deepEqual(problems, {
        "error.USER_NOT_FOUND": "SYNTAX",
        "error.LEADERBOARD_NOT_FOUND": "PLACEHOLDERS",
        "error.NO_SUCH_KEY_ANYWHERE": "NOT_IN_DEFAULT_LANGUAGE",
      });
      for (const key of Object.keys(problems)) assert.ok(error.message.includes(key), `the message names ${key}`);
      const coverage = await (await t.fetch(`/api/translations/${lang.code}/missing`)).json();
      assert.ok(coverage.missing.includes("error.GAME_NOT_FOUND"), "the good message was not written either");
      assert.equal(coverage.coverage, 0);
    });

    it("keeps the default language's placeholders: code fills them", async () => {
      const res = await bulk("en", { "error.LEADERBOARD_NOT_FOUND": "No leaderboard called {name}" });
      assert.equal(res.status, 400);
      assert.equal((await res.json()).error.details[0].problem, "PLACEHOLDERS");
      const unknown = await bulk("zz-ZZ", { "error.GAME_NOT_FOUND": "x" });
      assert.equal(unknown.status, 400);
      assert.equal((await unknown.json()).error.code, "UNKNOWN_LANGUAGE");
      assert.equal((await bulk("fr", { "error.GAME_NOT_FOUND": "x" }, user.accessToken)).status, 403);
    });

    it("reports missing keys and coverage, for inactive languages too", async () => {
      const lang = await newLanguage(false);
      const empty = await (await t.fetch(`/api/translations/${lang.code}/missing`)).json();
      const total = empty.missing.length;
      assert.ok(total > 100, `every default key is missing (${total})`);
      assert.deepEqual(empty, { lang: lang.code, missing: empty.missing, coverage: 0 });

      const written = await bulk(lang.code, {
        "error.GAME_NOT_FOUND": "Nessun gioco",
        "error.LEADERBOARD_NOT_FOUND": "Nessuna classifica {id}",
      });
      assert.equal(written.status, 200, await written.clone().text());
      assert.deepEqual(await written.json(), { lang: lang.code, written: 2 });
      const after = await (await t.fetch(`/api/translations/${lang.code}/missing`)).json();
      assert.equal(after.missing.length, total - 2);
      assert.ok(!after.missing.includes("error.GAME_NOT_FOUND"));
      assert.equal(after.coverage, Math.round(((total - (total - 2)) / total) * 10_000) / 10_000);

      for (const shipped of ["es", "fr", "de", "pt"]) {
        const full = await (await t.fetch(`/api/translations/${shipped}/missing`)).json();
        assert.deepEqual(full, { lang: shipped, missing: [], coverage: 1 }, `${shipped} is complete`);
      }
      assert.equal((await t.fetch("/api/translations/zz/missing")).status, 400);
    });

    it("a bulk update changes the very next response (the compiled-message cache is invalidated)", async () => {
      const before = await t.fetch("/api/nope", { headers: { "Accept-Language": "es" } });
      const original = (await before.json()).error.message;
      assert.equal(original, "No hay ninguna ruta para GET /api/nope");
      const changed = await bulk("es", { "error.NOT_FOUND": "Ruta inexistente: {method} {path}" });
      assert.equal(changed.status, 200);
      try {
        const after = await t.fetch("/api/nope", { headers: { "Accept-Language": "es" } });
        assert.equal((await after.json()).error.message, "Ruta inexistente: GET /api/nope");
      } finally {
        await bulk("es", { "error.NOT_FOUND": "No hay ninguna ruta para {method} {path}" });
      }
      const restored = await t.fetch("/api/nope", { headers: { "Accept-Language": "es" } });
      assert.equal((await restored.json()).error.message, original);
    });
  });

  describe("negotiation", () => {
    const languageOf = async (path: string, headers: Record<string, string> = {}) => {
      const res = await t.fetch(path, { headers });
      return { lang: res.headers.get("content-language"), body: await res.json() };
    };

    it("uses Accept-Language with q-values, region fallback and the default", async () => {
      assert.equal((await languageOf("/api/languages")).lang, "en");
      assert.equal((await languageOf("/api/languages", { "Accept-Language": "de;q=0.5, fr;q=0.9" })).lang, "fr");
      assert.equal((await languageOf("/api/languages", { "Accept-Language": "pt-BR,en;q=0.8" })).lang, "pt");
      assert.equal((await languageOf("/api/languages", { "Accept-Language": "xx-YY, *;q=0.1" })).lang, "en");
      assert.equal((await languageOf("/api/languages", { "Accept-Language": "fr;q=0, de" })).lang, "de");
      assert.equal((await languageOf("/api/languages", { "Accept-Language": ";;;,,q=" })).lang, "en");
    });

    it("the lang query parameter wins; an unknown or inactive one is passed over", async () => {
      const inactive = await newLanguage(false);
      const de = { "Accept-Language": "de" };
      assert.equal((await languageOf("/api/languages?lang=es", de)).lang, "es");
      assert.equal((await languageOf("/api/languages?lang=es-MX", de)).lang, "es");
      assert.equal((await languageOf("/api/languages?lang=zz", de)).lang, "de");
      assert.equal((await languageOf(`/api/languages?lang=${inactive.code}`, de)).lang, "de");
      assert.equal((await languageOf("/api/languages?lang=%%%", de)).lang, "de");
    });

    it("the signed-in user's locale comes before Accept-Language; /api/auth/me and the profile carry it", async () => {
      const account = await register(t);
      const profile = (locale: unknown) =>
        t.fetch(`/api/users/${account.user.id}`, { ...json({ locale }, bearer(account.accessToken)), method: "PUT" });
      assert.equal((await profile("not a tag")).status, 400);
      const saved = await profile("de-at");
      assert.equal(saved.status, 200);
      assert.equal((await saved.json()).locale, "de-AT");

      const headers = { ...bearer(account.accessToken), "Accept-Language": "fr" };
      const me = await languageOf("/api/auth/me", headers);
      assert.equal(me.body.user.locale, "de-AT");
      assert.equal(me.lang, "de", "de-AT falls back to de, before Accept-Language");
      assert.equal((await languageOf("/api/languages?lang=es", headers)).lang, "es", "the query still wins");
      const error = await languageOf("/api/nope", headers);
      assert.equal(error.body.error.message, "Keine Route für GET /api/nope", "also on routes without auth");

      assert.equal((await profile(null)).status, 200);
      assert.equal((await languageOf("/api/auth/me", headers)).lang, "fr", "no locale: Accept-Language again");
    });

    it("states Content-Language on answers of every kind", async () => {
      const headers = { "Accept-Language": "pt" };
      for (const path of ["/api/languages", "/api/nope", "/api/leaderboards/nope/records", "/api/auth/me"]) {
        const res = await t.fetch(path, { headers });
        assert.equal(res.headers.get("content-language"), "pt", path);
      }
      const refused = await t.fetch(
        "/api/auth/login",
        json({ email: uniqueEmail(), password: "x".repeat(8) }, headers),
      );
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get("content-language"), "pt");
    });
  });

  describe("localized errors and notices", () => {
    it("the HTTP error envelope: the code stays, the message is translated and filled in", async () => {
      const res = await t.fetch("/api/leaderboards/no-such-board/records", { headers: { "Accept-Language": "fr" } });
      assert.equal(res.status, 404);
      const { error } = await res.json();
      assert.equal(error.code, "LEADERBOARD_NOT_FOUND");
      assert.equal(error.message, "Aucun classement no-such-board");
      assert.ok(error.requestId);

      const english = await (await t.fetch("/api/leaderboards/no-such-board/records")).json();
      assert.equal(english.error.message, "No leaderboard no-such-board");
    });

    it("password feedback is translated, advice included", async () => {
      const attempt = (lang: string) =>
        t.fetch(
          "/api/auth/register",
          json({ email: uniqueEmail(), password: "password123!", displayName: "Weak" }, { "Accept-Language": lang }),
        );
      const de = (await (await attempt("de")).json()).error;
      const en = (await (await attempt("en")).json()).error;
      assert.equal(de.code, "WEAK_PASSWORD");
      assert.match(de.message, /^Dieses Passwort ist zu leicht zu erraten: \S/);
      for (const advice of en.details.suggestions as string[]) {
        assert.ok(!de.message.includes(advice), `"${advice}" is translated too`);
      }
      assert.match(en.message, /^This password is too easy to guess: \S/);
    });

    it("room errors follow the join option `lang`, else the user's locale", async () => {
      const account = await register(t);
      const set = await t.fetch(`/api/users/${account.user.id}`, {
        ...json({ locale: "es" }, bearer(account.accessToken)),
        method: "PUT",
      });
      assert.equal(set.status, 200);
      const byOption = await sdkFor(t, account).joinOrCreate("leaderboard", { boardId: "whack-daily", lang: "fr" });
      const byLocale = await sdkFor(t, account).joinOrCreate("leaderboard", { boardId: "whack-daily" });
      try {
        const fr = nextMessage<{ code: string; message: string }>(byOption, "error");
        byOption.send("shout");
        assert.deepEqual(await fr, { code: "UNKNOWN_MESSAGE", message: "Message inconnu : shout" });
        const es = nextMessage<{ code: string; message: string }>(byLocale, "error");
        byLocale.send("shout");
        assert.deepEqual(await es, { code: "UNKNOWN_MESSAGE", message: "Mensaje desconocido: shout" });
      } finally {
        await leaveAll(byOption, byLocale);
      }
    });

    it("a user notice's texts reach each of the user's rooms in that room's language", async () => {
      const account = await register(t);
      const fr = await sdkFor(t, account).joinOrCreate("leaderboard", { boardId: "whack-daily", lang: "fr" });
      const de = await sdkFor(t, account).joinOrCreate("leaderboard", { boardId: "whack-daily", lang: "de-CH" });
      try {
        const got = [nextMessage(fr, "test:notice"), nextMessage(de, "test:notice")];
        await t.app.services.events.publish("user.notice", "all", {
          userId: account.user.id,
          type: "test:notice",
          message: { id: 7 },
          texts: { text: { key: "notice.moderation.ban", fallback: "You are banned from video chat" } },
        });
        assert.deepEqual(await Promise.all(got), [
          { id: 7, text: "Vous êtes exclu du chat vidéo" },
          { id: 7, text: "Du bist vom Videochat gesperrt" },
        ]);
      } finally {
        await leaveAll(fr, de);
      }
    });
  });
});
