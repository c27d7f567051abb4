import { z } from "zod";
import { AppError } from "./errors";

/** The sort key of the record a page starts or ends at. */
export interface RecordKey {
  direction: "next" | "prev";
  score: number;
  subscore: number;
  updatedAt: string;
  userId: string;
}

const CursorSchema = z.object({
  b: z.string(),
  p: z.string(),
  d: z.enum(["next", "prev"]),
  s: z.number().int(),
  ss: z.number().int(),
  t: z.iso.datetime().refine((v) => Number(v.slice(0, 4)) >= 1), // PostgreSQL has no year 0
  u: z.uuid(),
});

/** Opaque to clients (base64url JSON), bound to one board and period; not a secret. */
export function encodeCursor(
  boardId: string,
  periodStart: Date,
  direction: "next" | "prev",
  at: { score: number; subscore: number; updatedAt: string; userId: string },
): string {
  const body = {
    b: boardId,
    p: periodStart.toISOString(),
    d: direction,
    s: at.score,
    ss: at.subscore,
    t: at.updatedAt,
    u: at.userId,
  };
  return Buffer.from(JSON.stringify(body)).toString("base64url");
}

export function decodeCursor(cursor: string, boardId: string, periodStart: Date): RecordKey {
  let parsed: z.infer<typeof CursorSchema> | undefined;
  try {
    const result = CursorSchema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (result.success) parsed = result.data;
  } catch {
    // not JSON: reported below
  }
  if (!parsed || parsed.b !== boardId || parsed.p !== periodStart.toISOString()) {
    throw new AppError(400, "VALIDATION_FAILED", "Request validation failed", [
      { in: "query", path: "cursor", message: "not a cursor of this leaderboard and period" },
    ]);
  }
  // Lowercase, as PostgreSQL prints uuids: the rank index orders ids as those strings.
  return {
    direction: parsed.d,
    score: parsed.s,
    subscore: parsed.ss,
    updatedAt: parsed.t,
    userId: parsed.u.toLowerCase(),
  };
}
