#!/usr/bin/env bash
# The one entry point behind every npm script: idempotent set-up first (Node 24, node modules,
# the mediasoup worker, the app build), then the command. Safe to run on a fresh clone, fast when warm.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-start}; shift || true

# shellcheck source=scripts/setup/node.sh
source scripts/setup/node.sh          # puts Node >= 22.18 first on PATH (Node 24 from the npm registry if needed)
source scripts/setup/modules.sh       # npm ci when package-lock.json changed since the last install
source scripts/setup/system.sh        # lectern_require_packages: apt-get install when missing (as root)
case "$cmd" in
  start|dev|test|bench|cluster) lectern_require_packages ffmpeg ;;
esac
case "$cmd" in
  test) lectern_require_packages chromium fonts-dejavu-core faketime coturn nftables nginx docker-compose ;;
  cluster) lectern_require_packages nginx ;;
  bench) lectern_require_packages chromium fonts-dejavu-core ;;
esac
MEDIASOUP_WORKER_BIN=$(bash scripts/worker/build.sh | tail -n 1)  # progress goes to stderr, the path last
export MEDIASOUP_WORKER_BIN
[ -x "$MEDIASOUP_WORKER_BIN" ] || { echo "lectern: worker build did not produce a binary" >&2; exit 1; }

build_app() { bash scripts/setup/app-build.sh; }

case "$cmd" in
  start) build_app; exec node server/main.ts "$@" ;;
  dev)   exec node --watch-path=server server/main.ts --dev "$@" ;;
  build) build_app ;;
  seed)  exec node scripts/seed.ts "$@" ;;
  cluster) build_app; exec node scripts/cluster.ts "$@" ;;
  test)
    # Lint first (eslint + prettier --check, as `npm run lint`): style errors fail the run before the slow suite.
    node_modules/.bin/eslint . && node_modules/.bin/prettier --check --log-level warn .
    build_app
    rc=0
    node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@" || rc=$?
    # One plain closing line that any CI reader understands.
    node -e 'const r = JSON.parse(require("fs").readFileSync("test-results/vitest.json", "utf8"));
      console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' || true
    exit $rc ;;
  bench) build_app; exec node bench/run.ts "$@" ;;
  *) echo "lectern: unknown command '$cmd' (start|dev|build|seed|test|bench|cluster)" >&2; exit 2 ;;
esac
