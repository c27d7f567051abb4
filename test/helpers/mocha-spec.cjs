// Mocha adds the files named on its command line to the config's `spec`, so
// `npm test -- test/x.test.ts` used to run the whole suite. Named test files
// (anything under test/) replace the default spec and ignore list instead.
const fs = require("node:fs");
const path = require("node:path");

const testDir = path.resolve(__dirname, "..");
const named = process.argv
  .slice(2)
  .filter((arg) => !arg.startsWith("-") && path.resolve(arg).startsWith(testDir + path.sep) && fs.existsSync(arg));

/** The config's spec and ignore list, unless test files were named on the command line. */
exports.defaultSpec = (spec, ignore = []) => (named.length ? {} : { spec, ignore });
