#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into fuzz/seeds/<target>/ (regenerated on every run; not
committed). Standard library only; deterministic: the same repository gives the same files.

Each file is named `<source>-<case>`; the sources are:
  rfc         crates/core/tests/vectors/rfc.json (the published RFC 7515/7520/8037 examples)
  attacks     the header and structure attacks of crates/core/tests/attacks.rs, re-signed here with HS256
  mint        tokens minted here for the fuzz verifier (valid, and each claim rule broken once)
  cases       tests/policy/cases.json (its config, and each case's request and token claims)
  readme      README.md's `[vars.EDGE_AUTH]` example (the ```toml block of "Configuring the Worker")
  pathtests   the examples of crates/core/src/path.rs's unit tests and of issue 9's path findings
  header      typical and hostile Cache-Control values
  keys        the fixed keys of fuzz/src/lib.rs

HMAC keys, issuers and the clock are read from fuzz/src/lib.rs, so the minted tokens verify there.

Usage: python3 scripts/fuzz-seeds.py [OUT_DIR]   (default fuzz/seeds)
"""

import base64
import hashlib
import hmac
import json
import re
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fuzz" / "seeds"

LIB = (ROOT / "fuzz" / "src" / "lib.rs").read_text()


def rust_const(name):
    """A `pub const NAME: &str = "…"` or `r#"…"#` from fuzz/src/lib.rs."""
    m = re.search(r'pub const ' + name + r': &str = (?:r#"(.*?)"#|"(.*?)");', LIB, re.S)
    if not m:
        sys.exit(f"fuzz-seeds: {name} not found in fuzz/src/lib.rs")
    return m.group(1) if m.group(1) is not None else m.group(2)


NOW = int(re.search(r"pub const NOW: UnixTime = UnixTime\(([0-9_]+)\);", LIB).group(1).replace("_", ""))
HS_ISSUER = rust_const("HS_ISSUER")
AUDIENCE = rust_const("AUDIENCE")
HS256_JWK = json.loads(rust_const("HS256_JWK"))
IDP_HMAC_SECRET = rust_const("IDP_HMAC_SECRET").encode()
ED25519_PRIVATE_JWK = rust_const("ED25519_PRIVATE_JWK")
HS256_SIGNING_JWK = rust_const("HS256_SIGNING_JWK")


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64dec(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hs256(header, payload, key):
    """A compact JWS over the exact header and payload text given (so duplicates stay duplicates)."""
    signing_input = f"{b64(header.encode())}.{b64(payload.encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


FUZZ_KEY = b64dec(HS256_JWK["k"])
FUZZ_KID = HS256_JWK["kid"]


def fuzz_token(claims, header=None):
    """A token for token_parse's HS256 issuer."""
    header = header if header is not None else json.dumps({"alg": "HS256", "kid": FUZZ_KID}, separators=(",", ":"))
    payload = claims if isinstance(claims, str) else json.dumps(claims, separators=(",", ":"))
    return hs256(header, payload, FUZZ_KEY)


def good_claims(**extra):
    claims = {"iss": HS_ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": NOW - 10, "exp": NOW + 300}
    claims.update(extra)
    return claims


seeds = {}


def seed(target, name, data):
    data = data.encode() if isinstance(data, str) else data
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")
    seeds.setdefault(target, {})[name] = data


# ---- token_parse and json_object ---------------------------------------------------------------------
rfc = json.loads((ROOT / "crates/core/tests/vectors/rfc.json").read_text())
for case in rfc:
    seed("token_parse", f"rfc-{case['name']}", case["token"])
    header, payload, _ = case["token"].split(".")
    seed("json_object", f"rfc-{case['name']}-header", b64dec(header))
    if case["jwt"]:
        seed("json_object", f"rfc-{case['name']}-payload", b64dec(payload))
    seed("jwks_load", f"rfc-{case['name']}", json.dumps(case["jwk"]))

seed("token_parse", "mint-valid", fuzz_token(good_claims()))
seed("token_parse", "mint-valid-scopes", fuzz_token(good_claims(scope="orders:read orders:write", roles=["admin"])))
seed("token_parse", "mint-expired", fuzz_token(good_claims(exp=NOW - 600)))
seed("token_parse", "mint-not-yet-valid", fuzz_token(good_claims(nbf=NOW + 600)))
seed("token_parse", "mint-issued-in-future", fuzz_token(good_claims(iat=NOW + 600)))
seed("token_parse", "mint-too-old", fuzz_token(good_claims(iat=NOW - 7200)))
seed("token_parse", "mint-wrong-audience", fuzz_token(good_claims(aud=["https://other.example"])))
seed("token_parse", "mint-audience-array", fuzz_token(good_claims(aud=["x", AUDIENCE])))
seed("token_parse", "mint-no-sub", fuzz_token({k: v for k, v in good_claims().items() if k != "sub"}))
seed("token_parse", "mint-string-exp", fuzz_token(good_claims(exp=str(NOW + 300))))
seed("token_parse", "mint-float-exp", fuzz_token(good_claims(exp=NOW + 300.5)))
seed("token_parse", "mint-unknown-issuer", fuzz_token(good_claims(iss="https://evil.example/")))
seed("token_parse", "mint-issuer-not-string", fuzz_token(good_claims(iss=7)))
seed("token_parse", "mint-no-kid", fuzz_token(good_claims(), '{"alg":"HS256"}'))
seed("token_parse", "mint-typ-jwt", fuzz_token(good_claims(), '{"alg":"HS256","kid":"hs-1","typ":"JWT"}'))

# attacks.rs: header_attacks and structure_attacks (there ES256-signed with generated keys; here HS256).
CLAIMS = json.dumps(good_claims(), separators=(",", ":"))
H = '{"alg":"HS256","kid":"hs-1"'
header_attacks = {
    "alg-none": '{"alg":"none"}',
    "alg-None": '{"alg":"None"}',
    "alg-not-a-string": '{"alg":["HS256"]}',
    "alg-lower-case": '{"alg":"hs256"}',
    "alg-unknown": '{"alg":"HS999"}',
    "alg-not-in-allowlist": '{"alg":"RS256"}',
    "alg-missing": '{"kid":"hs-1"}',
    "embedded-jwk": '{"alg":"HS256","jwk":' + json.dumps(HS256_JWK, separators=(",", ":")) + "}",
    "jku": H + ',"jku":"https://attacker.example/jwks"}',
    "x5u": H + ',"x5u":"https://attacker.example/cert"}',
    "x5c": H + ',"x5c":["MIIB"]}',
    "crit-unknown": H + ',"crit":["exp"],"exp":1}',
    "crit-b64": H + ',"crit":["b64"],"b64":true}',
    "crit-empty": H + ',"crit":[]}',
    "crit-not-array": H + ',"crit":"exp"}',
    "b64-false": H + ',"b64":false,"crit":["b64"]}',
    "cty-jwt-nested": H + ',"cty":"JWT"}',
    "cty-application-jwt": H + ',"cty":"application/jwt"}',
    "enc-jwe": H + ',"enc":"A256GCM"}',
    "duplicate-alg": H + ',"alg":"none"}',
    "kid-not-string": '{"alg":"HS256","kid":7}',
    "typ-not-string": H + ',"typ":1}',
    "header-not-object": '["HS256"]',
    "kid-unknown": '{"alg":"HS256","kid":"nope"}',
    "kid-path-traversal": '{"alg":"HS256","kid":"../../../../etc/passwd"}',
}
for name, header in header_attacks.items():
    seed("token_parse", f"attacks-{name}", fuzz_token(CLAIMS, header))
    seed("json_object", f"attacks-{name}", header)

good = fuzz_token(good_claims())
gh, gp, gs = good.split(".")
structure_attacks = {
    "two-parts": f"{gh}.{gp}",
    "four-parts": f"{good}.{gs}",
    "five-parts-jwe": f"{gh}.{gp}.{gs}.{gs}.{gs}",
    "json-serialization": json.dumps({"payload": gp, "protected": gh, "signature": gs}),
    "empty": "",
    "padding": f"{good}=",
    "standard-base64-plus": f"{gh}.{gp}.+{gs[1:]}",
    "standard-base64-slash": f"{gh}.{gp}.{gs[:-1]}/",
    "outside-alphabet": f"{gh}.{gp}.{gs}!",
    "whitespace-inside": f"{gh}. {gp}.{gs}",
    "leading-whitespace": f" {good}",
    "payload-not-object": fuzz_token("[1,2]"),
    "payload-not-json": fuzz_token("hello"),
    "duplicate-claim": fuzz_token(CLAIMS[:-1] + ',"exp":1}'),
    "duplicate-nested-member": fuzz_token(CLAIMS[:-1] + ',"r":{"a":1,"a":2}}'),
}
for name, token in structure_attacks.items():
    seed("token_parse", f"attacks-{name}", token)
seed("json_object", "attacks-duplicate-claim", CLAIMS[:-1] + ',"exp":1}')
seed("json_object", "attacks-duplicate-nested-member", CLAIMS[:-1] + ',"r":{"a":1,"a":2}}')
seed("json_object", "mint-claims", json.dumps(good_claims(roles=["a", "b"], nested={"x": [1, 2.5, None, True]})))
seed("json_object", "mint-escapes", r'{"a\u0000b":"\ud83d\ude00","\"":"\\","e":1e400,"n":-0}')
seed("json_object", "mint-deep", "[" * 127 + "]" * 127)
seed("json_object", "mint-deep-objects", '{"a":' * 64 + "1" + "}" * 64)

# ---- jwks_load --------------------------------------------------------------------------------------
public = [c["jwk"] for c in rfc if c["jwk"]["kty"] != "oct"]
seed("jwks_load", "rfc-all-public-keys-jwks", json.dumps({"keys": public}))
seed("jwks_load", "rfc-symmetric-jwks", json.dumps({"keys": [c["jwk"] for c in rfc if c["jwk"]["kty"] == "oct"]}))
seed("jwks_load", "rfc-mixed-symmetry-jwks", json.dumps({"keys": [rfc[0]["jwk"], rfc[2]["jwk"]]}))
seed("jwks_load", "rfc-duplicate-kid-jwks", json.dumps({"keys": [rfc[4]["jwk"], rfc[4]["jwk"]]}))
seed("jwks_load", "rfc-encryption-key-skipped", json.dumps({"keys": [dict(rfc[2]["jwk"], use="enc"), rfc[8]["jwk"]]}))
seed("jwks_load", "keys-ed25519-private", ED25519_PRIVATE_JWK)
seed("jwks_load", "keys-hs256-signing", HS256_SIGNING_JWK)
seed("jwks_load", "keys-fuzz-hs256", json.dumps(HS256_JWK))
seed("jwks_load", "keys-ed25519-private-wrong-x", json.dumps(dict(json.loads(ED25519_PRIVATE_JWK), x=rfc[8]["jwk"]["x"][::-1])))

# ---- config_json, config_toml ------------------------------------------------------------------------
cases = json.loads((ROOT / "tests/policy/cases.json").read_text())
es256 = {"keys": [rfc[2]["jwk"]]}
config = json.loads(json.dumps(cases["config"]))
for issuer in config["issuers"]:
    issuer["algorithms"] = ["ES256"]
    issuer["jwks"] = es256
config["issuers"].append({"issuer": HS_ISSUER, "audiences": [AUDIENCE], "algorithms": ["HS256"],
                          "hmac_secret": "IDP_HMAC_SECRET", "scope_claims": ["scope"], "role_claims": ["roles"]})
config["assertion"] = {"issuer": "https://edge.example.com", "audience": "https://origin.example.com",
                       "signing_key_secret": "EDGE_AUTH_SIGNING_KEY"}
seed("config_json", "cases-config", json.dumps(config))
seed("config_json", "cases-config-as-json-string", json.dumps(json.dumps(config)))
variants = {
    "hs256-assertion-key": {"assertion": dict(config["assertion"], signing_key_secret="EDGE_AUTH_HS_KEY")},
    "previous-hs256-assertion-key": {"assertion": dict(config["assertion"], previous_signing_key_secret="EDGE_AUTH_HS_KEY")},
    "previous-ed25519-assertion-key": {"assertion": dict(config["assertion"], signing_key_secret="EDGE_AUTH_HS_KEY",
                                                         previous_signing_key_secret="EDGE_AUTH_SIGNING_KEY")},
    "missing-secret": {"assertion": dict(config["assertion"], signing_key_secret="NOT_SET")},
    "remote-keys": {"issuers": [{"issuer": "https://remote.example/", "audiences": [AUDIENCE], "algorithms": ["RS256"],
                                 "jwks_uri": "https://remote.example/jwks.json"},
                                {"issuer": "https://oidc.example/", "audiences": [AUDIENCE], "algorithms": ["ES256"],
                                 "discovery": True}],
                    "remote_keys": {"min_ttl_seconds": 60, "max_ttl_seconds": 600, "kid_cooldown_seconds": 30,
                                    "stale_if_error_seconds": 3600, "error_backoff_seconds": 5, "timeout_ms": 2000,
                                    "max_bytes": 65536}},
    "everything-optional": {"leeway_seconds": 60, "realm": "api", "forward_token": True, "max_token_bytes": 4096,
                            "cache": {"max_entries": 16, "max_ttl_seconds": 60}, "status_endpoint": True,
                            "default": {"auth": "optional"},
                            "paths": {"allow_matrix_parameters": True, "case_insensitive": True}},
    "errors-everywhere": {"leeway_seconds": 99999, "issuers": [], "routes": [{"path": "no-slash", "auth": "maybe"}],
                          "cors": {"allowed_origins": ["*"], "allow_credentials": True}},
}
for name, change in variants.items():
    seed("config_json", f"cases-config-{name}", json.dumps(dict(config, **change)))

readme = (ROOT / "README.md").read_text()
toml_block = re.search(r"## Configuring the Worker.*?```toml\n(.*?)```", readme, re.S).group(1)
seed("config_toml", "readme-config", toml_block)
# The same example with a real key in place of the "…" placeholders, so that it compiles.
real_key = toml_block.replace('x = "…", y = "…"', f'x = "{rfc[2]["jwk"]["x"]}", y = "{rfc[2]["jwk"]["y"]}"')
seed("config_toml", "readme-config-real-key", real_key)
seed("config_toml", "readme-config-env-production",
     re.sub(r"^\[(\[?)vars\.", r"[\1env.production.vars.", real_key, flags=re.M).replace("[vars]", "[env.production.vars]"))
readme_value = tomllib.loads(real_key)["vars"]["EDGE_AUTH"]
seed("config_json", "readme-config", json.dumps(readme_value))
seed("config_toml", "cases-config-as-json-string", "[vars]\nEDGE_AUTH = '''" + json.dumps(config) + "'''\n")
seed("config_toml", "wrangler-toml", (ROOT / "wrangler.toml").read_text())

# ---- path_route and explain_input ----------------------------------------------------------------------
path_examples = [
    "/", "/a/b", "/a/b/", "//a///b", "/a/./b", "/a/../b", "/../../a", "/a/..", "/a/b/.", "/a/b/..",
    "/%61dmin/x", "/%2e%2E/admin", "/a/%2e%2e/admin", "/a%7e%5f%2D", "/a%20b%3a", "/caf%C3%A9/é",
    "/a%2Fb", "/a%5cb", "/a%00", "/a%zz", "/a%4", "/a%", "/a\\b", "/a\tb", "a/b", "",
    "/public/..;/admin/x", "/a;jsessionid=1/b", "/a/b;", "/a%3Bb", "/admin", "/admin/", "/ADMIN/x",
    "/orders//7", "/orders/%37", "/orders/./7", "/tenants/acme/orders", "/.well-known/edge-auth/jwks.json",
]
for i, path in enumerate(path_examples):
    seed("path_route", f"pathtests-{i:02d}", path)


def token_for_case(case):
    """An HS256 token from the configuration's HS256 issuer with the case's claims (the cases' own
    tokens are ES256 with generated keys)."""
    token = case.get("token")
    if not token:
        return ""
    claims = {"iss": HS_ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": NOW, "exp": NOW + 3600}
    for name, value in token.get("claims", {}).items():
        # As tests/policy.rs reads the table: a negative `exp` is relative to now.
        claims[name] = NOW + value if name == "exp" and isinstance(value, int) and value < 0 else value
    for name in ("scp", "groups"):
        if name in claims:  # the HS256 issuer reads `scope` and `roles`
            claims["scope" if name == "scp" else "roles"] = claims[name]
    header = json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":"))
    return hs256(header, json.dumps(claims, separators=(",", ":")), IDP_HMAC_SECRET)


for i, case in enumerate(cases["cases"]):
    request = case["request"]
    method = request.get("method", "GET")
    url = request["url"]
    rest = url.split("://", 1)[1]
    host, _, path = rest.partition("/")
    seed("path_route", f"cases-{i:02d}", f"{method}\n{host}\n/{path.split('?')[0]}")
    token = token_for_case(case)
    in_cookie = case.get("token", {}).get("in") == "cookie"
    headers = [f"{k}: {v}" for k, v in request.get("headers", {}).items()]
    lines = [method, url, "" if in_cookie else token, token if in_cookie else ""] + headers
    seed("explain_input", f"cases-{i:02d}", "\n".join(lines))
seed("explain_input", "cases-relative-url", "GET\n/orders/1\n\n")
seed("explain_input", "cases-bad-header", "GET\nhttps://api.example.com/orders/1\n\n\nno colon here")

# ---- cache_control ---------------------------------------------------------------------------------
headers = [
    "max-age=300", "public, max-age=86400", "max-age=0", "no-store", "no-cache, max-age=600",
    "s-maxage=600, max-age=60", "max-age=60, s-maxage=600", "MAX-AGE=120", 'max-age="3600"',
    "max-age=-1", "max-age=99999999999999999999", "max-age=1e3", "max-age = 10 , private",
    "max-age=abc, max-age=20", ",,,", "must-revalidate, proxy-revalidate, max-age=5",
]
for i, header in enumerate(headers):
    seed("cache_control", f"header-{i:02d}", header)

# ---- write ---------------------------------------------------------------------------------------------
if OUT.exists():
    shutil.rmtree(OUT)
total = 0
# ---- absolute_url: the web-platform-tests URL inputs (crates/core/tests/vectors/wpt_urls.json) -------
for i, text in enumerate(json.loads((ROOT / "crates/core/tests/vectors/wpt_urls.json").read_text())["inputs"]):
    seed("absolute_url", f"wpt-{i:03d}", text)

# ---- revocation: the first byte picks the reader (0 logout form, 1 admin body, 2 object requests, 3 sync) --
for i, text in enumerate([
    "logout_token=eyJhbGciOiJIUzI1NiJ9.e30.sig", "a=b&logout_token=x%2Ey", "logout_token=%zz", "logout_token=a&logout_token=b",
]):
    seed("revocation", f"form-{i}", b"\x00" + text.encode())
for i, body in enumerate([
    {"sid": "s1"}, {"sub": "u", "iss": "https://b.example/"}, {"jti": "t", "exp": 1800000100}, {"jti": "t", "sid": "s"},
]):
    seed("revocation", f"admin-{i}", b"\x01" + json.dumps(body).encode())
record = {"kind": "sid", "iss": "https://a.example/", "value": "s1", "at": 1, "until": 1800000600}
lines = [
    json.dumps({"max_entries": 2, "records": [record], "logout": None}),
    json.dumps({"max_entries": 2, "records": [dict(record, kind="sub", value="u")], "logout": {"iss": "i", "jti": "j", "until": 1800000100}}),
    json.dumps({"max_entries": 2, "records": [dict(record, value="s3")], "logout": None}),
    "/sync?epoch=e0&since=1",
]
seed("revocation", "object-0", b"\x02" + "\n".join(lines).encode())
seed("revocation", "sync-0", b"\x03" + json.dumps({"epoch": "e", "seq": 2, "full": True, "records": [dict(record, seq=2)]}).encode())

for target, files in sorted(seeds.items()):
    directory = OUT / target
    directory.mkdir(parents=True)
    for name, data in sorted(files.items()):
        (directory / name).write_bytes(data)
        total += 1
print(f"fuzz-seeds: {total} seeds for {len(seeds)} targets in {OUT.relative_to(ROOT) if OUT.is_relative_to(ROOT) else OUT}")
