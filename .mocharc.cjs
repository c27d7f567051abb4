const { defaultSpec } = require("./test/helpers/mocha-spec.cjs");

module.exports = {
  require: ["tsx", "test/helpers/hooks.ts"],
  ...defaultSpec(["test/**/*.test.ts"], ["test/cluster/**"]),
  timeout: 20000,
  exit: true,
  reporter: "spec",
};
