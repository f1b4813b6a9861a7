#!/usr/bin/env bash
# The JS package's tests (tests/js/) in every runtime it ships for, the same test files in each:
#   bash tests/js/run.sh [all|node|deno|bun|chromium|chromium-full|selftest] [--grep=TEXT]
# all (the default): Node, Deno, Bun, then the smoke set in headless Chromium. chromium-full: every test
# Chromium can run. selftest: the harness, the shared tables and each runtime's launch (Chromium included),
# without the package — it works before js/ is built. Install first: bash scripts/setup-js-tests.sh.
# Every runtime is bounded (600 s); exit status non-zero if any runtime failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BIN="$HERE/node_modules/.bin"
target="${1:-all}"
[ $# -gt 0 ] && shift
extra=("$@")

if [ ! -x "$BIN/deno" ] || [ ! -x "$BIN/bun" ] || [ ! -d "$HERE/node_modules/playwright-core" ]; then
  echo "js tests: tests/js/node_modules is not installed — run bash scripts/setup-js-tests.sh" >&2
  exit 2
fi
if [ "$target" != selftest ] && [ ! -f "$REPO/js/index.js" ]; then
  echo "js tests: js/index.js not found — run bash scripts/build-js.sh" >&2
  exit 1
fi
# The README examples import the package by its npm name: resolve `edge-auth` to js/ (all three runtimes
# resolve bare specifiers through tests/js/node_modules).
ln -sfn ../../../js "$HERE/node_modules/edge-auth"

export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
results=()
status=0
run() {
  local name="$1"; shift
  local started=$SECONDS
  echo "==> $name: $*"
  (cd "$REPO" && timeout --kill-after=10 600 "$@")
  local rc=$?
  results+=("$name: exit $rc, $((SECONDS - started)) s")
  [ "$rc" -eq 0 ] || status=1
}

flags=("${extra[@]}")
case "$target" in
  selftest) flags+=(--selftest) ;;
esac
node_cmd=(node tests/js/main.mjs "${flags[@]}")
deno_cmd=("$BIN/deno" run -A tests/js/main.mjs "${flags[@]}")
bun_cmd=("$BIN/bun" run tests/js/main.mjs "${flags[@]}")
chromium_cmd=(node tests/js/browser/chromium.mjs)

case "$target" in
  node) run node "${node_cmd[@]}" ;;
  deno) run deno "${deno_cmd[@]}" ;;
  bun) run bun "${bun_cmd[@]}" ;;
  chromium) run chromium "${chromium_cmd[@]}" smoke "${extra[@]}" ;;
  chromium-full) run chromium "${chromium_cmd[@]}" full "${extra[@]}" ;;
  selftest)
    run node "${node_cmd[@]}"
    run deno "${deno_cmd[@]}"
    run bun "${bun_cmd[@]}"
    run chromium "${chromium_cmd[@]}" selftest "${extra[@]}"
    ;;
  all)
    run node "${node_cmd[@]}"
    run deno "${deno_cmd[@]}"
    run bun "${bun_cmd[@]}"
    run chromium "${chromium_cmd[@]}" smoke "${extra[@]}"
    ;;
  *) echo "usage: bash tests/js/run.sh [all|node|deno|bun|chromium|chromium-full|selftest] [--grep=TEXT]" >&2; exit 2 ;;
esac

echo
echo "js tests ($target):"
printf '  %s\n' "${results[@]}"
exit "$status"
