#!/usr/bin/env bash
# A tour of the verifier core through the `edge-auth` CLI (the main demo is scripts/demo.sh).

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --locked -q -p edge-auth-cli
bin=target/debug/edge-auth
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$bin" keygen --alg EdDSA > "$dir/keys.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); json.dump(d["jwk"],open(sys.argv[2],"w")); json.dump(d["jwks"],open(sys.argv[3],"w"))' \
  "$dir/keys.json" "$dir/demo-private.jwk" "$dir/demo.jwks"
now=$(date +%s)
claims=$(printf '{"iss":"https://demo-issuer.invalid/","aud":"demo-api","sub":"alice","iat":%d,"exp":%d,"scope":"orders:read"}' "$now" $((now + 300)))
token=$("$bin" mint --jwk "$dir/demo-private.jwk" --claims "$claims" --typ at+jwt)

echo "# a demo token (EdDSA, demo-only key generated just now):"
echo "$token"
echo
echo "# edge-auth verify --jwks demo.jwks --issuer https://demo-issuer.invalid/ --audience demo-api --typ at+jwt TOKEN"
"$bin" verify --jwks "$dir/demo.jwks" --issuer https://demo-issuer.invalid/ --audience demo-api --typ at+jwt "$token"
echo
echo "# the same token for another audience is refused (exit 1):"
"$bin" verify --jwks "$dir/demo.jwks" --issuer https://demo-issuer.invalid/ --audience other-api "$token" 2>&1 || echo "(exit $?)"
echo
echo "# alg: none is refused before any key is looked at:"
none="$(printf '{"alg":"none"}' | base64 | tr '+/' '-_' | tr -d '=\n').${token#*.}"
"$bin" verify --jwks "$dir/demo.jwks" --issuer https://demo-issuer.invalid/ --audience demo-api "${none%.*}." 2>&1 || echo "(exit $?)"
