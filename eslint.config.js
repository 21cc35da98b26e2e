// ESLint with typescript-eslint's type-aware rules (run by `npm test` through `npm run lint`).
// The type-checked rules are the ones that catch what tsc cannot: a promise nobody awaits
// or catches (no-floating-promises), an async function where a callback's return value is
// ignored (no-misused-promises), awaiting something that is not a promise.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["control-plane/console/build*/**", "**/node_modules/**", "proto/gen/**", "prisma/*/generated/**", "dist/**", ".scratch/**", "**/.langgraph_api/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.tsx"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unnecessary-type-assertion": "error",
      "@typescript-eslint/return-await": ["error", "in-try-catch"],
      "@typescript-eslint/only-throw-error": "error",
      "@typescript-eslint/prefer-promise-reject-errors": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { globals: globals.node },
  },
  {
    // The console's pages (React, TSX; typed by control-plane/console/web/tsconfig.json) run in the browser.
    files: ["control-plane/console/web/src/**/*.{ts,tsx}"],
    languageOptions: { globals: globals.browser },
  },
  {
    // Layering (issue 15): code both planes use lives in common/; the control plane and
    // common/ never reach into the data plane (tests may, to drive both).
    files: ["control-plane/**/*.{ts,tsx}", "common/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ regex: "(^|/)data-plane/", message: "shared code belongs in common/; the control plane does not import the data plane" }] }],
    },
  },
  {
    // Tests read JSON answers of many shapes; production code keeps no-explicit-any.
    files: ["**/*.test.ts", "test/**/*.ts", "bench/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
