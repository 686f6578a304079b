#!/usr/bin/env bash
# Installs and builds the example apps against this checkout, for the end-to-end tests
# (test/examples.e2e.test.ts) and bench/next-route.ts:
#   the root package (npm run build: dist/, which the examples link as clerk-sync: file:../..),
#   examples/nextjs (npm ci, next build) and examples/express (npm ci, tsc).
# Needs the root installed first (npm ci). Downloads nothing but npm packages.
# Usage: bash scripts/build-examples.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1

echo "== clerk-sync: npm run build"
npm run -s build

for dir in examples/nextjs examples/express; do
  echo "== $dir: npm ci"
  # --ignore-scripts: no dependency needs one, and it keeps npm from running the linked root's
  # `prepare` (the build above already made dist/).
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund)
  echo "== $dir: npm run build"
  (cd "$dir" && npm run -s build)
done
echo "== examples built"
