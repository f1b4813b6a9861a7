"""Test helpers: keys and assertions minted with `cryptography` directly (any header, any claims)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://edge.test"
AUDIENCE = "https://origin.test"
PUBLIC = "https://api.test"
ACCESS_TOKEN = "caller.access.token"  # noqa: S105 - a test value
NOW = 1_800_000_000


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: dict[str, Any]) -> str:
    members = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canon = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64u(hashlib.sha256(canon.encode()).digest())


@dataclass
class Signer:
    alg: str
    private: Any
    public_jwk: dict[str, Any]
    private_jwk: dict[str, Any]

    @property
    def kid(self) -> str:
        return self.public_jwk["kid"]

    def sign(self, data: bytes) -> bytes:
        if self.alg == "EdDSA":
            return self.private.sign(data)
        r, s = decode_dss_signature(self.private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def new_key(alg: str = "EdDSA") -> Signer:
    if alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
        raw = private.public_key().public_bytes_raw()
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw)}
        d = b64u(private.private_bytes_raw())
    else:
        private = ec.generate_private_key(ec.SECP256R1())
        numbers = private.public_key().public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64u(numbers.x.to_bytes(32, "big")),
            "y": b64u(numbers.y.to_bytes(32, "big")),
        }
        d = b64u(private.private_numbers().private_value.to_bytes(32, "big"))
    jwk = {**jwk, "kid": thumbprint(jwk), "alg": alg, "use": "sig"}
    return Signer(alg, private, jwk, {**jwk, "d": d})


def jwks(*keys: Signer) -> dict[str, Any]:
    return {"keys": [k.public_jwk for k in keys]}


def ath(token: str) -> str:
    return b64u(hashlib.sha256(token.encode()).digest())


def claims(**overrides: Any) -> dict[str, Any]:
    """A good assertion's claims for `GET https://api.test/orders`, at NOW; `None` removes one."""
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "src_iss": "https://idp.test",
        "iat": NOW,
        "exp": NOW + 30,
        "jti": b64u(secrets.token_bytes(16)),
        "scope": "orders:read profile",
        "roles": ["viewer"],
        "htm": "GET",
        "htu": f"{PUBLIC}/orders",
        "ath": ath(ACCESS_TOKEN),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def encode(header: dict[str, Any], payload: dict[str, Any] | bytes) -> str:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return f"{b64u(json.dumps(header).encode())}.{b64u(body)}"


def mint(
    key: Signer | None,
    payload: dict[str, Any] | bytes | None = None,
    *,
    header: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    hs_secret: bytes | None = None,
) -> str:
    """An assertion signed by `key` (or HS256 with `hs_secret`, or unsigned with `alg: none`)."""
    if payload is None:
        payload = claims()
    if hs_secret is not None:
        head: dict[str, Any] = {"alg": "HS256", "typ": "edge-auth+jwt"}
    elif key is None:
        head = {"alg": "none", "typ": "edge-auth+jwt"}
    else:
        head = {"alg": key.alg, "typ": "edge-auth+jwt", "kid": key.kid}
    head.update(header or {})
    for member in drop:
        head.pop(member, None)
    signing_input = encode(head, payload)
    if hs_secret is not None:
        signature = hmac.new(hs_secret, signing_input.encode(), hashlib.sha256).digest()
    elif key is None:
        signature = b""
    else:
        signature = key.sign(signing_input.encode())
    return f"{signing_input}.{b64u(signature)}"
