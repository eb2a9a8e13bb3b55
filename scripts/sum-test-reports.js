#!/usr/bin/env node
// Totals vitest JSON reports (one per package) into the plain line
// "N passed, N failed, N skipped". Exits 1 when a report is missing or no test ran.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? ".test-reports";
const expected = ["platform", "ir", "passes", "backend-ebpf", "elf", "frontend-lua", "loader", "cli", "check"];
let passed = 0, failed = 0, skipped = 0;
const seen = new Set();
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const report = JSON.parse(readFileSync(join(dir, file), "utf8"));
  seen.add(file.replace(/\.json$/, ""));
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
const missing = expected.filter((p) => !seen.has(p));
if (missing.length > 0) {
  console.log(`missing test reports: ${missing.join(", ")}`);
  failed += missing.length;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
