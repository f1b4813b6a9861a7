"""Cross-implementation tests: edge-auth CLI <-> Python PyJWT.

Run with `python3 -m pytest -q tests/interop/test_pyjwt.py` (or tests/interop/run.sh).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import time
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm, RSAPSSAlgorithm

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("EDGE_AUTH_BIN") or str(REPO / "target" / "debug" / "edge-auth")
TIMEOUT_S = 120

ISSUER = "https://issuer.interop.example"
AUDIENCE = "edge-auth-interop"

ALGS = [
    "HS256", "HS384", "HS512",
    "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "ES256K",
    "EdDSA",
]
# One algorithm per key family (ES256K is included: jose cannot cover it).
NEGATIVE_ALGS = ["HS256", "RS256", "ES256", "ES256K", "EdDSA"]

EC_CURVES = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
    "ES256K": ec.SECP256K1,
}
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")

_SUPPORTED = jwt.algorithms.get_default_algorithms()


def _skip_unsupported(alg: str) -> None:
    if alg not in _SUPPORTED:
        pytest.skip(f"PyJWT {jwt.__version__} does not support {alg}")


# --------------------------------------------------------------------------- helpers


def b64u_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64u_encode(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def rfc7638_thumbprint(jwk: dict) -> str:
    required = {
        "RSA": ("e", "kty", "n"),
        "EC": ("crv", "kty", "x", "y"),
        "OKP": ("crv", "kty", "x"),
        "oct": ("k", "kty"),
    }[jwk["kty"]]
    canon = json.dumps({m: jwk[m] for m in required}, separators=(",", ":"), sort_keys=True)
    return b64u_encode(hashlib.sha256(canon.encode()).digest())


def algorithm_impl(alg: str):
    """The PyJWT algorithm class that loads JWKs for `alg`."""
    if alg.startswith("HS"):
        return HMACAlgorithm
    if alg.startswith("RS"):
        return RSAAlgorithm
    if alg.startswith("PS"):
        return RSAPSSAlgorithm
    if alg.startswith("ES"):
        return ECAlgorithm
    return OKPAlgorithm


def pyjwt_key(alg: str, kid: str):
    """A PyJWT-side key: (signing key, public JWK dict with alg + kid)."""
    if alg.startswith("HS"):
        secret = secrets.token_bytes(int(alg[2:]) // 8)
        jwk = HMACAlgorithm.to_jwk(secret, as_dict=True)
        return secret, {**jwk, "alg": alg, "kid": kid}
    if alg[:2] in ("RS", "PS"):
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(priv.public_key(), as_dict=True)
    elif alg.startswith("ES"):
        priv = ec.generate_private_key(EC_CURVES[alg]())
        jwk = ECAlgorithm.to_jwk(priv.public_key(), as_dict=True)
    else:
        priv = ed25519.Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(priv.public_key(), as_dict=True)
    return priv, {**jwk, "alg": alg, "kid": kid}


def pyjwt_sign(alg: str, key, kid: str, claims: dict) -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def claims_now(**overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": f"user-{uuid.uuid4()}",
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    return claims


def tamper_signature(token: str) -> str:
    """Flip the lowest bit of the last signature byte (changes the last base64url character)."""
    h, p, s = token.split(".")
    sig = bytearray(b64u_decode(s))
    sig[-1] ^= 0x01
    s2 = b64u_encode(bytes(sig))
    assert s2[-1] != s[-1]
    return f"{h}.{p}.{s2}"


def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN, *args], input=stdin, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def describe(res: subprocess.CompletedProcess) -> str:
    shown = " ".join(a if len(a) <= 80 else a[:40] + "…" for a in res.args)
    return f"{shown}\nexit={res.returncode}\nstdout: {res.stdout}\nstderr: {res.stderr}"


def run_ok(args: list[str], stdin: str | None = None) -> str:
    res = run(args, stdin)
    assert res.returncode == 0, "expected exit 0\n" + describe(res)
    return res.stdout


def assert_rejected(args: list[str], code: str) -> None:
    res = run(args)
    assert res.returncode == 1, f"expected exit 1 ({code})\n" + describe(res)
    assert res.stderr.startswith(f"error: {code}:"), f"expected 'error: {code}:'\n" + describe(res)
    assert res.stdout == "", "expected no stdout on rejection\n" + describe(res)


def write_json(dir_: Path, name: str, value) -> str:
    path = dir_ / name
    path.write_text(json.dumps(value))
    return str(path)


def keygen(alg: str, *extra: str) -> dict:
    out = json.loads(run_ok(["keygen", "--alg", alg, *extra]))
    assert isinstance(out.get("jwk"), dict)
    assert isinstance(out.get("jwks"), dict) and len(out["jwks"]["keys"]) == 1
    return out


def verify_args(jwk_file: str, token: str) -> list[str]:
    return ["verify", "--jwk", jwk_file, "--issuer", ISSUER, "--audience", AUDIENCE, token]


@pytest.fixture(autouse=True, scope="session")
def _binary_exists():
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        pytest.fail(f"edge-auth binary not found or not executable: {BIN} (set EDGE_AUTH_BIN)")


# --------------------------------------------------------------------------- both directions


@pytest.mark.parametrize("alg", ALGS)
def test_pyjwt_to_edge_auth(alg, tmp_path):
    """PyJWT signs, edge-auth verifies (--jwk)."""
    _skip_unsupported(alg)
    kid = f"pyjwt-{alg}-{uuid.uuid4()}"
    key, public_jwk = pyjwt_key(alg, kid)
    jwk_file = write_json(tmp_path, "public.jwk.json", public_jwk)
    claims = claims_now()
    token = pyjwt_sign(alg, key, kid, claims)

    out = run_ok(verify_args(jwk_file, token))
    assert json.loads(out) == claims


@pytest.mark.parametrize("alg", ALGS)
def test_edge_auth_to_pyjwt(alg, tmp_path):
    """edge-auth keygen + mint, PyJWT verifies with the jwks public key."""
    _skip_unsupported(alg)
    gen = keygen(alg)
    jwk, public_jwk = gen["jwk"], gen["jwks"]["keys"][0]
    assert jwk["alg"] == alg
    jwk_file = write_json(tmp_path, "private.jwk.json", jwk)
    claims = claims_now()

    out = run_ok(["mint", "--jwk", jwk_file, "--claims", json.dumps(claims)])
    assert out.endswith("\n")
    token = out.strip()

    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg
    assert header["kid"] == jwk["kid"]

    payload = jwt.decode(
        token,
        jwt.PyJWK(public_jwk, alg),
        algorithms=[alg],
        issuer=ISSUER,
        audience=AUDIENCE,
        options={"require": ["iss", "aud", "sub", "iat", "exp", "jti"]},
    )
    assert payload == claims


@pytest.mark.parametrize("alg", ALGS)
def test_edge_auth_keygen_loads_in_pyjwt(alg):
    """keygen's JWKs load with PyJWT's from_jwk; kid is the RFC 7638 thumbprint (asymmetric) or random
    (HMAC: a thumbprint would publish a hash of the secret); jwks is public-only."""
    _skip_unsupported(alg)
    gen = keygen(alg)
    jwk, pub = gen["jwk"], gen["jwks"]["keys"][0]
    impl = algorithm_impl(alg)

    if alg.startswith("HS"):
        assert jwk["kid"] != rfc7638_thumbprint(pub)
        assert len(b64u_decode(jwk["kid"])) == 16
    else:
        assert jwk["kid"] == rfc7638_thumbprint(pub)
    assert pub.get("kid") == jwk["kid"]
    assert rfc7638_thumbprint(jwk) == rfc7638_thumbprint(pub)

    if alg.startswith("HS"):
        assert pub["kty"] == "oct" and pub["k"] == jwk["k"]
        assert len(b64u_decode(pub["k"])) >= int(alg[2:]) // 8
        assert impl.from_jwk(jwk) == impl.from_jwk(pub)
    else:
        for member in PRIVATE_MEMBERS:
            assert member not in pub, f"public JWK contains private member {member!r}"
        priv_key = impl.from_jwk(jwk)
        pub_key = impl.from_jwk(pub)
        derived = impl.to_jwk(priv_key.public_key(), as_dict=True)
        expected = impl.to_jwk(pub_key, as_dict=True)
        assert derived == expected, "private JWK does not match the jwks public key"
        if pub["kty"] == "RSA":
            assert pub_key.key_size == 2048

    custom = keygen(alg, "--kid", "my-key-1")
    assert custom["jwk"]["kid"] == "my-key-1"


@pytest.mark.parametrize("alg", ALGS)
def test_edge_auth_private_jwk_signs_in_pyjwt(alg, tmp_path):
    """PyJWT signs with edge-auth's private JWK (loaded by PyJWK), edge-auth verifies with its jwks."""
    _skip_unsupported(alg)
    gen = keygen(alg)
    jwks_file = write_json(tmp_path, "jwks.json", gen["jwks"])
    claims = claims_now()
    token = pyjwt_sign(alg, jwt.PyJWK(gen["jwk"], alg).key, gen["jwk"]["kid"], claims)
    out = run_ok(["verify", "--jwks", jwks_file, "--issuer", ISSUER, "--audience", AUDIENCE, token])
    assert json.loads(out) == claims


# --------------------------------------------------------------------------- negative cases


@pytest.fixture
def neg_key(request, tmp_path):
    alg = request.param
    _skip_unsupported(alg)
    kid = f"pyjwt-{alg}-neg"
    key, public_jwk = pyjwt_key(alg, kid)
    return alg, kid, key, write_json(tmp_path, "public.jwk.json", public_jwk)


@pytest.mark.parametrize("neg_key", NEGATIVE_ALGS, indirect=True)
def test_rejects_changed_signature(neg_key):
    alg, kid, key, jwk_file = neg_key
    token = pyjwt_sign(alg, key, kid, claims_now())
    run_ok(verify_args(jwk_file, token))  # control: the untouched token verifies
    assert_rejected(verify_args(jwk_file, tamper_signature(token)), "signature_invalid")


@pytest.mark.parametrize("neg_key", NEGATIVE_ALGS, indirect=True)
def test_rejects_expired(neg_key):
    alg, kid, key, jwk_file = neg_key
    now = int(time.time())
    token = pyjwt_sign(alg, key, kid, claims_now(iat=now - 3600, exp=now - 600))
    assert_rejected(verify_args(jwk_file, token), "token_expired")


@pytest.mark.parametrize("neg_key", NEGATIVE_ALGS, indirect=True)
def test_rejects_wrong_audience(neg_key):
    alg, kid, key, jwk_file = neg_key
    token = pyjwt_sign(alg, key, kid, claims_now(aud="some-other-audience"))
    assert_rejected(verify_args(jwk_file, token), "audience_mismatch")


@pytest.mark.parametrize("neg_key", NEGATIVE_ALGS, indirect=True)
def test_rejects_other_key_same_type(neg_key):
    alg, kid, _key, jwk_file = neg_key
    other_key, _ = pyjwt_key(alg, kid)  # same kid in the header, different key material
    token = pyjwt_sign(alg, other_key, kid, claims_now())
    assert_rejected(verify_args(jwk_file, token), "signature_invalid")
