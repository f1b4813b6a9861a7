#!/usr/bin/env bash
# The browser inspector on http://127.0.0.1:8790 (PORT=… to change): builds www/dist/ (scripts/build-www.sh,
# which builds the JS package first only if js/pkg/ is missing), then serves it with www/server.mjs, which
# sends dist/_headers (the Content-Security-Policy) with every file. Loopback only; Ctrl+C stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/build-www.sh
exec node www/server.mjs "${PORT:-8790}"
