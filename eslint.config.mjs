import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // The CommonJS files are mocha configuration, outside the TypeScript project.
  { ignores: ["node_modules/**", "data/**", ".tmp/**", "eslint.config.mjs", "**/*.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise dropped in a timer or handler is an unhandled rejection, which ends the process.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": [
        "error",
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
);
