const { defaultSpec } = require("./test/helpers/mocha-spec.cjs");

module.exports = {
  require: ["tsx", "test/helpers/hooks.ts"],
  ...defaultSpec(["test/**/*.test.ts"], ["test/cluster/**", "test/fault/**", "test/browser/**"]),
  // A fail-safe, not a speed check: the first test boots the shared server (database created,
  // migrated, seeded), which took over 20 s on a CI machine shared with other jobs.
  timeout: 60000,
  exit: true,
  reporter: "spec",
};
