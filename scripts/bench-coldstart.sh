#!/usr/bin/env bash
# Cold start of the Worker beside a pass-through Worker and a jose Worker doing the same job (not a test;
# bounded: ROUNDS × 3 workerd starts).   bash scripts/bench-coldstart.sh [ROUNDS]   (default 9)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build-worker.sh >/dev/null
mkdir -p target/bench
tests/worker/node_modules/.bin/esbuild tests/worker/bench/jose-worker.mjs --bundle --format=esm \
  --platform=neutral --main-fields=module,main --conditions=workerd,worker,browser \
  --log-level=warning --outfile=target/bench/jose-worker.js
node tests/worker/bench/coldstart.mjs "$PWD" "$PWD/target/bench/jose-worker.js" "${1:-9}"
