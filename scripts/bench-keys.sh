#!/usr/bin/env bash
# Benchmark (not a test) of remote keys inside workerd: the latency of a first-sight request with the
# issuer's keys in memory, from the shared cache (Cache API), and fetched from a loopback provider.
#   bash scripts/bench-keys.sh [SAMPLES]      (default 15)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build-worker.sh >/dev/null
node tests/worker/bench/keys.mjs "${1:-15}"
