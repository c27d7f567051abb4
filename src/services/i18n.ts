import type { Logger } from "pino";
import type { DataSource, EntityManager } from "typeorm";
import { SHIPPED_LANGUAGES } from "../i18n/catalogue";
import { AppError, badRequest, conflict } from "./errors";
import type { DomainEvents } from "./events";
import {
  checkMessage,
  CompiledMessage,
  isMessageRef,
  type MessageParam,
  type MessageParams,
  samePlaceholders,
} from "./i18n-messages";
import { canonicalTag, fallbackTags, pickLanguage } from "./language-tags";

export interface LanguageView {
  code: string;
  name: string;
  active: boolean;
  isDefault: boolean;
}

/** Why one message of a bulk upload was refused. */
export interface MessageProblem {
  key: string;
  problem: "SYNTAX" | "PLACEHOLDERS" | "NOT_IN_DEFAULT_LANGUAGE";
  detail: string;
}

/** Everything `text` and negotiation read, swapped whole when translations change. */
interface Snapshot {
  languages: Map<string, LanguageView>;
  active: Set<string>;
  defaultCode: string;
  messages: Map<string, Map<string, string>>;
  loadedAt: number;
}

export interface I18nOptions {
  /** How old a process's copy may get before it reloads anyway (a change announcement lost while Redis reconnected). */
  maxAgeMs?: number;
}

/**
 * Languages and translations. Every process keeps the languages and all messages in memory (a
 * snapshot) and compiles messages on first use, so `text` and language negotiation are synchronous
 * and cost no query. A change (bulk upload, language edit) reloads the snapshot on this process
 * before it answers, and on every other process through the `i18n.changed` presence event.
 */
export class I18nService {
  private snapshot?: Snapshot;
  private readonly compiled = new Map<string, { text: string; message: CompiledMessage }>();
  private readonly broken = new Set<string>();
  private running?: Promise<void>;
  private queued?: Promise<void>;
  private unsubscribe?: () => void;
  private readonly maxAgeMs: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: DomainEvents,
    private readonly logger: Pick<Logger, "warn" | "error">,
    options: I18nOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
  }

  /** Adds the shipped languages and messages the database lacks, loads the snapshot, listens for changes. */
  async start(): Promise<void> {
    await this.installShipped();
    this.unsubscribe = await this.events.subscribe("i18n.changed", "all", () => this.reload());
    await this.reload();
  }

  stop(): void {
    this.unsubscribe?.();
  }

  // --- reads for every request and room message (synchronous, from the snapshot) ---

  get defaultLanguage(): string {
    return this.snapshot?.defaultCode ?? SHIPPED_LANGUAGES[0].code;
  }

  /**
   * The active language that serves the first of `wanted` it can (each tag, then its less specific
   * forms: `pt-BR` → `pt`), else the default. Invalid or empty entries are skipped.
   */
  pick(wanted: Iterable<string | null | undefined>): string {
    const snapshot = this.current();
    if (!snapshot) return this.defaultLanguage;
    const tags = [...wanted].flatMap((tag) => {
      if (tag === "*") return [tag];
      const canonical = tag ? canonicalTag(tag) : undefined;
      return canonical ? [canonical] : [];
    });
    return pickLanguage(tags, snapshot.active, snapshot.defaultCode) ?? snapshot.defaultCode;
  }

  /**
   * The message `key` in `lang`, else in its less specific forms, else in the default language,
   * else `fallback` (the English literal in code), else the key itself. A language's message that
   * cannot be rendered (a placeholder without a value) is skipped like a missing one.
   */
  text(lang: string | undefined, key: string, params?: MessageParams, fallback?: string): string {
    const snapshot = this.current();
    if (snapshot) {
      for (const code of this.chain(snapshot, lang)) {
        const text = snapshot.messages.get(code)?.get(key);
        if (text === undefined) continue;
        try {
          return this.compile(code, key, text).render(this.values(code, params));
        } catch (err) {
          const id = `${code}:${key}`;
          if (!this.broken.has(id)) this.logger.warn({ err, lang: code, key }, "message could not be rendered");
          this.broken.add(id);
        }
      }
    }
    return fallback ?? key;
  }

  /**
   * A text kept on its own record and edited there by admins (a badge's name): the record holds
   * the default language's wording; another language shows `key`'s translation when it has one
   * (or its less specific form has), else the record's text.
   */
  recordText(lang: string | undefined, key: string, own: string): string {
    const snapshot = this.current();
    if (!snapshot || !lang) return own;
    for (const code of this.chain(snapshot, lang)) {
      if (code === snapshot.defaultCode) break;
      if (snapshot.messages.get(code)?.has(key)) return this.text(code, key, undefined, own);
    }
    return own;
  }

  private chain(snapshot: Snapshot, lang: string | undefined): string[] {
    const tags = lang ? fallbackTags(lang).filter((code) => snapshot.active.has(code)) : [];
    return [...new Set([...tags, snapshot.defaultCode])];
  }

  private compile(code: string, key: string, text: string): CompiledMessage {
    const id = `${code}\n${key}`;
    const hit = this.compiled.get(id);
    if (hit?.text === text) return hit.message;
    const message = new CompiledMessage(text, code);
    this.compiled.set(id, { text, message });
    return message;
  }

  private values(code: string, params: MessageParams | undefined): Record<string, string | number | Date> {
    const values: Record<string, string | number | Date> = {};
    const resolve = (value: MessageParam): string | number | Date => {
      if (Array.isArray(value)) return value.map(resolve).join(" ");
      return isMessageRef(value) ? this.text(code, value.key, value.params, value.fallback) : value;
    };
    for (const [name, value] of Object.entries(params ?? {})) values[name] = resolve(value);
    return values;
  }

  private current(): Snapshot | undefined {
    if (this.snapshot && Date.now() - this.snapshot.loadedAt > this.maxAgeMs && !this.running && !this.queued) {
      this.reload().catch((err) => this.logger.error({ err }, "reloading translations failed"));
    }
    return this.snapshot;
  }

  // --- languages ---

  async languages(): Promise<LanguageView[]> {
    const rows = await this.dataSource.query(
      `SELECT code, name, active, is_default FROM languages ORDER BY is_default DESC, code`,
    );
    return rows.map(toView);
  }

  async addLanguage(input: { code: string; name: string; active?: boolean }): Promise<LanguageView> {
    const code = validTag(input.code);
    const rows = await this.dataSource.query(
      `INSERT INTO languages (code, name, active, is_default) VALUES ($1, $2, $3, false)
       ON CONFLICT DO NOTHING RETURNING code, name, active, is_default`,
      [code, input.name, input.active ?? true],
    );
    if (rows.length === 0)
      throw conflict("LANGUAGE_EXISTS", `The language ${code} already exists`).withParams({ lang: code });
    await this.changed();
    return toView(rows[0]);
  }

  /**
   * Renames, (de)activates, or makes the language the default. Moving the default is one
   * transaction (the old one unset, then the new one set and activated): never zero defaults, and
   * the database's unique index forbids two. The default cannot be deactivated or unset directly.
   */
  async updateLanguage(rawCode: string, changes: { name?: string; active?: boolean; isDefault?: boolean }) {
    const code = canonicalTag(rawCode) ?? rawCode;
    const view = await this.dataSource.transaction(async (m) => {
      // Language edits are rare: one at a time, so two concurrent moves of the default cannot interleave.
      await m.query(`LOCK TABLE languages IN SHARE ROW EXCLUSIVE MODE`);
      const [row] = await m.query(`SELECT code, is_default FROM languages WHERE code = $1`, [code]);
      if (!row) throw new AppError(404, "UNKNOWN_LANGUAGE", `Unknown language ${code}`).withParams({ lang: code });
      const makeDefault = changes.isDefault === true && !row.is_default;
      if (changes.isDefault === false && row.is_default) {
        throw conflict(
          "DEFAULT_LANGUAGE_REQUIRED",
          "There must be a default language: make another language the default instead",
        );
      }
      if (changes.active === false && (row.is_default || changes.isDefault === true)) {
        throw conflict(
          "DEFAULT_LANGUAGE_INACTIVE",
          "The default language cannot be inactive: make another language the default first",
        );
      }
      if (makeDefault) await m.query(`UPDATE languages SET is_default = false WHERE is_default`);
      await m.query(
        `UPDATE languages SET name = COALESCE($2, name), active = COALESCE($3, active) OR $4, is_default = is_default OR $4
         WHERE code = $1`,
        [code, changes.name ?? null, changes.active ?? null, makeDefault],
      );
      const [updated] = await m.query(`SELECT code, name, active, is_default FROM languages WHERE code = $1`, [code]);
      return toView(updated);
    });
    await this.changed();
    return view;
  }

  // --- translations ---

  /** The language's own messages. Strict: 400 UNKNOWN_LANGUAGE or INACTIVE_LANGUAGE. */
  async messages(rawLang: string): Promise<{ lang: string; messages: Record<string, string> }> {
    const lang = await this.requireLanguage(this.dataSource.manager, rawLang, { active: true });
    const rows: Array<{ key: string; text: string }> = await this.dataSource.query(
      `SELECT key, text FROM translations WHERE lang = $1 ORDER BY key`,
      [lang],
    );
    return { lang, messages: Object.fromEntries(rows.map((r) => [r.key, r.text])) };
  }

  /** Keys of the default language that `lang` lacks, and the share it has (inactive languages too: coverage is checked before activating). */
  async missing(rawLang: string): Promise<{ lang: string; missing: string[]; coverage: number }> {
    const lang = await this.requireLanguage(this.dataSource.manager, rawLang, { active: false });
    const [rows, [{ total }]] = await Promise.all([
      this.dataSource.query(
        `SELECT d.key FROM translations d JOIN languages l ON l.code = d.lang AND l.is_default
         WHERE NOT EXISTS (SELECT 1 FROM translations t WHERE t.lang = $1 AND t.key = d.key) ORDER BY d.key`,
        [lang],
      ),
      this.dataSource.query(
        `SELECT count(*)::int AS total FROM translations d JOIN languages l ON l.code = d.lang AND l.is_default`,
      ),
    ]);
    const missing = (rows as Array<{ key: string }>).map((r) => r.key);
    const coverage = total === 0 ? 1 : Math.round(((total - missing.length) / total) * 10_000) / 10_000;
    return { lang, missing, coverage };
  }

  /**
   * Inserts or replaces messages of one language, all or none. Each must be valid ICU
   * MessageFormat with the placeholders of the default language's message of that key (which
   * must exist); in the default language, an existing message keeps its placeholders (the code
   * fills them). 400 INVALID_MESSAGES names every refused key.
   */
  async upsert(rawLang: string, messages: Record<string, string>): Promise<{ lang: string; written: number }> {
    const keys = Object.keys(messages);
    const { lang, written } = await this.dataSource.transaction(async (m) => {
      const lang = await this.requireLanguage(m, rawLang, { active: false });
      const [{ code: defaultCode }] = await m.query(`SELECT code FROM languages WHERE is_default`);
      const reference: Array<{ key: string; text: string }> = await m.query(
        `SELECT key, text FROM translations WHERE lang = $1 AND key = ANY($2::varchar[])`,
        [defaultCode, keys],
      );
      const problems = validate(messages, new Map(reference.map((r) => [r.key, r.text])), lang === defaultCode);
      if (problems.length > 0) {
        const names = problems.map((p) => p.key);
        throw badRequest("INVALID_MESSAGES", `Some messages are invalid: ${names.join(", ")}`, problems).withParams({
          keys: names.join(", "),
        });
      }
      const rows: unknown[] = await m.query(
        `INSERT INTO translations (lang, key, text) SELECT $1, * FROM unnest($2::varchar[], $3::text[])
         ON CONFLICT (lang, key) DO UPDATE SET text = EXCLUDED.text, updated_at = now()
         WHERE translations.text IS DISTINCT FROM EXCLUDED.text RETURNING key`,
        [lang, keys, keys.map((k) => messages[k])],
      );
      return { lang, written: rows.length };
    });
    if (written > 0) await this.changed();
    return { lang, written };
  }

  private async requireLanguage(m: EntityManager, raw: string, need: { active: boolean }): Promise<string> {
    const code = canonicalTag(raw);
    const [row] = code ? await m.query(`SELECT code, active FROM languages WHERE code = $1`, [code]) : [];
    if (!row) throw badRequest("UNKNOWN_LANGUAGE", `Unknown language ${raw}`).withParams({ lang: raw });
    if (need.active && !row.active) {
      throw badRequest("INACTIVE_LANGUAGE", `The language ${row.code} is not active`).withParams({ lang: row.code });
    }
    return row.code;
  }

  // --- change propagation ---

  /**
   * After a committed change: this process reloads before answering, the others on the
   * announcement (which reaches this process too: one more, harmless, reload).
   */
  private async changed(): Promise<void> {
    await this.reload();
    await this.events
      .publish("i18n.changed", "all", {})
      .catch((err) => this.logger.error({ err }, "translation change announcement failed"));
  }

  /**
   * Reloads the snapshot. Calls while a load runs share one more load that starts after it, so a
   * caller always gets a load that began after its call (and sees its committed change).
   */
  reload(): Promise<void> {
    if (this.queued) return this.queued;
    const previous = this.running ?? Promise.resolve();
    const next: Promise<void> = previous
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        this.running = next;
        return this.load();
      })
      .finally(() => {
        if (this.running === next) this.running = undefined;
      });
    this.queued = next;
    return next;
  }

  private async load(): Promise<void> {
    const [languageRows, messageRows] = await Promise.all([
      this.dataSource.query(`SELECT code, name, active, is_default FROM languages`),
      this.dataSource.query(`SELECT lang, key, text FROM translations`),
    ]);
    const languages = new Map<string, LanguageView>(languageRows.map((r: LanguageRow) => [r.code, toView(r)]));
    const messages = new Map<string, Map<string, string>>();
    for (const { lang, key, text } of messageRows as Array<{ lang: string; key: string; text: string }>) {
      let forLang = messages.get(lang);
      if (!forLang) messages.set(lang, (forLang = new Map()));
      forLang.set(key, text);
    }
    const views = [...languages.values()];
    this.snapshot = {
      languages,
      active: new Set(views.filter((l) => l.active).map((l) => l.code)),
      defaultCode: views.find((l) => l.isDefault)?.code ?? SHIPPED_LANGUAGES[0].code,
      messages,
      loadedAt: Date.now(),
    };
    this.compiled.clear();
    this.broken.clear();
  }

  /**
   * The shipped languages and messages the database lacks. A fresh install's first shipped
   * language becomes the default; nothing existing is changed (ON CONFLICT DO NOTHING), so an
   * admin's edits survive upgrades and a release's new keys appear.
   */
  private async installShipped(): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO languages (code, name, active, is_default)
         SELECT code, name, true, ord = 1 AND NOT EXISTS (SELECT 1 FROM languages WHERE is_default)
         FROM unnest($1::varchar[], $2::varchar[]) WITH ORDINALITY AS s(code, name, ord)
         ON CONFLICT DO NOTHING`,
        [SHIPPED_LANGUAGES.map((l) => l.code), SHIPPED_LANGUAGES.map((l) => l.name)],
      );
      const rows = SHIPPED_LANGUAGES.flatMap((l) =>
        Object.entries(l.messages).map(([key, text]) => [l.code, key, text]),
      );
      await m.query(
        `INSERT INTO translations (lang, key, text) SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::text[])
         ON CONFLICT DO NOTHING`,
        [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
      );
    });
  }
}

interface LanguageRow {
  code: string;
  name: string;
  active: boolean;
  is_default: boolean;
}

const toView = (r: LanguageRow): LanguageView => ({
  code: r.code,
  name: r.name,
  active: r.active,
  isDefault: r.is_default,
});

function validTag(raw: string): string {
  const code = canonicalTag(raw);
  if (!code)
    throw badRequest("VALIDATION_FAILED", "Request validation failed", [
      { in: "body", path: "code", message: "a BCP 47 language tag" },
    ]);
  return code;
}

function validate(
  messages: Record<string, string>,
  reference: Map<string, string>,
  isDefault: boolean,
): MessageProblem[] {
  const problems: MessageProblem[] = [];
  for (const [key, text] of Object.entries(messages)) {
    const checked = checkMessage(text);
    if (!checked.ok) {
      problems.push({ key, problem: "SYNTAX", detail: checked.error });
      continue;
    }
    const original = reference.get(key);
    if (original === undefined) {
      if (!isDefault)
        problems.push({
          key,
          problem: "NOT_IN_DEFAULT_LANGUAGE",
          detail: "the default language has no message with this key",
        });
      continue;
    }
    const expected = checkMessage(original);
    if (expected.ok && !samePlaceholders(expected.placeholders, checked.placeholders)) {
      problems.push({
        key,
        problem: "PLACEHOLDERS",
        detail: `expected {${[...expected.placeholders].sort().join(", ")}}, found {${[...checked.placeholders].sort().join(", ")}}`,
      });
    }
  }
  return problems;
}
