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
    # EDGE_AUTH_WASM_RUSTFLAGS_EXTRA: more flags, for experiments (-Zlocation-detail=none: -0.6 KB gzip).
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort ${EDGE_AUTH_WASM_RUSTFLAGS_EXTRA:-}"
    ;;
  stable) ;;
  *)
    echo "wasm-toolchain: EDGE_AUTH_WASM_TOOLCHAIN must be nightly (the default) or stable" >&2
    exit 2
    ;;
esac
