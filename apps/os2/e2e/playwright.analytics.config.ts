/**
 * Browser tests of product analytics (analytics.spec.ts only), against the real production build with the
 * PostHog keys set and PostHog replaced by the local stand-in (test-support/posthog-standin/cli.ts):
 * posthog-js reaches it through the server's `/ingest` proxy, posthog-node directly. The stand-in writes
 * every request to an NDJSON file, and the server's output is tee'd to a log file, so the spec can assert on
 * what was sent and scan both for secrets.
 *
 * Separate from playwright.config.ts because the SPA bundle is built with `VITE_POSTHOG_PUBLIC_KEY` here and
 * without it there ("no keys, no calls"). Both build into apps/os2/dist, so they must not run at the same
 * time; globalTeardown rebuilds dist without the key so a run never leaves a keyed bundle behind.
 */
import { fileURLToPath } from "node:url";

import { defineConfig } from "@playwright/test";

import { ANALYTICS_E2E } from "./analytics-e2e-server.ts";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./chromium.ts";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const jsonReport = process.env.PLAYWRIGHT_JSON_OUTPUT_NAME?.replace(/(\.json)?$/, "-analytics.json");

export default defineConfig({
  testDir: ".",
  testMatch: "analytics.spec.ts",
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  // Its own JSON file next to the main e2e report, so test-all's summary counts both runs.
  reporter: jsonReport ? [["list"], ["json", { outputFile: jsonReport }]] : [["list"]],
  globalTeardown: "./analytics-e2e-teardown.ts",
  projects: [{ name: "analytics" }],
  use: {
    baseURL: ANALYTICS_E2E.baseUrl,
    viewport: { width: 1280, height: 800 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    // posthog-js drops every event, replay included, from a browser that looks automated: "HeadlessChrome"
    // in the user agent, or navigator.webdriver (see `isLikelyBot`). Present a regular desktop Chrome, so the
    // real bot filter stays on in the app and the test still sees what a user's browser sends.
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36",
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS, "--disable-blink-features=AutomationControlled"],
    },
  },
  webServer: [
    {
      // The stand-in truncates its log at start, so assertions never see a previous run's traffic.
      cwd: packageDir,
      command: `mkdir -p ${ANALYTICS_E2E.artifactsDir} && node_modules/.bin/tsx test-support/posthog-standin/cli.ts`,
      port: ANALYTICS_E2E.standinPort,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "pipe",
      stderr: "pipe",
      gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
      env: {
        POSTHOG_STANDIN_PORT: String(ANALYTICS_E2E.standinPort),
        POSTHOG_STANDIN_HOST: "127.0.0.1",
        POSTHOG_STANDIN_LOG: ANALYTICS_E2E.standinLog,
      },
    },
    {
      cwd: packageDir,
      // `tee` keeps every server log line for the secret scan; `pipefail` keeps the server's exit status.
      command:
        `rm -rf ${ANALYTICS_E2E.dataDir} && mkdir -p ${ANALYTICS_E2E.artifactsDir} && ` +
        `node_modules/.bin/vite build --config app/vite.config.ts && ` +
        `bash -c 'set -o pipefail; node_modules/.bin/tsx backend/entry.ts 2>&1 | tee ${ANALYTICS_E2E.serverLog}'`,
      url: `${ANALYTICS_E2E.apiUrl}/api/health`,
      reuseExistingServer: false,
      timeout: 180_000,
      stdout: "pipe",
      stderr: "pipe",
      gracefulShutdown: { signal: "SIGTERM", timeout: 10_000 },
      env: {
        PORT: String(ANALYTICS_E2E.port),
        HOST: "127.0.0.1",
        OS2_PUBLIC_URL: ANALYTICS_E2E.baseUrl,
        OS2_DATA_DIR: ANALYTICS_E2E.dataDir,
        APP_STAGE: ANALYTICS_E2E.stage,
        OS2_TEST_OTP: "true",
        OS2_WARM_POOL_SIZE: "0",
        // Empty values override anything a local .env might set (dotenv never overrides the environment).
        ITERATE_USER: "",
        DATABASE_URL: "",
        SMTP_URL: "",
        GOOGLE_CLIENT_ID: "",
        GOOGLE_CLIENT_SECRET: "",
        ALLOW_SIGNUP_FROM_EMAILS: "*@example.com",
        OS2_ADMIN_EMAILS: "",
        // Both PostHog clients on, both pointed at the stand-in: the browser via /ingest, the server directly.
        VITE_POSTHOG_PUBLIC_KEY: ANALYTICS_E2E.browserKey,
        VITE_POSTHOG_PROXY_URI: "",
        VITE_APP_STAGE: ANALYTICS_E2E.stage,
        POSTHOG_KEY: ANALYTICS_E2E.serverKey,
        POSTHOG_HOST: ANALYTICS_E2E.standinUrl,
      },
    },
  ],
});
