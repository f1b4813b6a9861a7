#!/usr/bin/env bash
# Installs what the browser inspector's tests need (tests/www/run.sh), idempotent: from npm (exact versions,
# tests/www/package-lock.json) playwright-core 1.65.1 (the version tests/js uses) and axe-core; Chromium
# from Debian (`npx playwright install` would download from the internet). Python 3.11+ (tomllib) is the
# TOML reader the page's is checked against.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup-www-tests: %s\n' "$*"; }

installed=tests/www/node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ tests/www/package-lock.json -nt "$installed" ]; then
  say "npm ci (tests/www)"
  (cd tests/www && npm ci --no-audit --no-fund --loglevel=error)
fi

if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  say "apt-get install chromium"
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >/dev/null; then
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium >/dev/null
  fi
fi
python3 -c 'import tomllib' 2>/dev/null || { say "python3 ≥ 3.11 (tomllib) is needed by tests/www/units.test.mjs" >&2; exit 1; }
say "done"
