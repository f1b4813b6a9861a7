#!/usr/bin/env bash
# The main job on the embedded demo default: the edge-auth Worker on http://127.0.0.1:8787, served by
# the real Workers runtime (`wrangler dev`), in front of the README's FastAPI example on
# http://127.0.0.1:8788 (examples/fastapi/app.py under uvicorn), which checks the Worker's assertion with
# the Python kit (kits/python) and answers with the identity it proved.
#   bash scripts/demo.sh           # serve until Ctrl-C; prints demo tokens and curl lines
#   bash scripts/demo.sh --check   # start, run the curl lines, check the answers, stop (the tests run this)
# The demo keys are generated for each run and passed with --var: they are never in wrangler.toml, so
# `wrangler deploy` cannot ship them, and the Worker refuses a demo issuer on any non-loopback host.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
check=false
[ "${1:-}" = "--check" ] && check=true

bash scripts/build-worker.sh >/dev/null
bash scripts/setup-e2e.sh >/dev/null   # tests/e2e/.venv: FastAPI, uvicorn and the kit
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
      { path: "/orders/*", methods: ["GET", "HEAD"], scopes: ["orders:read"] },
      { path: "/orders/*", scopes: { all: ["orders:read", "orders:write"] } },
      { path: "/admin/*", roles: ["admin"] },
    ],
  }));
' "$work"

export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false
EDGE_AUTH_JWKS_URL=http://127.0.0.1:8787/.well-known/edge-auth/jwks.json \
EDGE_AUTH_ISSUER=http://127.0.0.1:8787 EDGE_AUTH_AUDIENCE=http://127.0.0.1:8788 \
EDGE_AUTH_PUBLIC_URL=http://127.0.0.1:8787 EDGE_AUTH_JWKS_OPTIONS='{"allow_loopback_http": true}' \
  setsid tests/e2e/.venv/bin/python -m uvicorn app:app --app-dir examples/fastapi --host 127.0.0.1 --port 8788 \
  > "$work/origin.log" 2>&1 &
pids+=($!)
setsid tests/worker/node_modules/.bin/wrangler dev --ip 127.0.0.1 --port 8787 \
  --var "ORIGIN:http://127.0.0.1:8788" \
  --var "EDGE_AUTH:$(cat "$work/edge-auth.json")" \
  --var "EDGE_AUTH_SIGNING_KEY:$(cat "$work/signing.jwk")" > "$work/wrangler.log" 2>&1 &
pids+=($!)

up() { curl -s -o /dev/null "$1"; }   # any answer: the server is listening
for _ in $(seq 1 120); do
  curl -sf -o /dev/null http://127.0.0.1:8787/.well-known/edge-auth/jwks.json && up http://127.0.0.1:8788/ && break
  sleep 1
done
if ! curl -sf -o /dev/null http://127.0.0.1:8787/.well-known/edge-auth/jwks.json; then
  echo "demo: the Worker did not come up; wrangler said:" >&2
  tail -n 40 "$work/wrangler.log" >&2
  exit 1
fi
if ! up http://127.0.0.1:8788/; then
  echo "demo: the FastAPI origin did not come up; uvicorn said:" >&2
  tail -n 40 "$work/origin.log" >&2
  exit 1
fi

now=$(date +%s)
mint() {   # a demo access token (one hour) with these scope and roles
  "$bin" mint --jwk "$work/issuer-private.jwk" --typ at+jwt --claims \
    "{\"iss\":\"https://demo-issuer.edge-auth.invalid/\",\"aud\":\"demo-api\",\"sub\":\"demo-user\",\"scope\":\"$1\",\"roles\":$2,\"iat\":$now,\"exp\":$((now + 3600))}"
}
token=$(mint "orders:read" '["demo"]')
admin=$(mint "orders:read orders:write" '["demo","admin"]')

cat <<MSG
edge-auth demo: the Worker is on http://127.0.0.1:8787 (wrangler dev, workerd), in front of the FastAPI
example (examples/fastapi/app.py, checking the assertion with kits/python) on http://127.0.0.1:8788.
DEMO ONLY: the issuer https://demo-issuer.edge-auth.invalid/ and both keys were generated for this run.

Demo tokens (valid for one hour): a reader (orders:read) and an admin (orders:read orders:write, role admin)
export TOKEN=$token
export ADMIN=$admin

Try it:
curl -s -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:8787/orders/42     # the app's answer: who called
curl -si http://127.0.0.1:8787/orders/42                                    # no token: 401 at the edge
curl -si -X POST -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:8787/orders/42   # 403 at the edge: needs orders:write
curl -si -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:8787/admin/users   # 403 at the edge: needs the admin role
curl -s -X POST -H "Authorization: Bearer \$ADMIN" http://127.0.0.1:8787/orders/42   # the admin may write
curl -s -H "Authorization: Bearer \$ADMIN" http://127.0.0.1:8787/admin/users    # and see /admin
curl -si http://127.0.0.1:8788/orders/42                # around the edge (no assertion): 401 from the app
curl -s http://127.0.0.1:8787/.well-known/edge-auth/jwks.json
curl -s http://127.0.0.1:8787/.well-known/edge-auth/status     # key sources (enabled in the demo)
MSG

if $check; then
  fail() { echo "demo check: $*" >&2; echo "uvicorn said:" >&2; tail -n 20 "$work/origin.log" >&2; exit 1; }
  expect() {   # expect STATUS CURL-ARGS...: the status of one request
    local want=$1 got; shift
    got=$(curl -s -o /dev/null -w '%{http_code}' "$@")
    [ "$got" = "$want" ] || fail "expected $want from curl $*, got $got"
  }
  body=$(curl -s -H "Authorization: Bearer $token" http://127.0.0.1:8787/orders/42)
  echo "$body"
  node -e 'const b = JSON.parse(process.argv[1]); if (b.order !== 42 || b.sub !== "demo-user" || b.issuer !== "https://demo-issuer.edge-auth.invalid/" || b.scopes?.join() !== "orders:read") process.exit(1)' "$body" ||
    fail "GET /orders/42 through the edge: not the identity the app should have proved"
  body=$(curl -s -X POST -H "Authorization: Bearer $admin" http://127.0.0.1:8787/orders/42)
  node -e 'const b = JSON.parse(process.argv[1]); if (b.updated_by !== "demo-user") process.exit(1)' "$body" ||
    fail "POST /orders/42 as the admin: $body"
  expect 200 -H "Authorization: Bearer $admin" http://127.0.0.1:8787/admin/users
  expect 401 http://127.0.0.1:8787/orders/42
  expect 403 -X POST -H "Authorization: Bearer $token" http://127.0.0.1:8787/orders/42
  expect 403 -H "Authorization: Bearer $token" http://127.0.0.1:8787/admin/users
  expect 401 http://127.0.0.1:8788/orders/42
  expect 200 http://127.0.0.1:8787/.well-known/edge-auth/status
  echo "demo check: ok"
  exit 0
fi
echo
echo "Serving until Ctrl-C."
wait
