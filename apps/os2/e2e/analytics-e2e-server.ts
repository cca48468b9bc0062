/**
 * Where the analytics e2e run (playwright.analytics.config.ts) puts things. Ports and directories differ
 * from the main e2e run (e2e-server.ts), so a leftover server or data directory of one never feeds the other.
 * Paths are relative to apps/os2, the web servers' working directory; the spec resolves them from there.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

const port = Number(process.env.OS2_E2E_ANALYTICS_PORT ?? 3127);
const standinPort = Number(process.env.OS2_E2E_POSTHOG_STANDIN_PORT ?? 3137);
const artifactsDir = ".tmp/e2e-analytics";

export const ANALYTICS_E2E = {
  port,
  /** The browser's origin (the public URL better-auth trusts). */
  baseUrl: `http://localhost:${port}`,
  /** Node-side calls use the address the server binds. */
  apiUrl: `http://127.0.0.1:${port}`,
  standinPort,
  standinUrl: `http://127.0.0.1:${standinPort}`,
  dataDir: ".tmp/e2e-analytics-data",
  artifactsDir,
  /** NDJSON, one line per request the stand-in received (test-support/posthog-standin/log.ts). */
  standinLog: `${artifactsDir}/posthog-requests.ndjson`,
  /** Everything the server printed, stdout and stderr. */
  serverLog: `${artifactsDir}/server.log`,
  browserKey: "phc_e2e_test",
  serverKey: "phc_e2e_server",
  /** APP_STAGE and VITE_APP_STAGE: `$environment` on browser and server events alike. */
  stage: "e2e-analytics",
} as const;

const packageDir = fileURLToPath(new URL("..", import.meta.url));

/** An ANALYTICS_E2E path as an absolute path, for reading from the spec (whose cwd may differ). */
export function analyticsE2ePath(relative: string): string {
  return path.resolve(packageDir, relative);
}
