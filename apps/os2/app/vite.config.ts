/**
 * The SPA's build. Root is this folder; `vite build` writes to apps/os2/dist, which backend/entry.ts serves.
 * In dev, backend/dev.ts runs Vite in middleware mode inside the API process, so there is no dev proxy:
 * every API call is a same-origin relative URL.
 *
 * `VITE_*` variables come from the process environment or a `.env` in apps/os2, the same file the server
 * reads (envDir), so one `.env` configures both. They are baked in at build time: set
 * `VITE_POSTHOG_PUBLIC_KEY` before `pnpm build`, not only before `pnpm start`.
 */
import os from "node:os";
import { fileURLToPath } from "node:url";

import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig, loadEnv } from "vite";

import { computeServerStage } from "../backend/stage.ts";

const appDir = fileURLToPath(new URL(".", import.meta.url));
const packageDir = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig(({ mode }) => {
  // Prefix "" loads every variable (the process environment wins over .env), for the stage computation.
  const env = loadEnv(mode, packageDir, "");
  // `$environment` defaults to the server's own stage rule (ITERATE_USER, APP_STAGE, local-<os user>), so
  // browser and server events of one deployment carry the same value without setting VITE_APP_STAGE.
  const appStage = env.VITE_APP_STAGE?.trim() || computeServerStage(env, os.userInfo().username);
  return {
    root: appDir,
    envDir: packageDir,
    define: { "import.meta.env.VITE_APP_STAGE": JSON.stringify(appStage) },
    plugins: [react(), tailwindcss()],
    build: {
      outDir: "../dist",
      emptyOutDir: true,
      // One chunk for a dashboard SPA served from the same host is fine; warn only if it grows a lot.
      chunkSizeWarningLimit: 900,
    },
  };
});
