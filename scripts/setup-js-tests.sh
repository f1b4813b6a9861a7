#!/usr/bin/env bash
# Installs what the JS package's tests need (tests/js/run.sh), on a fresh machine; idempotent, skips what is
# already there. From npm (exact versions, tests/js/package-lock.json): deno 2.9.6 and bun 1.4.4 (their
# binaries are inside the npm packages), playwright-core 1.65.1, jose 6.2.17, hono, express 5.3.0 and
# @hono/node-server 2.1.8 (the origin middlewares' tests and the e2e origin). From Debian: chromium
# (driven by playwright-core; `npx playwright install` would download from the internet). From PyPI:
# PyJWT and cryptography (tests/interop/requirements.txt; scripts/setup.sh installs them too).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup-js-tests: %s\n' "$*"; }

# npm: again whenever the lock file is newer than what was installed from it.
installed=tests/js/node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ tests/js/package-lock.json -nt "$installed" ] \
  || [ ! -x tests/js/node_modules/.bin/deno ] || [ ! -x tests/js/node_modules/.bin/bun ]; then
  say "npm ci (tests/js)"
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi
say "$(tests/js/node_modules/.bin/deno --version | head -1); bun $(tests/js/node_modules/.bin/bun --version)"
# `edge-auth` (with `edge-auth/express`, `edge-auth/hono`) resolves to js/ from tests/js/: the README
# examples and the e2e origin (tests/js/origins/hono.mjs) import the package by its name. run.sh links it too.
ln -sfn ../../../js tests/js/node_modules/edge-auth

# Debian chromium for the headless browser tests.
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  say "apt-get install chromium"
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >/dev/null; then
    say "apt-get update, then install chromium again"
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >/dev/null
  fi
fi
say "$(chromium --version 2>/dev/null | head -1)"

# PyJWT for the assertion interop check (tests/js/pyjwt_check.py).
if ! python3 -c 'import jwt, cryptography' >/dev/null 2>&1; then
  say "pip install -r tests/interop/requirements.txt"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check -r tests/interop/requirements.txt
fi
say "done"
