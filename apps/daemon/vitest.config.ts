import { defineConfig } from "vitest/config";

// In-process route tests: each file builds the Hono app against temp directories and its own tmux socket.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
