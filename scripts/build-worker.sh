#!/usr/bin/env bash
# Builds the Worker into build/ (index.js, index_bg.wasm, worker/shim.mjs) without GitHub downloads.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-wasm-tools.sh >/dev/null   # the wasm32 target and wasm-bindgen-cli 0.2.130
worker-build --version 2>/dev/null | grep -qx 0.8.7 ||
  cargo install worker-build --version 0.8.7 --locked
[ -x tests/worker/node_modules/.bin/wrangler ] || (cd tests/worker && npm ci --no-audit --no-fund --loglevel=error)
# The compiler for shipped wasm: a pinned nightly building std with panic = "immediate-abort" (see there).
. scripts/wasm-toolchain.sh
export WASM_BINDGEN_BIN="$HOME/.cargo/bin/wasm-bindgen"
export WASM_OPT_BIN="$PWD/tests/worker/node_modules/.bin/wasm-opt"   # npm binaryen@132.0.0
export ESBUILD_BIN="$PWD/tests/worker/node_modules/.bin/esbuild"     # else worker-build fetches esbuild 0.28.2 from npm into ~/.cache
# The `wasm` profile (Cargo.toml: opt-level "z") unless EDGE_AUTH_WASM_PROFILE names
# another (`release` for the speed comparison in issue 11's note).
# wasm-opt runs here rather than in worker-build, to choose its passes: -Oz (size), and no name or
# producers section in what is deployed. `--one-caller-inline-max-function-size=30`: binaryen
# otherwise inlines every function that has one caller, whatever its size, which made the fetch
# handler one 77 KB function that V8 compiles on the first request; capped, the largest is 10 KB and
# the gzip is 8 KiB smaller (repeated call sequences compress better than inlined copies).
# EDGE_AUTH_WASM_OCIMFS=-1 restores binaryen's default; EDGE_AUTH_WASM_OPT_EXTRA: more wasm-opt flags.
profile=${EDGE_AUTH_WASM_PROFILE:-wasm}
out=build
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [ "${args[$i]}" = -d ] || [ "${args[$i]}" = --out-dir ]; then out=${args[$((i + 1))]}; fi
done
worker-build --profile "$profile" --no-opt "$@"
level=-Oz
if [ "$profile" = release ]; then level=-O; fi
# EDGE_AUTH_WASM_NAMES=1 keeps the function names (for tests/worker/bench/profile.mjs; never deployed).
strip=(--strip-debug)
if [ "${EDGE_AUTH_WASM_NAMES:-}" = 1 ]; then strip=(--debuginfo); fi
# The features rustc enables for wasm32-unknown-unknown by default, and exception handling (the
# try_table of wasm-bindgen's catch wrappers); wasm-opt must keep to them.
"$WASM_OPT_BIN" "$level" "${strip[@]}" --strip-producers --enable-bulk-memory \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --enable-reference-types --enable-multivalue --enable-exception-handling \
  --one-caller-inline-max-function-size="${EDGE_AUTH_WASM_OCIMFS:-30}" ${EDGE_AUTH_WASM_OPT_EXTRA:-} "$out/index_bg.wasm" -o "$out/index_bg.wasm.opt"
mv "$out/index_bg.wasm.opt" "$out/index_bg.wasm"
