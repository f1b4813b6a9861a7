#!/usr/bin/env bash
# Builds the Worker into build/ (index.js, index_bg.wasm, worker/shim.mjs) without GitHub downloads.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-wasm-tools.sh >/dev/null   # the wasm32 target and wasm-bindgen-cli 0.2.130
worker-build --version 2>/dev/null | grep -qx 0.8.7 ||
  cargo install worker-build --version 0.8.7 --locked
[ -x tests/worker/node_modules/.bin/wrangler ] || (cd tests/worker && npm ci --no-audit --no-fund --loglevel=error)
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export WASM_OPT_BIN="$PWD/tests/worker/node_modules/.bin/wasm-opt"   # npm binaryen@132.0.0
export ESBUILD_BIN="$PWD/tests/worker/node_modules/.bin/esbuild"     # else worker-build fetches esbuild 0.28.2 from npm into ~/.cache
worker-build --release "$@"
