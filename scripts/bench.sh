#!/usr/bin/env bash
# Criterion benchmarks of full verification per algorithm, of route-policy evaluation (50 rules) and of
# the verified-token cache's worst insertion, printed as ratios to HS256 measured in the
# same run (this machine is shared and noisy: compare ratios, not absolute times).
#   bash scripts/bench.sh            # full run (~3 min)
#   QUICK=1 bash scripts/bench.sh    # shorter measurement
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
args=()
if [ "${QUICK:-}" = 1 ]; then args=(--warm-up-time 1 --measurement-time 2); fi
cargo bench --locked -p edge-auth-core --bench verify -- "${args[@]}" >/dev/null
python3 - <<'PY'
import json, pathlib
root = pathlib.Path("target/criterion")
def median_ns(group, name):
    est = json.loads((root / group / name / "new" / "estimates.json").read_text())
    return est["median"]["point_estimate"]
algs = ["HS256","HS384","HS512","RS256","RS384","RS512","PS256","PS384","PS512","ES256","ES384","ES512","ES256K","EdDSA"]
base = median_ns("verify", "HS256")
print(f"{'case':<22}{'median':>12}{'× HS256':>10}")
for alg in algs:
    ns = median_ns("verify", alg)
    print(f"{'verify/' + alg:<22}{ns/1000:>10.1f}µs{ns/base:>10.1f}")
p = median_ns("parse", "HS256-token")
print(f"{'parse/HS256-token':<22}{p/1000:>10.1f}µs{p/base:>10.2f}")
es = median_ns("verify", "ES256")
for name in ["50-routes-match-49th", "50-routes-default"]:
    ns = median_ns("policy", name)
    print(f"{'policy/' + name:<30}{ns/1000:>10.2f}µs{ns/base:>10.2f} × HS256 verify{ns/es:>10.3f} × ES256 verify")
# The insertion that flips two full generations of 10 000 entries, against an ordinary insertion (each
# with the clone of a verified token it inserts): the worst single insertion a request can meet.
plain = median_ns("cache", "insert")
flip = median_ns("cache", "insert-flipping-10000")
print(f"{'cache/insert':<30}{plain/1000:>10.2f}µs")
print(f"{'cache/insert-flipping-10000':<30}{flip/1000:>10.2f}µs{flip/plain:>10.1f} × cache/insert")
PY
