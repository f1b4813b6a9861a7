"""The assertion table: every case through the kit, and the same case through the Rust CLI
(`edge-auth verify-assertion`, the core's `AssertionVerifier`): both must accept or refuse alike, with
the same code.

The CLI is `target/debug/edge-auth` (or `$EDGE_AUTH_BIN`); without it the cross-check is skipped,
unless `EDGE_AUTH_REQUIRE_CLI=1` (as `scripts/test.sh` sets), where a missing binary fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from edge_auth import AssertionVerifier, EdgeAuthError

from assertions import (
    ACCESS_TOKEN,
    AUDIENCE,
    ISSUER,
    NOW,
    PUBLIC,
    Signer,
    b64u,
    claims,
    jwks,
    mint,
    new_key,
)

REPO = Path(__file__).resolve().parents[3]
BIN = Path(os.environ.get("EDGE_AUTH_BIN") or REPO / "target" / "debug" / "edge-auth")
CLI_TIMEOUT_S = 30

ED = new_key("EdDSA")
ES = new_key("ES256")
OTHER = new_key("EdDSA")
SECRET = b"s" * 32
URL = f"{PUBLIC}/orders"


@dataclass
class Case:
    name: str
    token: Callable[[], str]
    expected: str | None  # None: accepted
    method: str = "GET"
    url: str = URL
    access_token: str | None = ACCESS_TOKEN
    keys: dict[str, Any] = field(default_factory=lambda: jwks(ED, ES))
    secret: bytes | None = None


def impostor_with_kid(key: Signer) -> Signer:
    """`OTHER`'s private key presenting `key`'s kid."""
    return Signer(OTHER.alg, OTHER.private, {**OTHER.public_jwk, "kid": key.kid}, {})


def tampered() -> str:
    header, _, signature = mint(ED).split(".")
    return f"{header}.{b64u(json.dumps(claims(sub='admin')).encode())}.{signature}"


def with_signature(token: str, signature: bytes) -> str:
    return token.rsplit(".", 1)[0] + "." + b64u(signature)


def es256_der() -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    token = mint(ES)
    signing_input = token.rsplit(".", 1)[0].encode()
    return with_signature(token, ES.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))


def hs256_with_public_key() -> str:
    # The classic confusion: HMAC keyed with the published public key.
    return mint(None, hs_secret=ED.public_jwk["x"].encode(), header={"kid": ED.kid})


def duplicate_member() -> str:
    payload = json.dumps(claims())[:-1] + ', "sub": "admin"}'
    return mint(ED, payload.encode())


CASES = [
    # accepted
    Case("good EdDSA", lambda: mint(ED), None),
    Case("good ES256", lambda: mint(ES), None),
    Case("good, no kid (one EdDSA key)", lambda: mint(ED, drop=("kid",)), None),
    Case("good, token not forwarded (ath unchecked)", lambda: mint(ED), None, access_token=None),
    Case("good, query ignored", lambda: mint(ED), None, url=f"{URL}?page=2#top"),
    Case("good, typ with application/", lambda: mint(ED, header={"typ": "application/edge-auth+JWT"}), None),
    Case("good, aud array", lambda: mint(ED, claims(aud=["x", AUDIENCE])), None),
    Case("good, with the session id", lambda: mint(ED, claims(sid="session-1")), None),
    Case(
        "good, htu host case and default port",
        lambda: mint(ED, claims(htu="HTTPS://API.test:443/orders")),
        None,
    ),
    Case("good, request path with dot segments", lambda: mint(ED), None, url=f"{PUBLIC}/a/../orders"),
    Case("good, exp within the leeway", lambda: mint(ED, claims(exp=NOW - 9)), None),
    Case("good, iat within the leeway", lambda: mint(ED, claims(iat=NOW + 10)), None),
    Case(
        "good, encoded path", lambda: mint(ED, claims(htu=f"{PUBLIC}/caf%C3%A9")), None, url=f"{PUBLIC}/café"
    ),
    # time
    Case("expired", lambda: mint(ED, claims(exp=NOW - 10)), "token_expired"),
    Case("issued in the future", lambda: mint(ED, claims(iat=NOW + 11)), "token_issued_in_future"),
    Case("not yet valid", lambda: mint(ED, claims(nbf=NOW + 11)), "token_not_yet_valid"),
    Case("exp a string", lambda: mint(ED, claims(exp=str(NOW + 30))), "claim_invalid"),
    Case("exp a boolean", lambda: mint(ED, claims(exp=True)), "claim_invalid"),
    # issuer, audience, typ
    Case("wrong issuer", lambda: mint(ED, claims(iss="https://evil.test")), "issuer_unknown"),
    Case("issuer not a string", lambda: mint(ED, claims(iss=1)), "claim_invalid"),
    Case("no issuer", lambda: mint(ED, claims(iss=None)), "issuer_unknown"),
    Case("wrong audience", lambda: mint(ED, claims(aud="https://other.test")), "audience_mismatch"),
    Case("no audience", lambda: mint(ED, claims(aud=None)), "audience_mismatch"),
    Case("typ JWT", lambda: mint(ED, header={"typ": "JWT"}), "typ_mismatch"),
    Case("no typ", lambda: mint(ED, drop=("typ",)), "typ_mismatch"),
    # algorithms and keys
    Case("alg none", lambda: mint(None), "alg_not_allowed"),
    Case("alg NONE", lambda: mint(None, header={"alg": "NONE"}), "alg_not_allowed"),
    Case("HS256 forgery keyed with the public key", hs256_with_public_key, "alg_not_allowed"),
    Case("ES384 header", lambda: mint(ES, header={"alg": "ES384"}), "alg_not_allowed"),
    Case("EdDSA header on the ES256 key", lambda: mint(ES, header={"alg": "EdDSA"}), "key_not_found"),
    Case(
        "embedded jwk",
        lambda: mint(OTHER, header={"jwk": OTHER.public_jwk}, drop=("kid",)),
        "embedded_key_refused",
    ),
    Case("jku", lambda: mint(OTHER, header={"jku": "https://evil.test/jwks"}), "embedded_key_refused"),
    Case("x5c", lambda: mint(OTHER, header={"x5c": ["MIIB"]}), "embedded_key_refused"),
    Case("crit", lambda: mint(ED, header={"crit": ["exp"], "exp": 1}), "crit_unsupported"),
    Case("crit not an array", lambda: mint(ED, header={"crit": "exp"}), "token_malformed"),
    Case("b64 false", lambda: mint(ED, header={"b64": False}), "token_unsupported"),
    Case("cty JWT (nested)", lambda: mint(ED, header={"cty": "JWT"}), "token_unsupported"),
    Case("another key, its own kid", lambda: mint(OTHER), "key_not_found"),
    Case("another key, our kid", lambda: mint(impostor_with_kid(ED)), "signature_invalid"),
    Case("another key, no kid", lambda: mint(OTHER, drop=("kid",)), "signature_invalid"),
    Case("tampered payload", tampered, "signature_invalid"),
    Case("ES256 signature in DER", es256_der, "signature_invalid"),
    Case("empty signature", lambda: with_signature(mint(ED), b""), "signature_invalid"),
    # binding: replay to another request
    Case("replayed to another path", lambda: mint(ED), "binding_mismatch", url=f"{PUBLIC}/admin"),
    Case("replayed with another method", lambda: mint(ED), "binding_mismatch", method="DELETE"),
    Case("method case differs", lambda: mint(ED, claims(htm="get")), "binding_mismatch"),
    Case("replayed to another host", lambda: mint(ED), "binding_mismatch", url="https://other.test/orders"),
    Case("replayed over http", lambda: mint(ED), "binding_mismatch", url="http://api.test/orders"),
    Case(
        "replayed to another port", lambda: mint(ED), "binding_mismatch", url="https://api.test:8443/orders"
    ),
    Case("path case differs", lambda: mint(ED), "binding_mismatch", url=f"{PUBLIC}/Orders"),
    Case("trailing slash differs", lambda: mint(ED), "binding_mismatch", url=f"{PUBLIC}/orders/"),
    Case("ath of another token", lambda: mint(ED), "binding_mismatch", access_token="another.token"),
    Case("htu not a URL", lambda: mint(ED, claims(htu="/orders")), "binding_mismatch"),
    Case("htm not a string", lambda: mint(ED, claims(htm=["GET"])), "binding_mismatch"),
    # htu in the core's normal form (WHATWG): claim and request URL compared after normalizing both
    *[
        Case(f"htu {claim!r} vs {url!r}", lambda claim=claim: mint(ED, claims(htu=claim)), expected, url=url)
        for claim, url, expected in [
            ("https://api.test/a%20b", "https://api.test/a b", None),
            ("https://api.test/%7Bx%7D%60", "https://api.test/{x}`", None),
            ("https://api.test/a/%2e%2E/orders", URL, None),
            ("https://api.test/%2E%2E/orders", URL, None),
            ("https://api.test/a/./b/../../orders", URL, None),
            ("https://api.test\\orders", URL, None),
            ("http://api.test:80/orders", "http://api.test/orders", None),
            ("https://api.test:0443/orders", URL, None),
            ("https://api.te\tst/orders", URL, None),
            ("https://api.test/ä", "https://api.test/%C3%A4", None),
            ("https://api.test/orders?a#b/../x", URL, None),
            ("https://api.test:443", "https://api.test/", None),
            ("https://api.test/%zz;x", "https://api.test/%zz;x", None),
            ("https://api.test/%2f", "https://api.test/%2F", "binding_mismatch"),
            ("https://api.test/a'b", "https://api.test/a%27b", "binding_mismatch"),
            ("https://api.test./orders", URL, "binding_mismatch"),
            ("https://user@api.test/orders", URL, "binding_mismatch"),
            ("https://API.TEST/ORDERS", URL, "binding_mismatch"),
            ("https://xn--bcher-kva.test/x", "https://bücher.test/x", "binding_mismatch"),
            ("ftp://api.test/orders", URL, "binding_mismatch"),
        ]
    ],
    # required claims
    Case("no exp", lambda: mint(ED, claims(exp=None)), "claim_missing"),
    Case("no iat", lambda: mint(ED, claims(iat=None)), "claim_missing"),
    Case("no jti", lambda: mint(ED, claims(jti=None)), "claim_missing"),
    Case("no htm", lambda: mint(ED, claims(htm=None)), "claim_missing"),
    Case("no htu", lambda: mint(ED, claims(htu=None)), "claim_missing"),
    Case("no ath", lambda: mint(ED, claims(ath=None)), "claim_missing"),
    Case("htm null", lambda: mint(ED, claims(htm=None) | {"htm": None}), "claim_missing"),
    # structure
    Case("not a JWS", lambda: "abc", "token_malformed"),
    Case("two parts", lambda: mint(ED).rsplit(".", 1)[0], "token_malformed"),
    Case("five parts (JWE)", lambda: "a.b.c.d.e", "token_unsupported"),
    Case("JSON serialization", lambda: '{"payload":"e30"}', "token_unsupported"),
    Case("padded base64", lambda: mint(ED).replace(".", "=.", 1), "token_malformed"),
    Case("standard base64 alphabet", lambda: "+" + mint(ED)[1:], "token_malformed"),
    Case("payload not an object", lambda: mint(ED, b"[1]"), "token_malformed"),
    Case("payload not JSON", lambda: mint(ED, b"{"), "token_malformed"),
    Case("NaN in payload", lambda: mint(ED, b'{"exp": NaN}'), "token_malformed"),
    Case("duplicate claim", duplicate_member, "token_malformed"),
    Case("header without alg", lambda: mint(ED, drop=("alg",)), "token_malformed"),
    Case("too large", lambda: mint(ED, claims(pad="x" * 9000)), "token_too_large"),
    # HS256 shared secret (the Worker's HS256 assertion key)
    Case("HS256 good", lambda: mint(None, hs_secret=SECRET), None, secret=SECRET),
    Case("HS256 other secret", lambda: mint(None, hs_secret=b"t" * 32), "signature_invalid", secret=SECRET),
    Case("EdDSA against an HS256 secret", lambda: mint(ED), "alg_not_allowed", secret=SECRET),
    Case(
        "HS256 replayed",
        lambda: mint(None, hs_secret=SECRET),
        "binding_mismatch",
        secret=SECRET,
        method="POST",
    ),
]

# Minted once, so the kit and the CLI see the very same bytes.
TOKENS = {case.name: case.token() for case in CASES}


def kit_outcome(case: Case) -> str | None:
    if case.secret is not None:
        verifier = AssertionVerifier(issuer=ISSUER, audience=AUDIENCE, secret=case.secret)
    else:
        verifier = AssertionVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=case.keys)
    coroutine = verifier.verify(
        TOKENS[case.name], method=case.method, url=case.url, access_token=case.access_token, now=NOW
    )
    try:
        identity = asyncio.run(coroutine)
    except EdgeAuthError as error:
        return error.code
    assert identity.assertion_id and identity.claims["iss"] == ISSUER
    # The session id is the assertion's `sid` exactly, or nothing.
    sid = identity.claims.get("sid")
    assert identity.session_id == (sid if isinstance(sid, str) else None)
    return None


def cli_outcome(case: Case, tmp_path: Path) -> str | None:
    keys = case.keys
    if case.secret is not None:
        keys = {"keys": [{"kty": "oct", "alg": "HS256", "k": b64u(case.secret)}]}
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(keys))
    args = [str(BIN), "verify-assertion", "--jwks", str(jwks_file), "--issuer", ISSUER]
    args += ["--audience", AUDIENCE, "--now", str(NOW), "--method", case.method, "--url", case.url]
    if case.access_token is not None:
        args += ["--access-token", case.access_token]
    run = subprocess.run(
        [*args, "-"], input=TOKENS[case.name], capture_output=True, text=True, timeout=CLI_TIMEOUT_S
    )
    if run.returncode == 0:
        return None
    assert run.returncode == 1, run.stderr
    # `error: <code>: <reason>`
    return run.stderr.strip().split(": ", 2)[1]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_kit(case: Case) -> None:
    assert kit_outcome(case) == case.expected


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_cli_agrees(case: Case, tmp_path: Path) -> None:
    if not BIN.exists():
        if os.environ.get("EDGE_AUTH_REQUIRE_CLI") == "1":
            pytest.fail(f"{BIN} missing (cargo build --locked -p edge-auth-cli)")
        pytest.skip(f"{BIN} missing (cargo build --locked -p edge-auth-cli)")
    assert cli_outcome(case, tmp_path) == case.expected


def test_table_covers_refusals() -> None:
    """The table exercises every code a refused assertion can get from a static key set."""
    refused = {c.expected for c in CASES if c.expected}
    static = {
        "token_too_large", "token_malformed", "token_unsupported", "alg_not_allowed",
        "embedded_key_refused", "crit_unsupported", "key_not_found", "signature_invalid",
        "issuer_unknown", "claim_invalid", "claim_missing", "token_expired", "token_not_yet_valid",
        "token_issued_in_future", "audience_mismatch", "typ_mismatch", "binding_mismatch",
    }  # fmt: skip
    assert static <= refused
