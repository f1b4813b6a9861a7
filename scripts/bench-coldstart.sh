#!/usr/bin/env bash
# Cold start of the Worker beside a pass-through Worker and a jose Worker doing the same job (not a test;
# bounded: ROUNDS × 5 workerd starts, 6 with a baseline), then the first request of a fresh Worker on a
# timeline (tests/worker/bench/first-request.mjs: 9 more starts): where its milliseconds go.
#   [BASELINE_ROOT=DIR] bash scripts/bench-coldstart.sh [ROUNDS]   (default 9)
# BASELINE_ROOT: a checkout whose build/ holds another Worker build (an older commit), measured beside.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build-worker.sh >/dev/null
bash scripts/build-jose-worker.sh
node tests/worker/bench/coldstart.mjs "$PWD" "$PWD/target/bench/jose-worker.js" "${1:-9}"
node tests/worker/bench/first-request.mjs "$PWD" 9
