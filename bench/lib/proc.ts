import fs from "node:fs";

/** Readings from Linux's /proc: process trees and CPU time. */

/** The process and everything under it (tsx runs the script in a child), deepest first. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    // gone, or not Linux
  }
  for (const task of tasks) {
    let children = "";
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
    } catch {
      // that thread ended meanwhile (one ending must not hide the other threads' children)
    }
    for (const child of children.split(/\s+/).filter(Boolean)) out.push(...processTree(Number(child)));
  }
  return [...new Set([...out, pid])];
}

/** CPU time (clock ticks, 100 Hz) of a process and its descendants (tsx runs the server in a child); NaN without one. */
export function cpuTicks(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    return processTree(pid).reduce((sum, p) => {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return sum + Number(fields[11]) + Number(fields[12]); // utime, stime
    }, 0);
  } catch {
    return NaN; // not Linux, or the process is gone
  }
}

/** Machine-wide busy and total jiffies from /proc/stat (all cores): to see what else ran meanwhile. */
export function machineTicks(): { busy: number; total: number } {
  try {
    // user nice system idle iowait irq softirq steal; the guest columns after them are already in user and nice.
    const cpu = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - cpu[3] - cpu[4], total }; // minus idle and iowait
  } catch {
    return { busy: NaN, total: NaN };
  }
}
