#!/usr/bin/env bash
# Installs the Python origin kit (kits/python, import name `edge_auth`) as a user would
# (`pip install ./kits/python`) and its pinned test dependencies. Idempotent; PyPI only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
  echo "setup-kit-python: Python >= 3.10 needed, found $(python3 --version)" >&2
  exit 1
}
echo "setup-kit-python: pip install -r kits/python/requirements-test.txt"
python3 -m pip install -q -r kits/python/requirements-test.txt
# Reinstalled every time (not editable), so the tests run the package as built from this tree.
echo "setup-kit-python: pip install ./kits/python"
python3 -m pip install -q --force-reinstall --no-deps ./kits/python
