/**
 * After the analytics e2e run: rebuild apps/os2/dist without PostHog keys. The run builds the SPA with a
 * test key baked in; left behind, a later `pnpm start` (without `pnpm build`) would send browser events to
 * the `/ingest` proxy of a server that was meant to have no analytics at all.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function rebuildWithoutAnalyticsKeys(): void {
  const packageDir = fileURLToPath(new URL("..", import.meta.url));
  execFileSync("node_modules/.bin/vite", ["build", "--config", "app/vite.config.ts", "--logLevel", "warn"], {
    cwd: packageDir,
    stdio: "inherit",
    // Empty values beat a local .env (Vite lets the process environment win).
    env: { ...process.env, VITE_POSTHOG_PUBLIC_KEY: "" },
  });
}
