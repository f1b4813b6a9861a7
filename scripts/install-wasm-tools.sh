#!/usr/bin/env bash
# Installs what every wasm build of edge-auth needs (idempotent; skips what is already there), without
# GitHub downloads: the wasm32-unknown-unknown target (rustup) and wasm-bindgen-cli at exactly Cargo.lock's
# wasm-bindgen (the library is pinned "=0.2.130" in Cargo.toml; a CLI of another version refuses the
# module: "schema version 0.2.129 vs 0.2.130"). Used by scripts/build-worker.sh and scripts/build-js.sh.
# Prints where the CLI is: WASM_BINDGEN_BIN (also exported when sourced).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WBG_VERSION=0.2.130          # must equal Cargo.lock's wasm-bindgen (Cargo.toml pins "=0.2.130")
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# The CLI from crates.io: ~7 minutes the first time. NOT --locked (its lock file pins webpki-roots 1.0.11,
# which the registry here lacks).
wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WBG_VERSION" ||
  cargo install wasm-bindgen-cli --version "$WBG_VERSION"
WASM_BINDGEN_BIN="$(command -v wasm-bindgen || echo "$HOME/.cargo/bin/wasm-bindgen")"
export WASM_BINDGEN_BIN
echo "WASM_BINDGEN_BIN=$WASM_BINDGEN_BIN"
