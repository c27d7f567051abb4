import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** The repository documents itself: no pointer outside it, and the protocol covers every room. */
describe("documentation", () => {
  it("no tracked file refers to a design document outside the repository", () => {
    const files = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
    // Spelled in parts, so this file does not match itself.
    const pattern = new RegExp(["DESIGN", "md"].join("\\."));
    const offenders = files.filter((f) => fs.existsSync(path.join(ROOT, f)) && pattern.test(read(f)));
    assert.deepEqual(offenders, []);
  });

  it("docs/protocol.md has a section for every room the server defines", () => {
    const rooms = [...read("arena.config.ts").matchAll(/^\s+(\w+): defineRoom\(/gm)].map((m) => m[1]);
    assert.ok(rooms.length >= 6, `rooms found in arena.config.ts: ${rooms}`);
    const protocol = read("docs/protocol.md");
    for (const room of rooms) assert.match(protocol, new RegExp(`^### \`${room}\`$`, "m"), room);
  });

  it("the README links the docs it relies on", () => {
    const readme = read("README.md");
    for (const link of ["docs/protocol.md", "docs/architecture.md"]) {
      assert.ok(readme.includes(`(${link})`), link);
      assert.ok(fs.existsSync(path.join(ROOT, link)), link);
    }
  });
});
