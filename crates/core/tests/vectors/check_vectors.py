#!/usr/bin/env python3
"""Independent checker for rfc.json (RFC 7515 / 7520 / 8037 JWS test vectors).

Uses only the Python standard library and the `cryptography` package; it shares
no code with the Rust verifier. For every case it:

  * checks the case's shape (required members, `now` present iff `jwt`),
  * checks that the JWK holds no private members (d, p, q, dp, dq, qi, oth),
  * strictly base64url-decodes the three token parts (no padding, canonical),
  * checks the protected header is a JSON object whose "alg" equals the case's,
  * checks payload_b64 equals the token's second part,
  * verifies the signature with `cryptography` using only the case's JWK,
  * checks the same token with one signature bit flipped is rejected,
  * for jwt:true cases, parses the payload as a JSON object and checks that
    exp/nbf (if present) are satisfied at `now`; for jwt:false cases, checks
    the payload is NOT a JSON object.

Run:  python3 crates/core/tests/vectors/check_vectors.py [path/to/rfc.json]
Last line printed: "N passed, N failed"; exit status non-zero on any failure.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth"}
B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")

HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
HASHLIB = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
# alg -> (curve class, coordinate/scalar octet length)
EC_CURVES = {
    "ES256": ("P-256", ec.SECP256R1, 32),
    "ES384": ("P-384", ec.SECP384R1, 48),
    "ES512": ("P-521", ec.SECP521R1, 66),
}


class CheckError(Exception):
    pass


def b64url_decode(s, what):
    """Strict base64url (RFC 7515 section 2): no padding, no whitespace, canonical."""
    if not isinstance(s, str) or not B64URL_RE.match(s) or len(s) % 4 == 1:
        raise CheckError(f"{what}: not unpadded base64url")
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != s:
        raise CheckError(f"{what}: non-canonical base64url")
    return raw


def b64url_int(jwk, member, expected_len=None):
    raw = b64url_decode(jwk.get(member, None), f"jwk.{member}")
    if expected_len is not None and len(raw) != expected_len:
        raise CheckError(f"jwk.{member}: {len(raw)} octets, expected {expected_len}")
    return int.from_bytes(raw, "big")


def verify(alg, jwk, signing_input, sig):
    """Return normally if valid; raise InvalidSignature / CheckError otherwise."""
    kty = jwk.get("kty")
    if alg.startswith("HS"):
        if kty != "oct":
            raise CheckError(f"{alg} needs an oct key, got {kty}")
        key = b64url_decode(jwk.get("k"), "jwk.k")
        mac = hmac.new(key, signing_input, HASHLIB[alg[2:]]).digest()
        if not hmac.compare_digest(mac, sig):
            raise InvalidSignature()
        return
    if alg.startswith(("RS", "PS")):
        if kty != "RSA":
            raise CheckError(f"{alg} needs an RSA key, got {kty}")
        pub = rsa.RSAPublicNumbers(b64url_int(jwk, "e"), b64url_int(jwk, "n")).public_key()
        h = HASHES[alg[2:]]
        if alg.startswith("RS"):
            pad = padding.PKCS1v15()
        else:  # RFC 7518 section 3.5: MGF1 with the same hash, salt = hash length
            pad = padding.PSS(mgf=padding.MGF1(h()), salt_length=h.digest_size)
        pub.verify(sig, signing_input, pad, h())
        return
    if alg in EC_CURVES:
        crv_name, curve, size = EC_CURVES[alg]
        if kty != "EC" or jwk.get("crv") != crv_name:
            raise CheckError(f"{alg} needs an EC {crv_name} key, got {kty}/{jwk.get('crv')}")
        x = b64url_int(jwk, "x", size)
        y = b64url_int(jwk, "y", size)
        pub = ec.EllipticCurvePublicNumbers(x, y, curve()).public_key()  # checks on-curve
        if len(sig) != 2 * size:  # RFC 7518 section 3.4: R || S, fixed width
            raise CheckError(f"{alg} signature is {len(sig)} octets, expected {2 * size}")
        r = int.from_bytes(sig[:size], "big")
        s = int.from_bytes(sig[size:], "big")
        pub.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(HASHES[alg[2:]]()))
        return
    if alg == "EdDSA":
        if kty != "OKP" or jwk.get("crv") != "Ed25519":
            raise CheckError(f"EdDSA case needs an OKP Ed25519 key, got {kty}/{jwk.get('crv')}")
        pub = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk.get("x"), "jwk.x"))
        if len(sig) != 64:
            raise CheckError(f"Ed25519 signature is {len(sig)} octets, expected 64")
        pub.verify(sig, signing_input)
        return
    raise CheckError(f"unsupported alg {alg!r}")


def check_case(case):
    for member in ("name", "source", "alg", "token", "jwk", "payload_b64", "jwt"):
        if member not in case:
            raise CheckError(f"missing member {member!r}")
    if not isinstance(case["jwt"], bool):
        raise CheckError("jwt must be a boolean")
    if case["jwt"] != ("now" in case):
        raise CheckError("'now' must be present exactly when jwt is true")

    alg, jwk, token = case["alg"], case["jwk"], case["token"]
    if not isinstance(jwk, dict):
        raise CheckError("jwk is not an object")
    leaked = PRIVATE_MEMBERS & set(jwk)
    if leaked:
        raise CheckError(f"jwk has private members {sorted(leaked)}")

    parts = token.split(".")
    if len(parts) != 3:
        raise CheckError(f"token has {len(parts)} parts, expected 3")
    header_raw = b64url_decode(parts[0], "header")
    payload_raw = b64url_decode(parts[1], "payload")
    sig = b64url_decode(parts[2], "signature")

    header = json.loads(header_raw.decode("utf-8"))
    if not isinstance(header, dict) or header.get("alg") != alg:
        raise CheckError(f"header alg {header.get('alg') if isinstance(header, dict) else header!r} != {alg}")
    if jwk.get("alg") is not None and jwk["alg"] != alg:
        raise CheckError(f"jwk.alg {jwk['alg']} != {alg}")
    if "kid" in header and "kid" in jwk and header["kid"] != jwk["kid"]:
        raise CheckError(f"header kid {header['kid']!r} != jwk kid {jwk['kid']!r}")

    if case["payload_b64"] != parts[1]:
        raise CheckError("payload_b64 does not equal the token's second part")

    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    try:
        verify(alg, jwk, signing_input, sig)
    except InvalidSignature:
        raise CheckError("signature does NOT verify")

    # The checker must not be vacuous: a one-bit change must be rejected.
    tampered = bytearray(sig)
    tampered[len(tampered) // 2] ^= 0x01
    try:
        verify(alg, jwk, signing_input, bytes(tampered))
        raise CheckError("signature with a flipped bit still verifies")
    except InvalidSignature:
        pass

    try:
        claims = json.loads(payload_raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        claims = None
    if case["jwt"]:
        if not isinstance(claims, dict):
            raise CheckError("jwt:true but payload is not a JSON object")
        now = case["now"]
        if not isinstance(now, int) or isinstance(now, bool):
            raise CheckError("now must be an integer")
        if "exp" in claims and not now < claims["exp"]:
            raise CheckError(f"now {now} is not before exp {claims['exp']}")
        if "nbf" in claims and not now >= claims["nbf"]:
            raise CheckError(f"now {now} is before nbf {claims['nbf']}")
    elif isinstance(claims, dict):
        raise CheckError("jwt:false but payload is a JSON object")


def main(argv):
    path = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "rfc.json")
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)
    passed = failed = 0
    names = set()
    for i, case in enumerate(cases):
        name = case.get("name", f"#{i}") if isinstance(case, dict) else f"#{i}"
        try:
            if not isinstance(case, dict):
                raise CheckError("case is not an object")
            if name in names:
                raise CheckError("duplicate name")
            names.add(name)
            check_case(case)
        except (CheckError, InvalidSignature, ValueError, KeyError, TypeError, binascii.Error) as e:
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
        else:
            passed += 1
            print(f"ok   {name} ({case['alg']}, {case['source']})")
    if not cases:
        failed += 1
        print("FAIL: no cases")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
