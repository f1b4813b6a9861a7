#!/usr/bin/env bash
# Benchmark of the Worker inside workerd (not a test): per algorithm, the cost per call of a token's first
# sight and of a repeated token, and of the whole request path short of the network (plan, verify, the
# revocation check, mint the assertion), beside jose's jwtVerify with the same keys and tokens in the same
# isolate; and the revocation check alone with its state cached in the isolate (budget ≤ 1 µs per request;
# REVOCATION_RECORDS=N records of each kind per issuer, default 1000).
#   [ASSERTION_ALG=HS256] [BENCH_ALGS=ES256,…] bash scripts/bench-worker.sh [TOKENS_PER_ROUND] [ROUNDS]
#   (defaults 2000 5: the timer ticks in ms, so 2000 calls give 0.5 µs steps; assertions EdDSA unless
#   ASSERTION_ALG=HS256; every token algorithm unless BENCH_ALGS names some)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build-worker.sh -d target/worker-bench . --features bench >/dev/null
tests/worker/node_modules/.bin/esbuild tests/worker/bench/harness.mjs --bundle --format=esm \
  --platform=neutral --main-fields=module,main --conditions=workerd,worker,browser \
  --external:./index.js --log-level=warning --outfile=target/worker-bench/harness.js
node tests/worker/bench/run.mjs "$PWD/target/worker-bench" "${1:-2000}" "${2:-5}"
