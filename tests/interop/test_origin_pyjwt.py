"""Cross-implementation test: the Rust origin kit (crates/origin's example `axum_origin`) <-> PyJWT.

PyJWT and `cryptography` make the edge's keys (Ed25519, P-256) and mint assertions as the Worker does; a
JWKS server on 127.0.0.1 serves the public keys; the example origin must accept exactly the valid ones
and answer every refusal with the Worker's status, code and challenge. Build the example first:
`cargo build -p edge-auth-origin --example axum_origin` (EDGE_AUTH_ORIGIN_BIN overrides the path).
Run with `python3 -m pytest -q tests/interop/test_origin_pyjwt.py` (or tests/interop/run.sh).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("EDGE_AUTH_ORIGIN_BIN") or str(REPO / "target" / "debug" / "examples" / "axum_origin")
EDGE = "http://127.0.0.1:8787"  # the Worker as clients call it: iss and htu's origin
AUDIENCE = "https://origin.interop.example"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key, alg: str) -> dict:
    algorithm = OKPAlgorithm if alg == "EdDSA" else ECAlgorithm
    jwk = json.loads(algorithm.to_jwk(key.public_key()))
    members = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}
    if "y" in jwk:
        members["y"] = jwk["y"]
    # RFC 7638 thumbprint, the Worker's kid.
    canonical = json.dumps(dict(sorted(members.items())), separators=(",", ":")).encode()
    return {**members, "alg": alg, "use": "sig", "kid": b64(hashlib.sha256(canonical).digest())}


class Jwks(BaseHTTPRequestHandler):
    body = b"{}"
    hits = 0

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).hits += 1
        self.send_response(200)
        self.send_header("content-type", "application/jwk-set+json")
        self.send_header("cache-control", "max-age=600")
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def origin():
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"{BIN} not built: cargo build -p edge-auth-origin --example axum_origin")
    keys = {"EdDSA": ed25519.Ed25519PrivateKey.generate(), "ES256": ec.generate_private_key(ec.SECP256R1())}
    jwks = {alg: public_jwk(key, alg) for alg, key in keys.items()}
    Jwks.body = json.dumps({"keys": list(jwks.values())}).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "EDGE_JWKS_URL": f"http://127.0.0.1:{server.server_port}/.well-known/edge-auth/jwks.json",
        "EDGE_ASSERTION_ISSUER": EDGE,
        "EDGE_ASSERTION_AUDIENCE": AUDIENCE,
        "PUBLIC_URL": EDGE,
        "PORT": "0",
    }
    process = subprocess.Popen([BIN], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        deadline = time.monotonic() + 30
        while not line.startswith("listening on ") and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                pytest.fail(f"axum_origin exited: {process.stderr.read()}")
        port = int(line.removeprefix("listening on ").strip())
        yield {"url": f"http://127.0.0.1:{port}", "keys": keys, "jwks": jwks}
    finally:
        process.terminate()
        process.wait(timeout=10)
        server.shutdown()


def assertion(origin, alg="EdDSA", method="GET", path="/orders", scope="orders:read", roles=(), key=None,
              headers=None, **overrides) -> str:
    now = int(time.time())
    claims = {
        "iss": EDGE, "aud": AUDIENCE, "sub": "interop-user", "src_iss": "https://idp.interop.example",
        "iat": now, "exp": now + 60, "jti": b64(secrets.token_bytes(16)), "scope": scope, "roles": list(roles),
        "htm": method, "htu": EDGE + path, "ath": b64(hashlib.sha256(b"caller-token").digest()),
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"typ": "edge-auth+jwt", "kid": origin["jwks"][alg]["kid"], **(headers or {})}
    return jwt.encode(claims, key or origin["keys"][alg], algorithm=alg, headers=header)


def call(origin, path, token=None, method="GET", bearer=None):
    request = urllib.request.Request(origin["url"] + path, method=method)
    if token is not None:
        request.add_header("Edge-Auth-Assertion", token)
    if bearer is not None:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_pyjwt_assertions_pass(origin, alg):
    status, _, body = call(origin, "/orders", assertion(origin, alg), bearer="caller-token")
    assert status == 200, body
    assert body["sub"] == "interop-user"
    assert body["issuer"] == "https://idp.interop.example"
    assert body["scopes"] == ["orders:read"]
    status, _, body = call(origin, "/admin", assertion(origin, alg, path="/admin", scope="", roles=["admin"]))
    assert status == 200, body


CASES = [
    # (name, path, method, assertion arguments, bearer, status, code)
    ("another path", "/admin", "GET", {"roles": ["admin"]}, None, 401, "binding_mismatch"),
    ("another method", "/orders", "POST", {}, None, 401, "binding_mismatch"),
    ("another bearer token", "/orders", "GET", {}, "someone-else", 401, "binding_mismatch"),
    ("another audience", "/orders", "GET", {"aud": "https://other.example"}, None, 401, "audience_mismatch"),
    ("another issuer", "/orders", "GET", {"iss": "https://other.example"}, None, 401, "issuer_unknown"),
    ("expired", "/orders", "GET", {"iat": 1_000_000_000, "exp": 1_000_000_060}, None, 401, "token_expired"),
    ("a plain JWT", "/orders", "GET", {"headers": {"typ": "JWT"}}, None, 401, "typ_mismatch"),
    ("no jti", "/orders", "GET", {"jti": None}, None, 401, "claim_missing"),
    ("missing scope", "/orders", "GET", {"scope": "profile"}, None, 403, "insufficient_scope"),
    ("missing role", "/admin", "GET", {"path": "/admin"}, None, 403, "role_missing"),
]


@pytest.mark.parametrize("name,path,method,arguments,bearer,status,code", CASES, ids=[c[0] for c in CASES])
def test_refusals(origin, name, path, method, arguments, bearer, status, code):
    got, headers, body = call(origin, path, assertion(origin, **arguments), method=method, bearer=bearer)
    assert (got, body["code"]) == (status, code), body
    assert headers["content-type"] == "application/problem+json"
    challenge = headers["www-authenticate"]
    if status == 401:
        assert challenge == f'Bearer realm="edge-auth", error="invalid_token", error_description="{code}"'
    else:
        assert f'error="insufficient_scope", error_description="{code}"' in challenge


def test_forgeries_and_no_assertion(origin):
    # HS256 with the EdDSA key's public bytes as the secret, `alg: none`, and a key the edge never published.
    public = base64.urlsafe_b64decode(origin["jwks"]["EdDSA"]["x"] + "==")
    hs = jwt.encode({"iss": EDGE}, public, algorithm="HS256", headers={"typ": "edge-auth+jwt"})
    none = b64(b'{"alg":"none","typ":"edge-auth+jwt"}') + "." + b64(json.dumps({"iss": EDGE}).encode()) + "."
    stranger = assertion(origin, key=ed25519.Ed25519PrivateKey.generate(), headers={"kid": "stranger"})
    for token, code in [(hs, "alg_not_allowed"), (none, "alg_not_allowed"), (stranger, "key_not_found")]:
        status, _, body = call(origin, "/orders", token)
        assert (status, body["code"]) == (401, code), body
    status, headers, body = call(origin, "/orders")
    assert (status, body["code"]) == (401, "token_missing")
    assert headers["www-authenticate"] == 'Bearer realm="edge-auth"'
    # One fetch at the first request, one refetch for the unknown kid: the JWKS is cached.
    assert Jwks.hits == 2
