#!/usr/bin/env bash
# Size budgets (a test: sizes are deterministic for a given lockfile and toolchain). Fails when
#   - the deployed Worker, as `wrangler deploy --dry-run` counts it (gzip), or
#   - the JS package's wasm (js/pkg/edge_auth_wasm_bg.wasm, gzip -9)
# passes its budget. Run after scripts/build-worker.sh and scripts/build-js.sh:
#   bash scripts/check-size.sh
#
# The budgets are ratchets at what the builds measure today plus a little room, lowered as cuts land.
# The Worker's is issue 11's target itself, 200 KB = 195.3 KiB. Issue 14's revocation took the Worker
# to 209.13 KiB; dropping the `worker` crate's linked code (src/runtime.rs) and panic locations
# (scripts/wasm-toolchain.sh) brought it back to 194.49 KiB; 193.14 KiB after the cuts that followed.
# The package's target was 250 KB (issue 10), its budget is what it measures plus room.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

WORKER_GZIP_BUDGET_KIB=${WORKER_GZIP_BUDGET_KIB:-195.3}
PACKAGE_WASM_GZIP_BUDGET_KIB=${PACKAGE_WASM_GZIP_BUDGET_KIB:-210}

fail=0
dry=$(mktemp -d)
trap 'rm -rf "$dry"' EXIT
report=$(CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false \
  tests/worker/node_modules/.bin/wrangler deploy --dry-run --outdir "$dry" 2>&1)
line=$(grep -E "Total Upload" <<<"$report" || true)
worker=$(sed -nE 's/.*gzip: ([0-9.]+) KiB.*/\1/p' <<<"$line")
if [ -z "$worker" ]; then
  echo "check-size: no 'Total Upload … gzip: N KiB' line from wrangler deploy --dry-run:" >&2
  echo "$report" >&2
  exit 1
fi
echo "check-size: the Worker: $line (budget: gzip ≤ $WORKER_GZIP_BUDGET_KIB KiB; issue 11's target: 195.3 KiB = 200 KB)"
if awk -v a="$worker" -v b="$WORKER_GZIP_BUDGET_KIB" 'BEGIN { exit !(a > b) }'; then
  echo "check-size: FAILED: the Worker is $worker KiB gzip, over its $WORKER_GZIP_BUDGET_KIB KiB budget" >&2
  fail=1
fi

wasm=js/pkg/edge_auth_wasm_bg.wasm
if [ ! -f "$wasm" ]; then
  echo "check-size: $wasm not found: run bash scripts/build-js.sh" >&2
  exit 1
fi
package=$(gzip -9 -c "$wasm" | wc -c | awk '{ printf "%.2f", $1 / 1024 }')
echo "check-size: the JS package's wasm: $package KiB gzip -9 (budget ≤ $PACKAGE_WASM_GZIP_BUDGET_KIB KiB; target 250 KB)"
if awk -v a="$package" -v b="$PACKAGE_WASM_GZIP_BUDGET_KIB" 'BEGIN { exit !(a > b) }'; then
  echo "check-size: FAILED: the JS package's wasm is $package KiB gzip, over its $PACKAGE_WASM_GZIP_BUDGET_KIB KiB budget" >&2
  fail=1
fi
exit "$fail"
