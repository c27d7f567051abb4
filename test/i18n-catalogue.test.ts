import assert from "node:assert/strict";
import path from "node:path";
import { SHIPPED_LANGUAGES } from "../src/i18n/catalogue";
import { checkMessage, CompiledMessage, samePlaceholders } from "../src/services/i18n-messages";
import { emptyScan, scanSource, scanSources } from "./helpers/message-keys";

/**
 * Every site where an error code or message key is not a literal, with what it can carry.
 * `[]`: it forwards a code or key made (and scanned) elsewhere. A new dynamic site fails the
 * test until it is listed here with its codes, so no code reaches clients without a message.
 */
const DYNAMIC_SITES: Record<string, { codes?: string[]; keys?: string[] }> = {
  "src/http/errors.ts: code": {},
  "src/http/errors.ts: err.code": {},
  "src/http/errors.ts: `error.${code}`": {},
  "src/http/language.ts: key": {},
  "src/rooms/PlaySessionRoom.ts: answer.code": {},
  "src/rooms/stream-chat.ts: refusal.code": { codes: ["MUTED"] },
  "src/rooms/VideoCallRoom.ts: answer.code": {},
  "src/rooms/WhackRoom.ts: verdict.outcome": { codes: ["MISS", "ALREADY_HIT", "UNKNOWN_MOLE", "WRONG_HOLE"] },
  "src/rooms/WhackRoom.ts: code": {},
  "src/rooms/guard.ts: code": {},
  "src/rooms/messages.ts: key": {},
  "src/rooms/messages.ts: reply.code": {},
  "src/rooms/messages.ts: `error.${code}`": {},
  "src/rooms/messages.ts: `notice.moderation.${action}`": {
    keys: ["notice.moderation.warn", "notice.moderation.end_call", "notice.moderation.ban"],
  },
  "src/rooms/user-notices.ts: ref.key": {},
  "src/services/errors.ts: code": {},
  // recordText: a record's own key (badge.<id>.name …), present only for what the catalogue ships.
  "src/services/i18n.ts: key": {},
  "src/services/i18n.ts: value.key": {},
  "src/services/jwt.ts: expected.codes.expired": {},
  "src/services/jwt.ts: expected.codes.invalid": {},
  "src/services/refresh-tokens.ts: `REFRESH_TOKEN_${result.reason.toUpperCase()}`": {
    codes: ["REFRESH_TOKEN_UNKNOWN", "REFRESH_TOKEN_EXPIRED", "REFRESH_TOKEN_REVOKED", "REFRESH_TOKEN_REUSED"],
  },
  "src/services/room-gateway.ts: answer.code": {},
};

const [defaultLanguage, ...others] = SHIPPED_LANGUAGES;
const defaults = defaultLanguage.messages;

describe("translations catalogue (static)", () => {
  const scan = scanSources(path.join(__dirname, "..", "src"));

  it("the scan finds codes in each form it knows (so it would see a new one)", () => {
    for (const code of [
      "UNKNOWN_LANGUAGE", // badRequest("CODE")
      "UNAUTHORIZED", // unauthorized() without a code
      "LEADERBOARD_NOT_FOUND", // notFound(message, "CODE")
      "MALFORMED_JSON", // PARSER_ERRORS tuple
      "CHOICE_NOT_OPEN", // { code: "CODE" } room answer
      "TOKEN_EXPIRED", // jwt `codes` table
      "NO_EMAIL", // conditional code
      "NOT_PLAYING", // refuse(client, "CODE")
      "PEER_AWAY", // room sendError(client, "CODE")
      "RATE_LIMITED", // HTTP sendError(req, res, 429, "CODE")
      "HEADERS_TOO_LARGE", // errorBody(id, "CODE")
    ]) {
      assert.ok(scan.codes.has(code), `${code} found`);
    }
    const synthetic = scanSource(
      `throw badRequest("BRAND_NEW_CODE", "x"); sendError(client, "ROOM_ONLY_CODE", "y"); i18n.text(lang, "badge.new.name");`,
      "synthetic.ts",
      emptyScan(),
    );
    assert.deepEqual([...synthetic.codes.keys()].sort(), ["BRAND_NEW_CODE", "ROOM_ONLY_CODE"]);
    assert.deepEqual([...synthetic.keys.keys()], ["badge.new.name"]);
    assert.ok(!("error.BRAND_NEW_CODE" in defaults), "…and such a code would fail the next test");
  });

  it("every code and key the code can send has a message in the default language", () => {
    const dynamic = new Set(scan.dynamic.map((d) => `${d.site}: ${d.expression}`));
    assert.deepEqual([...dynamic].sort(), Object.keys(DYNAMIC_SITES).sort(), "dynamic sites, each listed above");
    const codes = [...scan.codes.keys(), ...Object.values(DYNAMIC_SITES).flatMap((s) => s.codes ?? [])];
    const keys = [
      ...codes.map((code) => `error.${code}`),
      ...scan.keys.keys(),
      ...Object.values(DYNAMIC_SITES).flatMap((s) => s.keys ?? []),
    ];
    const missing = keys.filter((key) => !(key in defaults));
    assert.deepEqual(
      missing,
      [],
      `missing from ${defaultLanguage.code}.json (used at ${missing.map((k) => scan.codes.get(k.slice(6))?.[0]).join(", ")})`,
    );
  });

  it("the password-strength advice has a message for each of the estimator's keys", () => {
    /* eslint-disable-next-line @typescript-eslint/no-require-imports */
    const { translations } = require("@zxcvbn-ts/language-en") as typeof import("@zxcvbn-ts/language-en");
    const keys = [
      ...Object.keys(translations.warnings).map((k) => `password.warning.${k}`),
      ...Object.keys(translations.suggestions).map((k) => `password.suggestion.${k}`),
    ];
    assert.deepEqual(
      keys.filter((k) => !(k in defaults)),
      [],
    );
  });

  it("every shipped message parses, and every other language is complete with the same placeholders", () => {
    const problems: string[] = [];
    const reference = new Map(
      Object.entries(defaults).map(([key, text]) => {
        const checked = checkMessage(text);
        if (!checked.ok) problems.push(`${defaultLanguage.code} ${key}: ${checked.error}`);
        return [key, checked.ok ? checked.placeholders : new Set<string>()];
      }),
    );
    for (const { code, messages } of others) {
      for (const key of reference.keys()) if (!(key in messages)) problems.push(`${code} ${key}: missing`);
      for (const [key, text] of Object.entries(messages)) {
        const expected = reference.get(key);
        const checked = checkMessage(text);
        if (!expected) problems.push(`${code} ${key}: not in ${defaultLanguage.code}`);
        else if (!checked.ok) problems.push(`${code} ${key}: ${checked.error}`);
        else if (!samePlaceholders(expected, checked.placeholders))
          problems.push(`${code} ${key}: placeholders differ`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it("renders: plurals, selects whose value is absent take `other`, missing values throw", () => {
    const funds = new CompiledMessage(defaults["error.INSUFFICIENT_FUNDS"], "en");
    assert.equal(funds.render({}), "Not enough tokens");
    assert.equal(funds.render({ context: "queue", needed: 1 }), "Video chat needs at least 1 token");
    assert.equal(
      new CompiledMessage(SHIPPED_LANGUAGES[2].messages["error.INSUFFICIENT_FUNDS"], "fr").render({
        context: "queue",
        needed: 2,
      }),
      "Le chat vidéo nécessite au moins 2 jetons",
    );
    assert.equal(new CompiledMessage("Bearer <accessToken> '@'", "en").render({}), "Bearer <accessToken> '@'");
    assert.throws(() => new CompiledMessage(defaults["error.LEADERBOARD_NOT_FOUND"], "en").render({}));
  });
});
