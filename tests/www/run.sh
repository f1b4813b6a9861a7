#!/usr/bin/env bash
# The browser inspector's tests (tests/www/): its parsers in Node (units.test.mjs), then the page in
# headless Debian Chromium through playwright-core (page.test.mjs). Needs www/dist/ (bash
# scripts/build-www.sh) and tests/www/node_modules (bash scripts/setup-www-tests.sh):
#   bash tests/www/run.sh [--test-name-pattern=TEXT]
# Bounded: 240 s in all, each test by its own timeout. Screenshots go to tests/www/artifacts/ (gitignored);
# UPDATE_SCREENSHOTS=1 also refreshes the two in docs/.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

if [ ! -d "$HERE/node_modules/playwright-core" ] || [ ! -d "$HERE/node_modules/axe-core" ]; then
  echo "www tests: tests/www/node_modules is not installed — run bash scripts/setup-www-tests.sh" >&2
  exit 2
fi
if [ ! -f "$REPO/www/dist/index.html" ]; then
  echo "www tests: www/dist/ is not built — run bash scripts/build-www.sh" >&2
  exit 2
fi
started=$SECONDS
cd "$REPO" && timeout --kill-after=10 240 node --test "$@" tests/www/units.test.mjs tests/www/page.test.mjs
rc=$?
echo "www tests: exit $rc, $((SECONDS - started)) s"
exit "$rc"
