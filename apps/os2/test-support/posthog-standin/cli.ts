/**
 * Runs the PostHog stand-in as its own process, for e2e runs where the server under test and Playwright
 * live in separate processes and cannot share the in-memory `requests` array.
 *
 *   POSTHOG_STANDIN_PORT=4318 POSTHOG_STANDIN_LOG=/tmp/posthog.ndjson tsx test-support/posthog-standin/cli.ts
 *
 * Each recorded request is appended to POSTHOG_STANDIN_LOG as one NDJSON line (see log.ts); read it back with
 * `readStandinLog`. The file is truncated at start, so a run's assertions never see a previous run's traffic.
 */
import { appendFileSync, writeFileSync } from "node:fs";

import { toLogLine } from "./log.ts";
import { startPostHogStandin } from "./standin.ts";

const portText = process.env.POSTHOG_STANDIN_PORT ?? "0";
const port = Number.parseInt(portText, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`POSTHOG_STANDIN_PORT must be a port number (0 picks a free one), got "${portText}"`);
  process.exit(2);
}
const logFile = process.env.POSTHOG_STANDIN_LOG;
if (logFile === undefined || logFile === "") {
  console.error("Set POSTHOG_STANDIN_LOG to the NDJSON file the stand-in should write requests to");
  process.exit(2);
}

writeFileSync(logFile, "");
const standin = await startPostHogStandin({
  port,
  host: process.env.POSTHOG_STANDIN_HOST ?? "127.0.0.1",
  // Synchronous append: each line is on disk before the response is observed, so an e2e run that stops
  // the process right after its last request still finds every line.
  onRequest: (request) => appendFileSync(logFile, `${JSON.stringify(toLogLine(request))}\n`),
});
// The URL line is what a launcher (e.g. Playwright's webServer) waits for.
console.log(`posthog stand-in listening on ${standin.url}, logging to ${logFile}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void standin.close().finally(() => process.exit(0));
  });
}
