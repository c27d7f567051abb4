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
