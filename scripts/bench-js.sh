#!/usr/bin/env bash
# Benchmark of the npm package (not a test): per algorithm, `verifier.verify` on a token's first sight and on
# a repeated token against jose's `jwtVerify` with the same keys, in the same Node process and then in
# Deno; and the package's size (raw and gzip -9).
#   bash scripts/bench-js.sh [TOKENS_PER_ROUND] [ROUNDS]        (defaults 2000 5)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup-js-tests.sh >/dev/null
[ -f js/pkg/edge_auth_wasm_bg.wasm ] || bash scripts/build-js.sh >/dev/null
size() { printf '%8d raw %8d gzip' "$(wc -c < "$1")" "$(gzip -9 -c "$1" | wc -c)"; }
echo "package size:"
echo "  wasm  $(size js/pkg/edge_auth_wasm_bg.wasm)"
all=$(mktemp)
cat js/pkg/edge_auth_wasm_bg.wasm js/pkg/edge_auth_wasm.js js/*.js > "$all"
echo "  total $(size "$all")   (the wasm, its glue and the package's own modules)"
rm -f "$all"
node tests/js/bench/verify.mjs "${1:-2000}" "${2:-5}"
tests/js/node_modules/.bin/deno run -A tests/js/bench/verify.mjs "${1:-2000}" "${2:-5}"
