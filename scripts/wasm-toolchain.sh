#!/usr/bin/env bash
# Sourced by scripts/build-worker.sh and scripts/build-js.sh: the compiler for the wasm that ships (the
# Worker and the npm package). By default a pinned nightly that builds the standard library itself with
#   - panic = "immediate-abort" (a panic traps at once: no panic-message formatting, no backtrace
#     printer or symbol demangler linked in; edge-auth has no panic on any input, and a panic kills the
#     isolate either way), and
#   - std's `optimize_for_size` (its smaller variants of sorting, formatting and the like),
# which takes about 10 % off the gzip of both artefacts (issues 10 and 11: measured in their notes).
# EDGE_AUTH_WASM_TOOLCHAIN=stable builds with the stable toolchain and its prebuilt std instead (for
# comparison). Installs the nightly and its rust-src when missing (rustup: about 15 s; no GitHub).
# Clippy, the tests and the CLI stay on stable.
EDGE_AUTH_WASM_NIGHTLY=nightly-2026-05-20   # rustc 1.97.0-nightly (e50aa6fba 2026-05-19)
case "${EDGE_AUTH_WASM_TOOLCHAIN:-nightly}" in
  nightly)
    if ! rustup component list --toolchain "$EDGE_AUTH_WASM_NIGHTLY" --installed 2>/dev/null | grep -q '^rust-src'; then
      echo "wasm-toolchain: rustup toolchain install $EDGE_AUTH_WASM_NIGHTLY --profile minimal --component rust-src" >&2
      rustup toolchain install "$EDGE_AUTH_WASM_NIGHTLY" --profile minimal --component rust-src >&2
    fi
    export RUSTUP_TOOLCHAIN="$EDGE_AUTH_WASM_NIGHTLY"
    export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
    export CARGO_UNSTABLE_BUILD_STD_FEATURES=optimize_for_size
    # Target flags only: build scripts and proc-macros (host code) are built as usual.
    # -Zlocation-detail=none: no file/line/column strings for panic locations, which nothing prints
    # under immediate-abort (about 1 KB off each gzip: 1.04 KB for the Worker, issue 11).
    # EDGE_AUTH_WASM_RUSTFLAGS_EXTRA: more flags, for experiments.
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none ${EDGE_AUTH_WASM_RUSTFLAGS_EXTRA:-}"
    ;;
  stable) ;;
  *)
    echo "wasm-toolchain: EDGE_AUTH_WASM_TOOLCHAIN must be nightly (the default) or stable" >&2
    exit 2
    ;;
esac

# The wasm-opt flags both shipped artefacts share (after the level and the strip choice):
#   - no producers section;
#   - the features rustc enables for wasm32-unknown-unknown by default, which wasm-opt must keep to;
#   - `--one-caller-inline-max-function-size`: binaryen otherwise inlines every function that has one
#     caller, whatever its size, which made the Worker's fetch handler one 77 KB function that V8
#     compiles on the first request. Capped at 30, the largest is 10 KB and both gzips are 8–9 KiB
#     smaller (repeated call sequences compress better than inlined copies); no speed cost measured
#     (issue 11's note). EDGE_AUTH_WASM_OCIMFS=-1 restores binaryen's default.
#   - EDGE_AUTH_WASM_OPT_EXTRA: more flags, for experiments.
# shellcheck disable=SC2206 # EDGE_AUTH_WASM_OPT_EXTRA is split into words on purpose
EDGE_AUTH_WASM_OPT_FLAGS=(--strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue
  --one-caller-inline-max-function-size="${EDGE_AUTH_WASM_OCIMFS:-30}" ${EDGE_AUTH_WASM_OPT_EXTRA:-})
