// `npm run test:browser`: the web client in Debian's chromium (playwright-core), against spawned servers.
const { defaultSpec } = require("./test/helpers/mocha-spec.cjs");

module.exports = {
  require: ["tsx"],
  ...defaultSpec(["test/browser/**/*.test.ts"]),
  // A fail-safe, not a speed check: a spawned server's first start takes seconds on a busy machine.
  timeout: 180000,
  exit: true,
  reporter: "spec",
};
