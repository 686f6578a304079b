#!/usr/bin/env bash
# Installs and builds the example apps against this checkout, for the end-to-end tests
# (test/examples.e2e.test.ts, test/examples.next-dev.e2e.test.ts) and bench/next-route.ts:
#   the root package (npm run build, then npm pack: the tarball a user would install),
#   then each of examples/nextjs, examples/express, examples/hono and examples/node: npm ci (their
#   lockfiles), the packed clerk-sync installed over the `file:../..` link, npm run build.
# Installing the tarball, not the link, runs the examples on what `npm pack` ships (files,
# exports, dependencies) and gives each its own node_modules, as in an app.
# Needs the root installed first (npm ci). Downloads nothing but npm packages (unless the root's
# better-sqlite3 has no native binding: then each example's install script fetches or builds one).
# Usage: bash scripts/build-examples.sh [example ...]   (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
ROOT=$PWD

echo "== clerk-sync: npm run build, npm pack"
npm run -s build
rm -rf .tmp/pack && mkdir -p .tmp/pack
# --ignore-scripts: `prepare` would build again.
npm pack --silent --ignore-scripts --pack-destination .tmp/pack >/dev/null
tarball=$(ls "$ROOT"/.tmp/pack/clerk-sync-*.tgz)
echo "   $tarball"

sqlite_version=$(node -p "require('./node_modules/better-sqlite3/package.json').version")

examples=("$@")
[ ${#examples[@]} -gt 0 ] || examples=(nextjs express hono node)
for name in "${examples[@]}"; do
  dir=examples/$name
  echo "== $dir: npm ci, npm install <tarball>"
  # --ignore-scripts: no dependency needs one here (better-sqlite3's is handled below), and it
  # keeps npm from running the linked root's `prepare`.
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund)
  # better-sqlite3 pinned to the root's version (within clerk-sync's range), so that the root's
  # native binding fits it: its install script would download or compile one per example.
  (cd "$dir" && npm install --no-save --ignore-scripts --no-audit --no-fund "$tarball" "better-sqlite3@$sqlite_version")
  binding=build/Release/better_sqlite3.node
  if [ ! -f "$dir/node_modules/better-sqlite3/$binding" ]; then
    theirs=$(node -p "require('./$dir/node_modules/better-sqlite3/package.json').version")
    if [ "$theirs" = "$sqlite_version" ] && [ -f "node_modules/better-sqlite3/$binding" ]; then
      mkdir -p "$dir/node_modules/better-sqlite3/build/Release"
      cp "node_modules/better-sqlite3/$binding" "$dir/node_modules/better-sqlite3/$binding"
    else
      (cd "$dir" && npm rebuild better-sqlite3)
    fi
  fi
  echo "== $dir: npm run build"
  (cd "$dir" && npm run -s build)
done
echo "== examples built"
