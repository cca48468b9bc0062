import { defineConfig } from "vitest/config";

// Two projects: fast unit tests, and integration suites that use a real Docker Engine, PostgreSQL or
// spawned servers. Integration files run one at a time: they share the Docker Engine and the machine's
// two cores, and parallel container churn makes them flaky rather than faster.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["backend/**/*.test.ts", "test-support/**/*.test.ts"],
          exclude: ["**/*.integration.test.ts", "**/node_modules/**"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["backend/**/*.integration.test.ts", "test-support/**/*.integration.test.ts"],
          exclude: ["**/node_modules/**"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
