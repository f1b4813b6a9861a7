#!/usr/bin/env bash
# Throughput of the whole Worker against a pass-through Worker and a jose Worker doing the same job, same
# loopback origin, same run, repeated and first-sight tokens (not a test; bounded in time and
# connections: 39 runs of SECONDS with the warm-ups, 46 with a baseline). "edge-auth quiet" is the same build with
# decision_log = "refusals" (no log line for a forward); "jose cached" is the jose Worker with a token
# cache of its own (the JS floor for a repeated token; no log line either); "edge-auth HS256" and
# "HS256 quiet" sign the assertion with HMAC-SHA256 in Rust instead of WebCrypto's Ed25519.
#   [BASELINE_ROOT=DIR] bash scripts/bench-throughput.sh [SECONDS] [CONNECTIONS]
# BASELINE_ROOT: a checkout (or any directory) whose build/ holds another Worker build, measured beside.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build-worker.sh >/dev/null
bash scripts/build-jose-worker.sh
node tests/worker/bench/throughput.mjs "$PWD" "${1:-8}" "${2:-16}" "$PWD/target/bench/jose-worker.js"
