// @ts-check
/**
 * ESLint (flat config) with typescript-eslint's type-aware rules: the checks that matter here are the ones
 * a type checker alone misses (promises nobody awaits, unused code, import order). Formatting is Prettier's.
 */
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import simpleImportSort from "eslint-plugin-simple-import-sort";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "**/dist-server/**",
      "**/.data/**",
      "**/test-results/**",
      "**/playwright-report/**",
      "apps/os2/backend/db/migrations/**",
      "apps/daemon/build.mjs",
      "scripts/*.mjs",
      "eslint.config.mjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["apps/os2/vitest.config.ts"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { "simple-import-sort": simpleImportSort },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // A promise nobody awaits or catches is how a background fault becomes an unhandled rejection.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false } }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
      ],
      "simple-import-sort/imports": "error",
      "simple-import-sort/exports": "error",
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
      "no-duplicate-imports": ["error", { allowSeparateTypeImports: true }],
      // zod-parsed and JSON data flows through `unknown` on purpose; these rules would force casts instead.
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/restrict-template-expressions": "off",
      "@typescript-eslint/no-base-to-string": "off",
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/only-throw-error": "off",
      "@typescript-eslint/prefer-promise-reject-errors": "off",
      "@typescript-eslint/no-redundant-type-constituents": "off",
      "@typescript-eslint/unbound-method": "off",
    },
  },
  {
    // In a server process an unhandled rejection ends the process: there `void` does not count as
    // handling a promise; it needs a .catch (or an await). In the browser it is only a console message.
    files: ["apps/os2/backend/**/*.ts", "apps/daemon/src/**/*.ts"],
    rules: { "@typescript-eslint/no-floating-promises": ["error", { ignoreVoid: false }] },
  },
  {
    files: ["apps/os2/app/**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    rules: {
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "error",
    },
  },
);
