const { defaultSpec } = require("./test/helpers/mocha-spec.cjs");

module.exports = {
  require: ["tsx"],
  ...defaultSpec(["test/cluster/**/*.test.ts"]),
  timeout: 60000,
  exit: true,
  reporter: "spec",
};
