#!/usr/bin/env bash
# Cross-implementation tests: edge-auth CLI against Node `jose` and Python PyJWT.
# Does not build edge-auth: build it first (or point EDGE_AUTH_BIN at a binary), and the origin kit's
# example (`cargo build -p edge-auth-origin --example axum_origin`, or EDGE_AUTH_ORIGIN_BIN).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
EDGE_AUTH_BIN="${EDGE_AUTH_BIN:-$REPO/target/debug/edge-auth}"
case "$EDGE_AUTH_BIN" in /*) ;; *) EDGE_AUTH_BIN="$PWD/$EDGE_AUTH_BIN" ;; esac
export EDGE_AUTH_BIN

if [ ! -f "$EDGE_AUTH_BIN" ] || [ ! -x "$EDGE_AUTH_BIN" ]; then
  echo "interop: edge-auth binary not found or not executable: $EDGE_AUTH_BIN" >&2
  echo "interop: build it first (cargo build -p edge-auth-cli) or set EDGE_AUTH_BIN" >&2
  exit 2
fi

set -e
if [ ! -d "$HERE/node_modules/jose" ]; then
  echo "interop: installing Node dependencies (npm ci)"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "interop: installing Python dependencies"
PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt"
set +e

echo "interop: jose (node --test) against $EDGE_AUTH_BIN"
(cd "$HERE" && npm test --silent)
node_rc=$?

echo "interop: PyJWT (pytest) against $EDGE_AUTH_BIN and the Rust origin kit's example (axum_origin)"
(cd "$REPO" && PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -q -p no:cacheprovider tests/interop/test_pyjwt.py tests/interop/test_origin_pyjwt.py)
py_rc=$?

echo "interop: jose exit=$node_rc, pytest exit=$py_rc"
[ "$node_rc" -eq 0 ] && [ "$py_rc" -eq 0 ]
