#!/usr/bin/env bash
# Processor time per request (not a test): the workerd process of each Worker (pass-through, jose, jose
# with a token cache of its own, edge-auth, edge-auth with decision_log = "refusals", edge-auth's auth = "none" route, JS controls) and
# the Node process (autocannon and the loopback origin), over a fixed number of requests, alternating
# rounds; medians and minima. A second view of bench-throughput.sh that does not depend on how the
# machine's two cores are shared. Bounded: REQUESTS × ROUNDS requests per Worker.
#   [ONLY=name,…] [VARIANTS=name=DIR,…] [BASELINE_ROOT=DIR] [FIRST_SIGHT=1] bash scripts/bench-cpu.sh [REQUESTS] [ROUNDS]
# FIRST_SIGHT=1: a new token on every request that carries one (every token verified, none cached).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build-worker.sh >/dev/null
bash scripts/build-jose-worker.sh
node tests/worker/bench/cpu.mjs "$PWD" "$PWD/target/bench/jose-worker.js" "${1:-1000}" "${2:-15}"
