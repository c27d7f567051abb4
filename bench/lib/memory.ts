import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sleep } from "./measure";
import { processTree } from "./proc";

/**
 * A server's memory after a full garbage collection, read through
 * bench/lib/heap-probe.cjs: `probeEnv()` goes into the server's environment,
 * `readMemory(pid)` asks the server (the process of the tree that loaded the
 * probe: tsx runs it in a child) and waits for its answer.
 */

export interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arcadia-bench-heap-"));

export function probeEnv(): Record<string, string> {
  const probe = path.join(__dirname, "heap-probe.cjs");
  return {
    BENCH_HEAP_DIR: dir,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --expose-gc --require ${probe}`.trim(),
  };
}

export async function readMemory(pid: number): Promise<Memory> {
  const server = processTree(pid).find((p) => fs.existsSync(path.join(dir, `server-${p}`)));
  if (!server)
    throw new Error(
      `no server process with the heap probe among ${processTree(pid)}: ${fs.readdirSync(dir)} in ${dir}`,
    );
  const file = path.join(dir, `${server}.json`);
  fs.rmSync(file, { force: true });
  fs.writeFileSync(path.join(dir, `request-${server}`), "");
  const deadline = Date.now() + 30_000;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no memory reading from process ${server}`);
    await sleep(50);
  }
  return JSON.parse(fs.readFileSync(file, "utf8")) as Memory;
}

/** The open-files limit (soft) of a process, from /proc; NaN when unknown. */
export function openFilesLimit(pid: number | "self" = "self"): number {
  try {
    const line = fs
      .readFileSync(`/proc/${pid}/limits`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    return Number(line?.split(/\s{2,}/)[1]);
  } catch {
    return NaN;
  }
}
