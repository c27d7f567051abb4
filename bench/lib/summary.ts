import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * bench/results/summary.md: one table, a row per target (P1–P8) and per other
 * headline figure, built from every bench's JSON result (`rows`). A result
 * holding several runs (BENCH_REPEAT) shows the median and the min–max.
 */

export interface SummaryRow {
  /** "P1" … "P8" for the issue's targets, else the bench's name. */
  id: string;
  measure: string;
  unit: string;
  ours: number | null;
  baseline: number | null;
  /** ours / baseline. */
  ratio: number | null;
  /** As the issue states it, e.g. "≤ 1.5× bare". */
  target: string;
  /** Which figure the target bounds, and how: met is judged again on the median of the runs. */
  check?: { on: "ratio" | "ours"; max?: number; min?: number };
  /** Server CPU per operation, ours and the baseline's. */
  serverCpu?: { ours: number | null; baseline: number | null; unit: string };
  /** The generator's CPU over the measured phase: all workers (% of one core) and the busiest one. */
  generatorCpu?: { pctOfCore: number; busiestPctOfCore: number };
}

export interface BenchResultFile {
  name: string;
  runs: Array<{ at: string; rows?: SummaryRow[]; [k: string]: unknown }>;
}

const ORDER = ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"];

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString("en") : String(+x.toPrecision(3)));

/** Median of the runs, with "(min–max)" when they differ; "—" without figures. */
function spread(xs: Array<number | null | undefined>): { text: string; median: number | null } {
  const ns = xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  if (!ns.length) return { text: "—", median: null };
  const m = median(ns);
  const lo = Math.min(...ns);
  const hi = Math.max(...ns);
  return { text: lo === hi ? fmt(m) : `${fmt(m)} (${fmt(lo)}–${fmt(hi)})`, median: m };
}

function met(row: SummaryRow, ours: number | null, ratio: number | null): string {
  if (!row.check) return row.target ? "—" : "";
  const x = row.check.on === "ratio" ? ratio : ours;
  if (x === null) return "not measured";
  const ok = (row.check.max === undefined || x <= row.check.max) && (row.check.min === undefined || x >= row.check.min);
  return ok ? "met" : "**not met**";
}

function machine() {
  const cpus = os.cpus();
  return [
    `${cpus[0]?.model ?? "unknown CPU"}, ${cpus.length} cores`,
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `Node ${process.version}`,
    `${os.type()} ${os.release()}`,
  ].join("; ");
}

/** Writes `dir`/summary.md from `dir`/*.json; `loadBefore` is the load average when `npm run bench` started. */
export function writeSummary(dir: string, loadBefore: number[]) {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as BenchResultFile)
    .filter((r) => Array.isArray(r.runs));
  const lines: string[] = [];
  const byKey = new Map<string, { bench: string; rows: SummaryRow[]; at: string[] }>();
  for (const file of files) {
    for (const run of file.runs) {
      for (const row of run.rows ?? []) {
        const key = `${row.id}\u0000${row.measure}`;
        const entry = byKey.get(key) ?? { bench: file.name, rows: [], at: [] };
        entry.rows.push(row);
        entry.at.push(run.at);
        byKey.set(key, entry);
      }
    }
  }
  const rank = (id: string) => (ORDER.includes(id) ? ORDER.indexOf(id) : ORDER.length);
  const entries = [...byKey.values()].sort(
    (a, b) => rank(a.rows[0].id) - rank(b.rows[0].id) || a.rows[0].id.localeCompare(b.rows[0].id),
  );
  let commit = "";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    // not a git checkout
  }
  lines.push("# Benchmark summary", "");
  lines.push(`- Written: ${new Date().toISOString()}${commit ? ` (commit ${commit})` : ""}`);
  lines.push(`- Machine: ${machine()}`);
  lines.push(`- Load average before the run (1/5/15 min): ${loadBefore.map((x) => x.toFixed(2)).join(" / ")}`);
  lines.push(
    "- Figures: median of the runs, (min–max) when there were several (BENCH_REPEAT). Server CPU per operation:",
    "  ours / baseline. Generator CPU: all client workers together, % of one core (the busiest worker).",
    "",
  );
  lines.push(
    "| id | measure | ours | baseline | ratio | target | met | server CPU (ours / baseline) | generator CPU | bench, runs |",
  );
  lines.push("|---|---|---|---|---|---|---|---|---|---|");
  for (const { bench, rows } of entries) {
    const first = rows[0];
    const ours = spread(rows.map((r) => r.ours));
    const base = spread(rows.map((r) => r.baseline));
    const ratio = spread(rows.map((r) => r.ratio));
    const cpu = first.serverCpu
      ? `${spread(rows.map((r) => r.serverCpu?.ours)).text} / ${spread(rows.map((r) => r.serverCpu?.baseline)).text} ${first.serverCpu.unit}`
      : "—";
    const gen = first.generatorCpu
      ? `${spread(rows.map((r) => r.generatorCpu?.pctOfCore)).text} % (${spread(rows.map((r) => r.generatorCpu?.busiestPctOfCore)).text} %)`
      : "—";
    const unit = first.unit ? ` ${first.unit}` : "";
    lines.push(
      `| ${first.id} | ${first.measure} | ${ours.text}${ours.median !== null ? unit : ""} | ${base.text}${base.median !== null ? unit : ""} | ${ratio.text === "—" ? "—" : `${ratio.text}×`} | ${first.target || "—"} | ${met(first, ours.median, ratio.median)} | ${cpu} | ${gen} | ${bench}, ${rows.length} |`,
    );
  }
  const missing = ORDER.filter((id) => !entries.some((e) => e.rows[0].id === id));
  if (missing.length) lines.push("", `Not measured yet: ${missing.join(", ")}.`);
  fs.writeFileSync(path.join(dir, "summary.md"), lines.join("\n") + "\n");
}
