import { z } from "zod";

/**
 * User-typed text, one rule for every door (HTTP bodies, room messages):
 * control characters removed, whitespace collapsed and trimmed, then between
 * `min` and `max` characters.
 */
export const CleanText = (min: number, max: number) =>
  z
    .string()
    .transform((s) =>
      s
        .replace(/\p{Cc}/gu, "")
        .replace(/\s+/g, " ")
        .trim(),
    )
    .pipe(z.string().min(min).max(max));

/**
 * The path ("a.0.b") of the first string (value or object key) in `value` that
 * contains a NUL character, or undefined. PostgreSQL cannot store `\0` in text,
 * so input carrying one is refused at the door instead of failing in a query.
 */
export function nulPath(value: unknown, path: string[] = [], depth = 0): string | undefined {
  if (typeof value === "string") return value.includes("\0") ? path.join(".") : undefined;
  if (typeof value !== "object" || value === null || depth > 64) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes("\0")) return [...path, key.replaceAll("\0", "\\0")].join(".");
    const found = nulPath(item, [...path, key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
