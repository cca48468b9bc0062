// Prints one total over the JSON reports the test steps wrote (vitest and Playwright), if any.
import fs from "node:fs";
import path from "node:path";

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
  if (!file.endsWith(".json")) continue;
  try {
    const report = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
    if (typeof report.numPassedTests === "number") {
      passed += report.numPassedTests;
      failed += report.numFailedTests;
      skipped += report.numPendingTests + (report.numTodoTests ?? 0);
    } else if (report.stats) {
      passed += report.stats.expected ?? 0;
      failed += (report.stats.unexpected ?? 0) + (report.stats.flaky ?? 0);
      skipped += report.stats.skipped ?? 0;
    }
  } catch {
    console.log(`(could not read ${file})`);
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
