// `npm run test:browser`: the web client in Debian's chromium (playwright-core), against spawned servers.
module.exports = {
  require: ["tsx"],
  spec: ["test/browser/**/*.test.ts"],
  // A fail-safe, not a speed check: a spawned server's first start takes seconds on a busy machine.
  timeout: 180000,
  exit: true,
  reporter: "spec",
};
