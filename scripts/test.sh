#!/usr/bin/env bash
# Every check and test of edge-auth, from a fresh machine: `bash scripts/test.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# A one-shot run gains nothing from incremental caches (0.6 GB in target/debug/incremental); disk is
# what ran out on a CI machine once, so say how much there is before starting.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
df -h . | sed 's/^/disk: /'

step "setup"
bash scripts/setup.sh

step "format"
cargo fmt --all --check
# The fuzz crate is outside the workspace (cargo-fuzz's own): checked by its manifest.
cargo fmt --manifest-path fuzz/Cargo.toml --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The core as the Worker and the JS package build it: without the Rust RSA, P-384 and P-521 backends.
cargo clippy --locked -p edge-auth-core --no-default-features --lib --test key_vectors -- -D warnings

step "no import cycles between files (scripts/check-cycles.py)"
python3 scripts/check-cycles.py

step "supply chain (cargo deny: bans, licenses, sources)"
# `--workspace`: every member's tree (without it cargo-deny sees only the root package's), so the ring
# fence in deny.toml is checked against `crates/origin` too.
cargo deny --workspace --locked check bans licenses sources

step "the core builds for Workers (wasm32-unknown-unknown)"
cargo check --locked --target wasm32-unknown-unknown -p edge-auth

step "RFC vectors checked by an independent implementation (Python cryptography)"
python3 crates/core/tests/vectors/check_vectors.py

step "interop: edge-auth CLI against jose (Node) and PyJWT (Python); the Rust origin kit against PyJWT"
# One build for both (the origin's example then shares the CLI's core, features unified).
cargo build --locked -p edge-auth-cli -p edge-auth-origin --bins --examples
bash tests/interop/run.sh

step "the Python origin kit (kits/python): pip install, its tests, the table cross-checked with the CLI"
bash scripts/setup-kit-python.sh
(cd kits/python && python3 -m ruff check && python3 -m ruff format --check && python3 -m mypy && EDGE_AUTH_REQUIRE_CLI=1 python3 -m pytest -q)

step "lint the Worker and the JS package's wasm for their target"
cargo clippy --locked -p edge-auth --target wasm32-unknown-unknown --all-targets -- -D warnings
cargo clippy --locked -p edge-auth --target wasm32-unknown-unknown --features bench -- -D warnings
cargo clippy --locked -p edge-auth-wasm --target wasm32-unknown-unknown -- -D warnings

step "the Worker: build (installs wasm-bindgen-cli, worker-build, wrangler, miniflare)"
bash scripts/build-worker.sh

step "the JS package: build (crates/wasm -> js/pkg) and install its test runtimes (Deno, Bun, Chromium)"
bash scripts/build-js.sh
bash scripts/setup-js-tests.sh

step "black-box tests in workerd: the Worker, and the JS package inside a JS Worker"
node --test tests/worker/

step "recovery after a trap, on the Worker built with its bench probes (target/worker-bench)"
bash scripts/build-worker.sh -d target/worker-bench . --features bench >/dev/null
EDGE_AUTH_REQUIRE_BENCH_BUILD=1 node --test tests/worker/trap-recovery.mjs

step "end to end: oidc-provider → the Worker (workerd) → the FastAPI example (Python kit), Hono and axum origins"
# tests/e2e/.venv: FastAPI, uvicorn, the kit (pinned). Built above: the CLI, the axum example, js/pkg and
# tests/js's packages (the Hono origin).
bash scripts/setup-e2e.sh
node --test tests/e2e/

step "the JS package in Node, Deno, Bun and Chromium (the same test files, the shared token tables)"
bash tests/js/run.sh all

step "the browser inspector (www/): build www/dist from the JS package built above, then its tests in Chromium"
bash scripts/setup-www-tests.sh
bash scripts/build-www.sh
bash tests/www/run.sh

step "the README's demo command works (wrangler dev on 127.0.0.1:8787 + the FastAPI example on :8788)"
bash scripts/demo.sh --check

step "size budgets: the Worker (wrangler deploy --dry-run, gzip) and the JS package's wasm"
bash scripts/check-size.sh

step "Rust tests (unit, integration, doc, CLI, benches in test mode)"
cargo test --workspace --all-targets --locked
# The key table in the core's other build (no Rust RSA, P-256, P-384, P-521, Ed25519: the Worker's and
# the package's). Only this test: the others generate keys of every algorithm in Rust.
cargo test --locked -p edge-auth-core --no-default-features --test key_vectors
cargo test --workspace --doc --locked

step "fuzz smoke (cargo fuzz, ≤ 60 s)"
# Installs nightly and cargo-fuzz if missing, builds every target of fuzz/ once, runs each 5 s.
bash scripts/fuzz.sh smoke
