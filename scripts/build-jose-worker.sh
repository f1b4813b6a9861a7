#!/usr/bin/env bash
# Bundles the benchmarks' jose Worker (tests/worker/bench/jose-worker.mjs) into target/bench/jose-worker.js
# with the esbuild that wrangler installs (tests/worker/node_modules). Used by bench-coldstart.sh and
# bench-throughput.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x tests/worker/node_modules/.bin/esbuild ] || (cd tests/worker && npm ci --no-audit --no-fund --loglevel=error)
mkdir -p target/bench
tests/worker/node_modules/.bin/esbuild tests/worker/bench/jose-worker.mjs --bundle --format=esm \
  --platform=neutral --main-fields=module,main --conditions=workerd,worker,browser \
  --log-level=warning --outfile=target/bench/jose-worker.js
