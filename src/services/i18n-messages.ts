import {
  isArgumentElement,
  isDateElement,
  isNumberElement,
  isPluralElement,
  isSelectElement,
  isTagElement,
  isTimeElement,
  type MessageFormatElement,
  parse,
} from "@formatjs/icu-messageformat-parser";
import { IntlMessageFormat } from "intl-messageformat";

/**
 * Messages are ICU MessageFormat, read as plain text: `<…>` is literal (texts like
 * "Bearer <accessToken>" are not markup), so parsing and formatting both ignore tags.
 */
const OPTIONS = { ignoreTag: true } as const;

/** A value for a placeholder; a reference is itself a message, translated into the same language. */
export type MessageParam = string | number | Date | MessageRef | MessageRef[];
export type MessageParams = Record<string, MessageParam>;
export interface MessageRef {
  key: string;
  params?: MessageParams;
  /** The text when no language has the key. */
  fallback: string;
}

export const isMessageRef = (value: unknown): value is MessageRef =>
  typeof value === "object" && value !== null && !(value instanceof Date) && "key" in value;

/** Why a text is not a valid message, or its placeholders (every argument name, nested ones too). */
export function checkMessage(text: string): { ok: true; placeholders: Set<string> } | { ok: false; error: string } {
  try {
    return { ok: true, placeholders: placeholdersOf(parse(text, OPTIONS)) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function placeholdersOf(elements: MessageFormatElement[], into = new Set<string>()): Set<string> {
  for (const el of elements) {
    if (
      isArgumentElement(el) ||
      isNumberElement(el) ||
      isDateElement(el) ||
      isTimeElement(el) ||
      isSelectElement(el) ||
      isPluralElement(el)
    )
      into.add(el.value);
    if (isSelectElement(el) || isPluralElement(el)) {
      for (const option of Object.values(el.options)) placeholdersOf(option.value, into);
    }
    if (isTagElement(el)) placeholdersOf(el.children, into);
  }
  return into;
}

/** A compiled message; a `select` whose value is not given takes its `other` branch. */
export class CompiledMessage {
  private readonly format: IntlMessageFormat;
  private readonly selects: string[];

  constructor(text: string, locale: string) {
    this.format = new IntlMessageFormat(text, locale, undefined, OPTIONS);
    this.selects = this.format
      .getAst()
      .filter(isSelectElement)
      .map((el) => el.value);
  }

  /** Throws when a placeholder has no value. */
  render(values: Record<string, string | number | Date>): string {
    const filled = { ...values };
    for (const name of this.selects) if (filled[name] === undefined) filled[name] = "other";
    return String(this.format.format(filled));
  }
}

/** `a` and `b` hold the same names. */
export function samePlaceholders(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((name) => b.has(name));
}
