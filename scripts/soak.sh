#!/usr/bin/env bash
# The soak (issue 9; not part of CI's default run): the built Worker in workerd under a steady mix of good
# and bad tokens while its loopback key provider rotates, stalls, fails and comes back; asserts 0 wrong
# decisions against an oracle, 0 unauthenticated forwards, the provider fetch count within the bound the
# config implies, and no isolate crash; prints the tables. Design: tests/worker/soak.mjs. ≤ 120 s.
#   bash scripts/soak.sh                               # build/ (built first if missing)
#   EDGE_AUTH_BUILD=build-baseline bash scripts/soak.sh   # another build directory, as it is
#   SOAK_SECONDS=60 SOAK_RATE=100 SOAK_CONCURRENCY=16 bash scripts/soak.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build="${EDGE_AUTH_BUILD:-build}"
if [ ! -f "$build/index_bg.wasm" ]; then
  if [ "$build" = build ]; then
    bash scripts/build-worker.sh
  else
    echo "soak: no $build/index_bg.wasm" >&2
    exit 2
  fi
fi
[ -d tests/worker/node_modules/miniflare ] || (cd tests/worker && npm ci --no-audit --no-fund --loglevel=error)
# The soak ends by itself (SOAK_SECONDS + at most ~20 s of setup, drain and checks); this is a backstop.
EDGE_AUTH_BUILD="$build" exec timeout -k 5 120 node tests/worker/soak.mjs
