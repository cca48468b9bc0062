import { fileURLToPath } from "node:url";

import { defineConfig } from "vitest/config";

// The sandbox image's suites (`pnpm --filter os2 test:sandbox`): unit tests of the entry's helpers, and
// integration tests against a real Docker Engine. The first build of the image takes minutes, hence the
// long hook timeout; files run one at a time because they share the engine and two cores.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 20 * 60_000,
    fileParallelism: false,
  },
});
