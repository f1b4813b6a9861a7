"""Verifies assertions minted by the JS package's gate with PyJWT (an independent implementation).

Usage: python3 tests/js/pyjwt_check.py FILE
FILE is a JSON list of {alg, jwks, issuer, audience, assertions: [{name, assertion, sub, src_iss, htm, htu}]},
written by tests/js/assertion.test.mjs. Each assertion must verify against the gate's JWKS (the key its
`kid` names, that key's `alg` only), with the issuer, audience, `typ: edge-auth+jwt`, the registered and
binding claims present, and sub / src_iss / htm / htu as expected. PyJWT and cryptography come from
tests/interop/requirements.txt (scripts/setup.sh installs them). Exit 0 when every assertion verifies.
"""

import json
import sys

import jwt


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        sets = json.load(f)
    checked, failures = 0, []
    for s in sets:
        keys = {k.key_id: k for k in jwt.PyJWKSet.from_dict(s["jwks"]).keys}
        for a in s["assertions"]:
            name = f'{s["alg"]} / {a["name"]}'
            try:
                header = jwt.get_unverified_header(a["assertion"])
                key = keys[header["kid"]]
                if header.get("typ") != "edge-auth+jwt":
                    raise ValueError(f'typ {header.get("typ")!r}')
                claims = jwt.decode(
                    a["assertion"],
                    key.key,
                    algorithms=[key.algorithm_name],
                    audience=s["audience"],
                    issuer=s["issuer"],
                    leeway=5,
                    options={"require": ["iss", "aud", "iat", "exp", "jti", "htm", "htu", "ath"]},
                )
                for claim in ("sub", "src_iss", "htm", "htu"):
                    if claims.get(claim) != a[claim]:
                        raise ValueError(f"{claim} {claims.get(claim)!r}, expected {a[claim]!r}")
                if key.algorithm_name != s["alg"]:
                    raise ValueError(f"key alg {key.algorithm_name}, expected {s['alg']}")
                checked += 1
            except Exception as e:  # noqa: BLE001 - every failure is reported by name
                failures.append(f"{name}: {type(e).__name__}: {e}")
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"{checked} assertions verified with PyJWT {jwt.__version__}, {len(failures)} failed")
    return 0 if not failures and checked > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
