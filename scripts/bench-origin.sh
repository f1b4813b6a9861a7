#!/usr/bin/env bash
# The Python origin kit's per-request cost in FastAPI, against a bare PyJWT `jwt.decode` with the same
# key and a FastAPI handler without auth, in one process (a benchmark, not a test; figures are ratios
# within the run). Usage: bash scripts/bench-origin.sh [--alg EdDSA|ES256] [-n CALLS] [--rounds R]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-kit-python.sh >/dev/null
python3 kits/python/bench/bench_origin.py "$@"
