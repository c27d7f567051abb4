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

/** A row of ours against a baseline; ratio = ours / baseline. */
function versus(
  id: string,
  measure: string,
  unit: string,
  ours: unknown,
  baseline: unknown,
  target = "",
  check?: SummaryRow["check"],
): SummaryRow {
  return { id, measure, unit, ours: num(ours), baseline: num(baseline), ratio: div(ours, baseline), target, check };
}

export function rowsOf(name: string, r: Record<string, any>): SummaryRow[] {
  if (Array.isArray(r.rows)) return r.rows as SummaryRow[];
  switch (name) {
    case "startup":
      return [
        versus(
          "P7",
          "`npm start` to ready, embedded, later start",
          "ms",
          r.laterStartMs,
          r.bareColyseusMs,
          "≤ 2,000 ms",
          {
            on: "ours",
            max: 2000,
          },
        ),
        versus("startup", "first start (database created, migrated, seeded)", "ms", r.firstStartMs, r.bareColyseusMs),
      ];
    case "wallet":
      return [
        versus(
          "P6",
          "debits/s on one hot wallet, 16 workers, PostgreSQL, vs a bare conditional UPDATE",
          "/s",
          r.hotWallet?.debitsPerSec,
          r.hotWallet?.baselinePerSec,
          "≥ 0.5× bare",
          { on: "ratio", min: 0.5 },
        ),
      ];
    case "assets": {
      // Each server's figures: requests/s (1 MiB each), its CPU per request, wrk's CPU (cores).
      const vs = (id: string, measure: string, ours: any, base: any, target = "", check?: SummaryRow["check"]) => ({
        ...versus(id, measure, "req/s", ours?.requestsPerSec, base?.requestsPerSec, target, check),
        serverCpu: {
          ours: num(ours?.serverCpuMsPerRequest),
          baseline: num(base?.serverCpuMsPerRequest),
          unit: "ms/req",
        },
        ...(num(ours?.generatorCpuPerSec) !== null && {
          generatorCpu: {
            pctOfCore: Math.round(ours.generatorCpuPerSec * 100),
            busiestPctOfCore: Math.round(ours.generatorCpuPerSec * 100),
          },
        }),
      });
      return [
        vs(
          "P4",
          "assets, 64 connections, random 1 MiB ranges: production mode (nginx authorises via cached auth_request) vs nginx alone",
          r.production,
          r.nginx,
          "≥ 0.8× nginx",
          { on: "ratio", min: 0.8 },
        ),
        vs(
          "P4",
          "assets, Node alone (sendAssetFile) vs express.static",
          r.ours,
          r.expressStatic,
          "≥ 1.0× express.static",
          {
            on: "ratio",
            min: 1,
          },
        ),
        vs(
          "assets",
          "offload mode (Node checks each request, X-Accel-Redirect) vs nginx alone",
          r.oursViaNginx,
          r.nginx,
        ),
      ];
    }
    case "web":
      return [
        versus(
          "web",
          "page load in chromium to the sign-in form, p50, vs a bare navigation",
          "ms",
          r.loadMs?.p50,
          r.bareNavigationMs?.p50,
        ),
      ];
    default:
      return [];
  }
}
