import { z } from "zod";
import { AppError } from "./errors";

const CursorSchema = z.object({
  u: z.uuid(),
  t: z.iso.datetime(),
  r: z.uuid(),
});

/** Opaque to clients (base64url JSON): where a user's rounds page ended, bound to that user. */
export function encodeScoresCursor(userId: string, endedAt: string, roundId: string): string {
  return Buffer.from(JSON.stringify({ u: userId, t: endedAt, r: roundId })).toString("base64url");
}

export function decodeScoresCursor(cursor: string, userId: string): { endedAt: Date; roundId: string } {
  let parsed: z.infer<typeof CursorSchema> | undefined;
  try {
    const result = CursorSchema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (result.success) parsed = result.data;
  } catch {
    // not JSON: reported below
  }
  if (!parsed || parsed.u !== userId) {
    throw new AppError(400, "VALIDATION_FAILED", "Request validation failed", [
      { in: "query", path: "cursor", message: "not a cursor of this user's rounds" },
    ]);
  }
  return { endedAt: new Date(parsed.t), roundId: parsed.r };
}
