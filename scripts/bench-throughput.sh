#!/usr/bin/env bash
# Throughput of the whole Worker against a pass-through Worker, same loopback origin, same run (not a
# test; bounded in time and connections).   bash scripts/bench-throughput.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build-worker.sh >/dev/null
node tests/worker/bench/throughput.mjs "$PWD" "${1:-8}" "${2:-16}"
