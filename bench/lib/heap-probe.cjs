// Loaded into a bench's server by NODE_OPTIONS="--expose-gc --require <this file>" (bench/lib/memory.ts).
// When $BENCH_HEAP_DIR/request-<pid> appears: a full garbage collection, then process.memoryUsage() written
// to $BENCH_HEAP_DIR/<pid>.json. (A file, not a signal: a SIGUSR2 ended our server.)
const fs = require("node:fs");
const path = require("node:path");

const dir = process.env.BENCH_HEAP_DIR;
// Not in tsx's CLI (which runs the server in a child, with the same environment): the server alone answers,
// and says so with a marker file that bench/lib/memory.ts looks for.
if (dir && !/tsx[\\/]dist[\\/]cli/.test(process.argv[1] ?? "")) {
  const request = path.join(dir, `request-${process.pid}`);
  const answer = path.join(dir, `${process.pid}.json`);
  fs.writeFileSync(path.join(dir, `server-${process.pid}`), "");
  setInterval(() => {
    try {
      if (!fs.existsSync(request)) return;
      fs.rmSync(request);
      if (typeof gc === "function") {
        gc();
        gc();
      }
      fs.writeFileSync(`${answer}.tmp`, JSON.stringify(process.memoryUsage()));
      fs.renameSync(`${answer}.tmp`, answer);
    } catch (err) {
      console.error("heap probe:", err);
    }
  }, 100).unref();
}
