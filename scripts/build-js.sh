#!/usr/bin/env bash
# Builds the npm package's wasm (crates/wasm, edge-auth-wasm) into js/pkg/ and prints its size:
#   bash scripts/build-js.sh
# 1. cargo build --profile wasm --target wasm32-unknown-unknown -p edge-auth-wasm (the workspace's
#    [profile.wasm]: opt-level "z", LTO, one codegen unit, no symbol names);
# 2. wasm-bindgen --target web --out-dir js/pkg (the CLI at exactly the library's version, installed by
#    scripts/install-wasm-tools.sh from crates.io);
# 3. wasm-opt -Oz --strip-debug and the shared flags (scripts/wasm-toolchain.sh) from npm binaryen (tests/worker/node_modules/.bin/wasm-opt) when it is there;
# 4. raw and gzip -9 sizes of the wasm and of the whole package (what `npm pack` would ship).
# Idempotent; installs what it needs itself (the rustup target, the CLI); nothing is downloaded from GitHub.
# js/pkg/ is a build artefact (gitignored). Set CARGO_BUILD_JOBS=1 on a shared machine if you like.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'build-js: %s\n' "$*"; }

bash scripts/install-wasm-tools.sh >/dev/null
# The compiler for shipped wasm: a pinned nightly building std with panic = "immediate-abort" (see there).
. scripts/wasm-toolchain.sh
WASM_BINDGEN_BIN="$(command -v wasm-bindgen || echo "$HOME/.cargo/bin/wasm-bindgen")"

# The `wasm` profile (Cargo.toml: opt-level "z", symbols stripped) unless EDGE_AUTH_WASM_PROFILE names
# another.
profile=${EDGE_AUTH_WASM_PROFILE:-wasm}
say "cargo build --profile $profile --target wasm32-unknown-unknown -p edge-auth-wasm"
cargo build --profile "$profile" --target wasm32-unknown-unknown -p edge-auth-wasm
artifact=target/wasm32-unknown-unknown/$profile/edge_auth_wasm.wasm

say "wasm-bindgen --target web --out-dir js/pkg"
rm -rf js/pkg
"$WASM_BINDGEN_BIN" --target web --no-typescript --out-dir js/pkg --out-name edge_auth_wasm "$artifact"
wasm=js/pkg/edge_auth_wasm_bg.wasm

WASM_OPT="tests/worker/node_modules/.bin/wasm-opt"
if [ -x "$WASM_OPT" ]; then
  level=-Oz
  if [ "$profile" = release ]; then level=-O; fi
  # The flags shared with the Worker's build: scripts/wasm-toolchain.sh.
  say "wasm-opt $level --strip-debug ${EDGE_AUTH_WASM_OPT_FLAGS[*]} ($("$WASM_OPT" --version))"
  "$WASM_OPT" "$level" --strip-debug "${EDGE_AUTH_WASM_OPT_FLAGS[@]}" "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
else
  say "no $WASM_OPT (npm binaryen, installed by scripts/build-worker.sh): the wasm is not optimized further"
fi

# Sizes: raw and gzip -9.
gz() { gzip -9 -c "$@" | wc -c; }
human() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1024 }'; }
files=$(cd js && { ls package.json README.md ./*.js ./*.d.ts 2>/dev/null; find pkg -type f; } | sort)
total_raw=0
total_gz=0
for f in $files; do
  total_raw=$((total_raw + $(wc -c <"js/$f")))
  total_gz=$((total_gz + $(gz "js/$f")))
done
tarball=$(cd js && tar -cf - $files | gzip -9 | wc -c)
echo
say "sizes (raw / gzip -9):"
printf '  %-34s %10s / %s\n' "wasm (js/pkg/edge_auth_wasm_bg.wasm)" "$(human "$(wc -c <"$wasm")")" "$(human "$(gz "$wasm")")"
printf '  %-34s %10s / %s (sum of files); %s as one .tar.gz\n' "package ($(echo "$files" | wc -l) files)" \
  "$(human "$total_raw")" "$(human "$total_gz")" "$(human "$tarball")"
