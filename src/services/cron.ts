/**
 * A 5-field cron schedule (minute hour day-of-month month day-of-week) in UTC, reduced to what
 * leaderboard periods need: the boundary at or before an instant and the one after it.
 * Hand-written because no maintained cron parser is installed and the project adds no dependency
 * for this; fields take `*`, numbers, lists, ranges and steps (no names, no `L`/`W`/`#`).
 */
export interface CronSchedule {
  readonly source: string;
  /** The latest boundary at or before `at` (null when there is none within the search window). */
  previous(at: Date): Date | null;
  /** The earliest boundary strictly after `at`. */
  next(at: Date): Date | null;
}

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day-of-week", min: 0, max: 7 },
] as const;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Far enough for any satisfiable schedule (Feb 29 on a given weekday recurs within 28 years). */
const SEARCH_DAYS = 366 * 30;

export class CronError extends Error {}

export function parseCron(source: string): CronSchedule {
  const parts = source.trim().split(/\s+/);
  if (parts.length !== 5) throw new CronError("a schedule has 5 fields: minute hour day-of-month month day-of-week");
  const [minutes, hours, days, months, weekdays] = parts.map((part, i) => parseField(part, FIELDS[i]));
  if (weekdays.has(7)) weekdays.add(0); // 7 and 0 are both Sunday
  // Classic (Vixie) cron: when both day fields are restricted, a day matching either one runs;
  // a field starting with `*` (also `*/2`) counts as unrestricted.
  const anyDay = parts[2].startsWith("*") || parts[4].startsWith("*");
  const dayMatches = (d: Date) => {
    if (!months.has(d.getUTCMonth() + 1)) return false;
    const dom = days.has(d.getUTCDate());
    const dow = weekdays.has(d.getUTCDay());
    return anyDay ? dom && dow : dom || dow;
  };
  const times = [...hours].flatMap((h) => [...minutes].map((m) => h * 60 + m)).sort((a, b) => a - b);
  if (parts[4].startsWith("*") && !hasSomeDay(days, months)) throw new CronError("the schedule never runs");

  return {
    source,
    previous(at) {
      const t = Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS;
      let day = Math.floor(t / DAY_MS) * DAY_MS;
      let limit = (t - day) / MINUTE_MS; // minutes into the day, inclusive
      for (let i = 0; i < SEARCH_DAYS; i++, day -= DAY_MS, limit = 1439) {
        if (!dayMatches(new Date(day))) continue;
        for (let k = times.length - 1; k >= 0; k--) if (times[k] <= limit) return new Date(day + times[k] * MINUTE_MS);
      }
      return null;
    },
    next(at) {
      const t = Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
      let day = Math.floor(t / DAY_MS) * DAY_MS;
      let from = (t - day) / MINUTE_MS;
      for (let i = 0; i < SEARCH_DAYS; i++, day += DAY_MS, from = 0) {
        if (!dayMatches(new Date(day))) continue;
        const time = times.find((m) => m >= from);
        if (time !== undefined) return new Date(day + time * MINUTE_MS);
      }
      return null;
    },
  };
}

function parseField(part: string, field: (typeof FIELDS)[number]): Set<number> {
  const values = new Set<number>();
  for (const item of part.split(",")) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!match) throw new CronError(`${field.name}: "${item}" is not a number, range, list or step`);
    const [, whole, lo, hi, stepText] = match;
    const start = whole === "*" ? field.min : Number(lo);
    const end = whole === "*" ? field.max : hi !== undefined ? Number(hi) : stepText ? field.max : start;
    const step = stepText ? Number(stepText) : 1;
    if (start < field.min || end > field.max || start > end || step < 1) {
      throw new CronError(`${field.name}: "${item}" is outside ${field.min}-${field.max}`);
    }
    for (let v = start; v <= end; v += step) values.add(v);
  }
  return values;
}

/** Rejects day/month pairs that never exist (e.g. 31 in February only), which would never run. */
function hasSomeDay(days: Set<number>, months: Set<number>): boolean {
  const longest = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return [...months].some((m) => [...days].some((d) => d <= longest[m]));
}
