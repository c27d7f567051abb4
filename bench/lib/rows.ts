/**
 * A bench result's rows for bench/results/summary.md: its own `rows` when it
 * has them (the benches on the load generator), else read from the fields of
 * the benches that predate them.
 */

export interface SummaryRow {
  /** "P1" … "P8" for the targets, else the bench's name. */
  id: string;
  measure: string;
  unit: string;
  ours: number | null;
  baseline: number | null;
  /** ours / baseline. */
  ratio: number | null;
  /** As the issue states it, e.g. "≤ 1.5× bare"; "" for a figure without a target. */
  target: string;
  /** Which figure the target bounds, and how: met is judged again on the median of the runs. */
  check?: { on: "ratio" | "ours"; max?: number; min?: number };
  /** Server CPU per operation, ours and the baseline's. */
  serverCpu?: { ours: number | null; baseline: number | null; unit: string };
  /** The generator's CPU over the measured phase: all workers (% of one core) and the busiest one. */
  generatorCpu?: { pctOfCore: number; busiestPctOfCore: number };
}

const num = (x: unknown) => (typeof x === "number" && Number.isFinite(x) ? x : null);
const div = (a: unknown, b: unknown) => {
  const x = num(a);
  const y = num(b);
  return x !== null && y ? +(x / y).toFixed(2) : null;
};

export function rowsOf(name: string, r: Record<string, any>): SummaryRow[] {
  if (Array.isArray(r.rows)) return r.rows as SummaryRow[];
  switch (name) {
    case "startup":
      return [
        {
          id: "P7",
          measure: "`npm start` to ready, embedded, later start",
          unit: "ms",
          ours: num(r.laterStartMs),
          baseline: num(r.bareColyseusMs),
          ratio: div(r.laterStartMs, r.bareColyseusMs),
          target: "≤ 2,000 ms",
          check: { on: "ours", max: 2000 },
        },
        {
          id: "startup",
          measure: "first start (database created, migrated, seeded)",
          unit: "ms",
          ours: num(r.firstStartMs),
          baseline: num(r.bareColyseusMs),
          ratio: div(r.firstStartMs, r.bareColyseusMs),
          target: "",
        },
      ];
    case "wallet":
      return [
        {
          id: "P6",
          measure: "debits/s on one hot wallet, 16 workers, PostgreSQL, vs a bare conditional UPDATE",
          unit: "/s",
          ours: num(r.hotWallet?.debitsPerSec),
          baseline: num(r.hotWallet?.baselinePerSec),
          ratio: div(r.hotWallet?.debitsPerSec, r.hotWallet?.baselinePerSec),
          target: "≥ 0.5× bare",
          check: { on: "ratio", min: 0.5 },
        },
      ];
    case "assets":
      return [
        {
          id: "P4",
          measure: "assets, 64 connections, random 1 MiB ranges, vs nginx",
          unit: "req/s",
          ours: num(r.oursViaNginx) ?? num(r.ours),
          baseline: num(r.nginx),
          ratio: div(num(r.oursViaNginx) ?? num(r.ours), r.nginx),
          target: "≥ 0.8× nginx",
          check: { on: "ratio", min: 0.8 },
        },
        {
          id: "P4",
          measure: "assets, Node alone, vs express.static",
          unit: "req/s",
          ours: num(r.ours),
          baseline: num(r.expressStatic),
          ratio: div(r.ours, r.expressStatic),
          target: "≥ 1.0× express.static",
          check: { on: "ratio", min: 1 },
        },
      ];
    case "web":
      return [
        {
          id: "web",
          measure: "page load in chromium to the sign-in form, p50, vs a bare navigation",
          unit: "ms",
          ours: num(r.loadMs?.p50),
          baseline: num(r.bareNavigationMs?.p50),
          ratio: div(r.loadMs?.p50, r.bareNavigationMs?.p50),
          target: "",
        },
      ];
    default:
      return [];
  }
}
