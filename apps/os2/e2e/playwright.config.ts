/**
 * Browser tests in Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium; `playwright install` cannot
 * download here). The web server is the real production build: `vite build`, then `backend/entry.ts` on
 * embedded PGlite in a data directory wiped at every run, stage `e2e`, so `+test@` addresses sign in with
 * the fixed code.
 */
import { fileURLToPath } from "node:url";

import { defineConfig } from "@playwright/test";

import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./chromium.ts";
import { E2E_API_URL, E2E_BASE_URL, E2E_PORT } from "./e2e-server.ts";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
// OS2_E2E_DATA_DIR (with OS2_E2E_PORT) lets two checkouts or people run the browser tests side by side.
const dataDir = process.env.OS2_E2E_DATA_DIR ?? ".tmp/e2e-data";

export default defineConfig({
  testDir: ".",
  testMatch: "**/*.spec.ts",
  // The analytics spec needs the PostHog stand-in and keys: it runs under playwright.analytics.config.ts.
  testIgnore: "analytics.spec.ts",
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  // test-all.sh sets PLAYWRIGHT_JSON_OUTPUT_NAME to collect a JSON report alongside the console output.
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [["list"], ["json"]] : [["list"]],
  use: {
    baseURL: E2E_BASE_URL,
    viewport: { width: 1280, height: 800 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: [...CHROMIUM_ARGS],
    },
  },
  webServer: {
    cwd: packageDir,
    command: `rm -rf ${dataDir} && node_modules/.bin/vite build --config app/vite.config.ts && node_modules/.bin/tsx backend/entry.ts`,
    url: `${E2E_API_URL}/api/health`,
    reuseExistingServer: false,
    timeout: 180_000,
    stdout: "pipe",
    stderr: "pipe",
    gracefulShutdown: { signal: "SIGTERM", timeout: 10_000 },
    env: {
      PORT: String(E2E_PORT),
      HOST: "127.0.0.1",
      OS2_PUBLIC_URL: E2E_BASE_URL,
      OS2_DATA_DIR: dataDir,
      APP_STAGE: "e2e",
      // `e2e` is no local stage: the fixed `+test@` code is turned on explicitly.
      OS2_TEST_OTP: "true",
      // Every spec signs its members in from 127.0.0.1; the per-address limit (default 10 a minute) is for
      // people, and its own integration test (auth/rate-limit.integration.test.ts) covers it.
      OTP_RATE_LIMIT_PER_MINUTE: "1000",
      // No warm pool: specs count the containers they make.
      OS2_WARM_POOL_SIZE: "0",
      // Empty values override anything a local .env might set (dotenv never overrides the environment).
      ITERATE_USER: "",
      DATABASE_URL: "",
      SMTP_URL: "",
      GOOGLE_CLIENT_ID: "",
      GOOGLE_CLIENT_SECRET: "",
      POSTHOG_KEY: "",
      VITE_POSTHOG_PUBLIC_KEY: "",
      ALLOW_SIGNUP_FROM_EMAILS: "*@example.com",
      OS2_ADMIN_EMAILS: "root+test@example.com",
    },
  },
});
