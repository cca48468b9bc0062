// Prints one total over the JSON reports the test steps wrote (vitest and Playwright), if any, and before it
// the name of every failed test, so the tail of a CI log says what failed without scrolling back.
import fs from "node:fs";
import path from "node:path";

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

/** Playwright nests suites (file → describe → spec); a spec that is not ok failed or was flaky. */
function playwrightFailures(suite, file) {
  for (const spec of suite.specs ?? []) {
    if (!spec.ok) failures.push(`${spec.file ?? file} › ${spec.title}`);
  }
  for (const child of suite.suites ?? []) playwrightFailures(child, suite.file ?? file);
}

for (const file of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
  if (!file.endsWith(".json")) continue;
  try {
    const report = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
    if (typeof report.numPassedTests === "number") {
      passed += report.numPassedTests;
      failed += report.numFailedTests;
      skipped += report.numPendingTests + (report.numTodoTests ?? 0);
      for (const result of report.testResults ?? []) {
        const name = path.relative(process.cwd(), result.name ?? "");
        const failedTests = (result.assertionResults ?? []).filter((test) => test.status === "failed");
        for (const test of failedTests) failures.push(`${name} › ${test.fullName ?? test.title}`);
        // A file that failed to load has no failed test but a message.
        if (result.status === "failed" && failedTests.length === 0)
          failures.push(`${name} (the file failed: ${String(result.message ?? "").split("\n")[0]})`);
      }
    } else if (report.stats) {
      passed += report.stats.expected ?? 0;
      failed += (report.stats.unexpected ?? 0) + (report.stats.flaky ?? 0);
      skipped += report.stats.skipped ?? 0;
      for (const suite of report.suites ?? []) playwrightFailures(suite, suite.file);
    }
  } catch {
    console.log(`(could not read ${file})`);
  }
}
for (const failure of failures) console.log(`failed test: ${failure}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
