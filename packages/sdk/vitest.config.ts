import { defineConfig } from "vitest/config";

// unit: pure parts and a local HTTP server, seconds. e2e: a real os2 (production entry) with Docker
// machines, minutes; run one file at a time since they share the Docker Engine.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["src/**/*.test.ts"], testTimeout: 20_000 } },
      {
        test: {
          name: "e2e",
          include: ["test/**/*.e2e.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
