#!/usr/bin/env bash
# `npm test`: install what the suite needs, type-check, run every suite, and end with one
# plain summary line ("N passed, N failed, N skipped") that any CI can read.
set -uo pipefail
cd "$(dirname "$0")/../.."
bash test/support/install-tools.sh || exit 1
npx tsc --noEmit || { echo "typecheck failed"; echo "0 passed, 1 failed"; exit 1; }
mkdir -p .tmp
rm -f .tmp/vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@"
status=$?
if [ -f .tmp/vitest.json ]; then
  node -e '
    const r = JSON.parse(require("node:fs").readFileSync(".tmp/vitest.json", "utf8"));
    // A suite that failed to load has no failed test of its own: count it as one failure.
    const broken = (r.testResults || []).filter((s) => s.status === "failed" && !s.assertionResults.some((a) => a.status === "failed")).length;
    const slow = (r.testResults || []).map((s) => ({ file: require("node:path").relative(process.cwd(), s.name), ms: (s.endTime || 0) - (s.startTime || 0) })).sort((a, b) => b.ms - a.ms).slice(0, 10);
    console.log("slowest test files:");
    for (const s of slow) console.log(`  ${(s.ms / 1000).toFixed(1).padStart(6)} s  ${s.file}`);
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + broken} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  ' || true
else
  echo "tests: 0 passed, 1 failed"
fi
exit $status
