#!/usr/bin/env bash
# Builds the Worker into build/ (index.js, index_bg.wasm, worker/shim.mjs) without GitHub downloads.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WBG_VERSION=0.2.130          # must equal Cargo.lock's wasm-bindgen (Cargo.toml pins "=0.2.130")
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WBG_VERSION" ||
  cargo install wasm-bindgen-cli --version "$WBG_VERSION"          # NOT --locked (webpki-roots 1.0.11 missing)
worker-build --version 2>/dev/null | grep -qx 0.8.7 ||
  cargo install worker-build --version 0.8.7 --locked
[ -x tests/worker/node_modules/.bin/wrangler ] || (cd tests/worker && npm ci --no-audit --no-fund --loglevel=error)
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export WASM_OPT_BIN="$PWD/tests/worker/node_modules/.bin/wasm-opt"   # npm binaryen@132.0.0
export ESBUILD_BIN="$PWD/tests/worker/node_modules/.bin/esbuild"     # else worker-build fetches esbuild 0.28.2 from npm into ~/.cache
worker-build --release "$@"
