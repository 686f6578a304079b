// Reads vitest's JSON results and prints the closing line CI reads: "N passed, N failed".
// Checks that failed outside vitest (typecheck, lint, examples, pack) count as failed too, and
// so does a test run that exited non-zero without any failed test (e.g. an unhandled error).
import { existsSync, readFileSync } from "node:fs";

const staticFailed = Number(process.argv[2] ?? 0);
const testsExitedNonZero = process.argv[3] === "1";
const path = ".tmp/vitest-results.json";
let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(path)) {
  const results = JSON.parse(readFileSync(path, "utf8"));
  passed = results.numPassedTests;
  failed = results.numFailedTests;
  skipped = results.numPendingTests + (results.numTodoTests ?? 0);
} else {
  failed = 1;
  console.log("No test results were written (the test run did not complete).");
}
if (testsExitedNonZero && failed === 0) failed = 1;
failed += staticFailed;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
