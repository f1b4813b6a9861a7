#!/usr/bin/env bash
# The main job on the embedded demo default: the edge-auth Worker on http://127.0.0.1:8787, served by
# the real Workers runtime (`wrangler dev`), in front of a demo origin on http://127.0.0.1:8788 that
# verifies the assertion with `jose` and echoes the identity it proved.
#   bash scripts/demo.sh           # serve until Ctrl-C; prints a demo token and a curl line
#   bash scripts/demo.sh --check   # start, run the curl lines, check the answers, stop (the tests run this)
# The demo keys are generated for each run and passed with --var: they are never in wrangler.toml, so
# `wrangler deploy` cannot ship them, and the Worker refuses a demo issuer on any non-loopback host.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
check=false
[ "${1:-}" = "--check" ] && check=true

bash scripts/build-worker.sh >/dev/null
cargo build --locked -q -p edge-auth-cli
bin=target/debug/edge-auth
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Demo-only keys: the demo issuer's ES256 key and the Worker's EdDSA assertion key.
"$bin" keygen --alg ES256 > "$work/issuer.json"
"$bin" keygen --alg EdDSA > "$work/edge.json"
node -e '
  const fs = require("fs"); const [work] = process.argv.slice(1);
  const issuer = JSON.parse(fs.readFileSync(`${work}/issuer.json`)), edge = JSON.parse(fs.readFileSync(`${work}/edge.json`));
  fs.writeFileSync(`${work}/issuer-private.jwk`, JSON.stringify(issuer.jwk));
  fs.writeFileSync(`${work}/signing.jwk`, JSON.stringify(edge.jwk));
  fs.writeFileSync(`${work}/edge-auth.json`, JSON.stringify({
    realm: "edge-auth-demo",
    status_endpoint: true,
    issuers: [{ issuer: "https://demo-issuer.edge-auth.invalid/", audiences: ["demo-api"], algorithms: ["ES256"], jwks: issuer.jwks }],
    assertion: { issuer: "http://127.0.0.1:8787", audience: "http://127.0.0.1:8788", signing_key_secret: "EDGE_AUTH_SIGNING_KEY" },
    routes: [
      { path: "/public/*", auth: "none" },
      { path: "/orders/*", methods: ["GET", "HEAD"], scopes: ["orders:read"] },
      { path: "/orders/*", scopes: { all: ["orders:read", "orders:write"] } },
      { path: "/admin/*", roles: ["admin"] },
    ],
  }));
' "$work"

export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
EDGE_JWKS_URL=http://127.0.0.1:8787/.well-known/edge-auth/jwks.json \
EDGE_ASSERTION_ISSUER=http://127.0.0.1:8787 EDGE_ASSERTION_AUDIENCE=http://127.0.0.1:8788 \
  setsid node tests/worker/demo-origin.mjs > "$work/origin.log" 2>&1 &
pids+=($!)
setsid tests/worker/node_modules/.bin/wrangler dev --ip 127.0.0.1 --port 8787 \
  --var "ORIGIN:http://127.0.0.1:8788" \
  --var "EDGE_AUTH:$(cat "$work/edge-auth.json")" \
  --var "EDGE_AUTH_SIGNING_KEY:$(cat "$work/signing.jwk")" > "$work/wrangler.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 120); do
  curl -sf -o /dev/null http://127.0.0.1:8787/.well-known/edge-auth/jwks.json && break
  sleep 1
done
if ! curl -sf -o /dev/null http://127.0.0.1:8787/.well-known/edge-auth/jwks.json; then
  echo "demo: the Worker did not come up; wrangler said:" >&2
  tail -n 40 "$work/wrangler.log" >&2
  exit 1
fi

now=$(date +%s)
token=$("$bin" mint --jwk "$work/issuer-private.jwk" --typ at+jwt --claims \
  "{\"iss\":\"https://demo-issuer.edge-auth.invalid/\",\"aud\":\"demo-api\",\"sub\":\"demo-user\",\"scope\":\"orders:read\",\"roles\":[\"demo\"],\"iat\":$now,\"exp\":$((now + 3600))}")

cat <<MSG
edge-auth demo: the Worker is on http://127.0.0.1:8787 (wrangler dev, workerd), the demo origin on :8788.
DEMO ONLY: the issuer https://demo-issuer.edge-auth.invalid/ and both keys were generated for this run.

Demo token (valid for one hour):
$token

Try it:
curl -s -H "Authorization: Bearer $token" http://127.0.0.1:8787/orders/42
curl -si http://127.0.0.1:8787/orders/42                  # no token: 401 with WWW-Authenticate
curl -si -X POST -H "Authorization: Bearer $token" http://127.0.0.1:8787/orders/42   # 403: needs orders:write
curl -si -H "Authorization: Bearer $token" http://127.0.0.1:8787/admin/users         # 403: needs the admin role
curl -s http://127.0.0.1:8787/.well-known/edge-auth/jwks.json
curl -s http://127.0.0.1:8787/.well-known/edge-auth/status     # key sources (enabled in the demo)
MSG

if $check; then
  body=$(curl -s -H "Authorization: Bearer $token" http://127.0.0.1:8787/orders/42)
  echo "$body"
  node -e 'const b = JSON.parse(process.argv[1]); if (b.identity?.sub !== "demo-user" || b.request?.htm !== "GET") { console.error("demo check failed"); process.exit(1); }' "$body"
  status=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8787/orders/42)
  [ "$status" = 401 ] || { echo "demo check: expected 401 without a token, got $status" >&2; exit 1; }
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" http://127.0.0.1:8787/admin/users)
  [ "$status" = 403 ] || { echo "demo check: expected 403 on /admin without the admin role, got $status" >&2; exit 1; }
  status=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8787/.well-known/edge-auth/status)
  [ "$status" = 200 ] || { echo "demo check: expected the status endpoint, got $status" >&2; exit 1; }
  echo "demo check: ok"
  exit 0
fi
echo
echo "Serving until Ctrl-C."
wait
