/** BCP 47 language tags as this server uses them: language, optional script, optional region. */
const TAG = /^[a-z]{2,3}(?:-[a-z]{4})?(?:-(?:[a-z]{2}|\d{3}))?$/i;
export const MAX_TAG_LENGTH = 35;

/** The canonical form of a tag (`pt-br` → `pt-BR`), or undefined when it is not one we accept. */
export function canonicalTag(tag: string): string | undefined {
  if (tag.length > MAX_TAG_LENGTH || !TAG.test(tag)) return undefined;
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/** The tag and its less specific forms: `zh-Hant-TW` → `zh-Hant-TW`, `zh-Hant`, `zh`. */
export function fallbackTags(tag: string): string[] {
  const parts = tag.split("-");
  const tags: string[] = [];
  for (let n = parts.length; n >= 1; n--) tags.push(parts.slice(0, n).join("-"));
  return tags;
}

/**
 * The languages of an Accept-Language header, most wanted first (RFC 9110 §12.5.4): q-values
 * order them (ties keep header order), q=0 excludes, `*` means any (the default), malformed
 * entries are skipped.
 */
export function parseAcceptLanguage(header: string | undefined): string[] {
  if (!header) return [];
  const ranges: Array<{ tag: string; q: number; at: number }> = [];
  for (const [at, part] of header.split(",").slice(0, 32).entries()) {
    const [range, ...params] = part.trim().split(";");
    let q = 1;
    for (const param of params) {
      const [name, value] = param.trim().split("=");
      if (name?.trim().toLowerCase() === "q")
        q = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value?.trim() ?? "") ? Number(value) : -1;
    }
    if (q <= 0) continue;
    const tag = range?.trim() === "*" ? "*" : canonicalTag(range?.trim() ?? "");
    if (tag) ranges.push({ tag, q, at });
  }
  return ranges.sort((a, b) => b.q - a.q || a.at - b.at).map((r) => r.tag);
}

/**
 * The first wanted tag that some offered language serves: the tag itself, else its less specific
 * forms (`pt-BR` → `pt`). `*` takes the default. Undefined when nothing matches.
 */
export function pickLanguage(
  wanted: Iterable<string>,
  offered: ReadonlySet<string>,
  fallback: string,
): string | undefined {
  const byLowerCase = new Map([...offered].map((code) => [code.toLowerCase(), code]));
  for (const tag of wanted) {
    if (tag === "*") return fallback;
    for (const candidate of fallbackTags(tag)) {
      const hit = byLowerCase.get(candidate.toLowerCase());
      if (hit) return hit;
    }
  }
  return undefined;
}
