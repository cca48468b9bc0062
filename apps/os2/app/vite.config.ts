/**
 * The SPA's build. Root is this folder; `vite build` writes to apps/os2/dist, which backend/entry.ts serves.
 * In dev, backend/dev.ts runs Vite in middleware mode inside the API process, so there is no dev proxy:
 * every API call is a same-origin relative URL.
 */
import { fileURLToPath } from "node:url";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const appDir = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: appDir,
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    // One chunk for a dashboard SPA served from the same host is fine; warn only if it grows a lot.
    chunkSizeWarningLimit: 900,
  },
});
