import type { Room } from "@colyseus/sdk";

/** Client-side measuring: pacing, percentiles and ratios, what the clients saw go wrong, the printed result. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentiles, in ms with two decimals. */
export function summary(xs: ArrayLike<number>) {
  if (!xs.length) return { n: 0 };
  const s = Float64Array.from(xs).sort(); // a typed array sorts by value
  const at = (p: number) => +s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)].toFixed(2);
  return { n: s.length, p50: at(50), p95: at(95), p99: at(99), max: +s[s.length - 1].toFixed(2) };
}

export const ratio = (a: number | undefined | null, b: number | undefined | null) =>
  a && b ? +(a / b).toFixed(2) : null;

/** `fn` over `items` with at most `concurrency` calls in flight. */
export async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

/** What the clients saw go wrong (`error` replies by code, unexpected message types, failures), counted. */
export class Problems {
  readonly counts: Record<string, number> = {};
  add(what: string) {
    this.counts[what] = (this.counts[what] ?? 0) + 1;
  }
  /** Counts the room's `error` replies and any message type not handled elsewhere nor in `expected`. */
  watch(room: Room, expected: string[], where?: string) {
    const at = where ? `${where} ` : "";
    room.onMessage("error", (e: { code?: string }) => this.add(`${at}error ${e?.code}`));
    for (const type of expected) room.onMessage(type, () => {});
    room.onMessage("*", (type: string | number) => this.add(`${at}unexpected ${type}`));
  }
}

/** A bench run on its own (`npx tsx bench/<name>.ts`): its result as JSON on stdout, exit code 1 if it fails. */
export function printResult(bench: () => Promise<unknown>) {
  bench().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
