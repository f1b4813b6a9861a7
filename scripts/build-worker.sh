#!/usr/bin/env bash
# Builds the Worker into build/ (index.js, index_bg.wasm, worker/shim.mjs) without GitHub downloads:
# worker-build, then the main module of src/module.mjs bundled with worker-build's output, then wasm-opt.
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
# producers section in what is deployed (the flags shared with the package: scripts/wasm-toolchain.sh).
profile=${EDGE_AUTH_WASM_PROFILE:-wasm}
out=build
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    -d | --out-dir) out=${args[$((i + 1))]} ;;
    --out-dir=*) out=${args[$i]#--out-dir=} ;;
    -d?*) out=${args[$i]#-d} ;;
  esac
done
# An earlier build's index.js goes first: should `$out` ever miss where worker-build wrote, the `mv`
# below fails rather than wrapping an old bundle a second time.
rm -f "$out/index.js"
worker-build --profile "$profile" --no-opt "$@"
# The main module: src/module.mjs (a plain `{ fetch }` default export; why there) bundled with what
# worker-build made. A bench build also exports worker-build's entrypoint class as `BenchEntrypoint`,
# whose prototype carries the bench probes (tests/worker/bench/harness.mjs): told from the build itself
# (worker-build attaches every exported function to that prototype, by name), not from the arguments.
mv "$out/index.js" "$out/worker-build.js"
cp src/module.mjs "$out/module.mjs"
if grep -q 'prototype\.bench_setup=' "$out/worker-build.js"; then
  printf 'export { Shim as BenchEntrypoint };\n' >>"$out/module.mjs"
fi
"$ESBUILD_BIN" "$out/module.mjs" --bundle --format=esm --minify --log-level=warning \
  --external:./index_bg.wasm '--external:cloudflare:*' --outfile="$out/index.js"
rm "$out/worker-build.js" "$out/module.mjs"
level=-Oz
if [ "$profile" = release ]; then level=-O; fi
# EDGE_AUTH_WASM_NAMES=1 keeps the function names (for tests/worker/bench/profile.mjs; never deployed).
strip=(--strip-debug)
if [ "${EDGE_AUTH_WASM_NAMES:-}" = 1 ]; then strip=(--debuginfo); fi
# Beyond the shared flags: exception handling (the try_table of wasm-bindgen's catch wrappers).
"$WASM_OPT_BIN" "$level" "${strip[@]}" "${EDGE_AUTH_WASM_OPT_FLAGS[@]}" --enable-exception-handling \
  "$out/index_bg.wasm" -o "$out/index_bg.wasm.opt"
mv "$out/index_bg.wasm.opt" "$out/index_bg.wasm"
