"""The assertion verifier: framework-free, async (key fetches never block the event loop).

The checks and their order are the core's (`crates/core/src/assertion.rs`, `AssertionVerifier`), so a
refusal carries the code `edge-auth verify-assertion` gives: structure and header rules (size, compact
form, strict base64url and JSON, embedded keys, `alg: none`, `crit`, `b64`, nested JWTs) → issuer by
exact `iss` → algorithm and key selection (the key's own algorithm; JWKS keys are EdDSA or ES256 only)
→ the signature (PyJWT's algorithm for that key) → `typ: edge-auth+jwt` → the claims (`exp`, `nbf`,
`iat` with the leeway, `aud`, then `iat`/`jti`/`htm`/`htu`/`ath` required) → the binding (`htm`,
`htu`, `ath`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from jwt.algorithms import get_default_algorithms
from pydantic import BaseModel, ConfigDict

from ._errors import EdgeAuthError
from ._keys import JWKS_ALGORITHMS, JwksCache, KeySet, StaticKeys, _Duplicate, hs256_key, strict_json
from ._url import htu, origin_of, split_url

#: The `typ` header of every assertion.
ASSERTION_TYP = "edge-auth+jwt"
#: The core's `DEFAULT_ASSERTION_LEEWAY` (seconds).
DEFAULT_LEEWAY = 10
#: The core's default `max_token_bytes`.
MAX_TOKEN_BYTES = 8 * 1024
_REQUIRED = ("iat", "jti", "htm", "htu", "ath")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_AUTHORITY = re.compile(r"^[A-Za-z0-9.\-_~!$&'()*+,;=:\[\]]+$")
_ALGORITHMS = get_default_algorithms()
_DATE_LIMIT = 4_611_686_018_427_387_904  # 2^62, as the core
_I64_MAX = 2**63 - 1

HeaderInput = Mapping[str, str] | Iterable[tuple[Any, Any]]


class Identity(BaseModel):
    """Who the edge says called: from a verified assertion."""

    model_config = ConfigDict(frozen=True)

    sub: str | None
    #: The caller token's original issuer (`src_iss`).
    issuer: str | None
    scopes: list[str]
    roles: list[str]
    #: Every claim of the assertion.
    claims: dict[str, Any]
    #: The assertion's `jti`.
    assertion_id: str
    #: The caller's OIDC session (`sid`), when its token had one: the edge ends it on a back-channel
    #: logout; an origin keying its own session state by it can end that too.
    session_id: str | None = None


class KeySource(Protocol):
    async def key_set(self, kid: str | None) -> KeySet: ...


def ath(access_token: str) -> str:
    """`ath`: base64url SHA-256 of the access token (RFC 9449 §4.2)."""
    return _b64encode(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(part: str) -> bytes:
    """Strict base64url: no padding, nothing outside the alphabet, no non-zero trailing bits."""
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise EdgeAuthError("token_malformed")
    try:
        data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise EdgeAuthError("token_malformed") from None
    if _b64encode(data) != part:
        raise EdgeAuthError("token_malformed")
    return data


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = strict_json(data.decode("utf-8"))
    except (_Duplicate, ValueError, UnicodeDecodeError, RecursionError):
        raise EdgeAuthError("token_malformed") from None
    if not isinstance(value, dict):
        raise EdgeAuthError("token_malformed")
    return value


def _verifies(algorithm: Any, signing_input: bytes, key: Any, signature: bytes) -> bool:
    try:
        return bool(algorithm.verify(signing_input, key, signature))
    except Exception:  # noqa: BLE001 - a signature PyJWT cannot even check does not verify
        return False


def _media_type_eq(value: str, expected: str) -> bool:
    def strip(s: str) -> str:
        return s[12:] if s[:12].lower() == "application/" else s

    return strip(value).lower() == strip(expected).lower()


def _check_header(header: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """The core's header rules (`token.rs`, `Header::from_object`); `(alg, kid, typ)`."""
    for member in ("jwk", "jku", "x5u", "x5c"):
        if member in header:
            raise EdgeAuthError("embedded_key_refused")
    if "enc" in header:
        raise EdgeAuthError("token_unsupported")
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise EdgeAuthError("token_malformed")
    if alg.lower() == "none":
        raise EdgeAuthError("alg_not_allowed")
    if "b64" in header:
        if header["b64"] is False:
            raise EdgeAuthError("token_unsupported")
        if header["b64"] is not True:
            raise EdgeAuthError("token_malformed")
    if "crit" in header:
        crit = header["crit"]
        if isinstance(crit, list) and crit and isinstance(crit[0], str):
            raise EdgeAuthError("crit_unsupported")
        raise EdgeAuthError("token_malformed")
    strings = {}
    for member in ("kid", "typ", "cty"):
        value = header.get(member)
        if value is not None and not isinstance(value, str):
            raise EdgeAuthError("token_malformed")
        strings[member] = value
    if strings["cty"] is not None and _media_type_eq(strings["cty"], "jwt"):
        raise EdgeAuthError("token_unsupported")
    return alg, strings["kid"], strings["typ"]


def _date(claims: dict[str, Any], name: str, round_up: bool) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EdgeAuthError("claim_invalid")
    if isinstance(value, int):
        if value > _I64_MAX or value < -_I64_MAX - 1:
            raise EdgeAuthError("claim_invalid")
        return value
    if not math.isfinite(value):
        raise EdgeAuthError("claim_invalid")
    rounded = math.ceil(value) if round_up else math.floor(value)
    if abs(rounded) >= _DATE_LIMIT:
        raise EdgeAuthError("claim_invalid")
    return rounded


def _check_claims(claims: dict[str, Any], audience: str, now: int, leeway: int) -> None:
    """The core's `ClaimRules::check` for an assertion."""
    aud = claims.get("aud")
    if aud is None:
        auds: list[str] = []
    elif isinstance(aud, str):
        auds = [aud]
    elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        auds = aud
    else:
        raise EdgeAuthError("claim_invalid")
    for name in ("iss", "sub", "jti"):
        if claims.get(name) is not None and not isinstance(claims[name], str):
            raise EdgeAuthError("claim_invalid")
    exp = _date(claims, "exp", round_up=False)
    nbf = _date(claims, "nbf", round_up=True)
    iat = _date(claims, "iat", round_up=True)
    if exp is None:
        raise EdgeAuthError("claim_missing")
    if now >= exp + leeway:
        raise EdgeAuthError("token_expired")
    if nbf is not None and now + leeway < nbf:
        raise EdgeAuthError("token_not_yet_valid")
    if iat is not None and iat > now + leeway:
        raise EdgeAuthError("token_issued_in_future")
    if audience not in auds:
        raise EdgeAuthError("audience_mismatch")
    for name in _REQUIRED:
        if claims.get(name) is None:
            raise EdgeAuthError("claim_missing")


def _scopes(claims: dict[str, Any]) -> list[str]:
    scope = claims.get("scope")
    items = scope.split(" ") if isinstance(scope, str) else []
    return list(dict.fromkeys(s for s in items if s))


def _roles(claims: dict[str, Any]) -> list[str]:
    roles = claims.get("roles")
    items = roles if isinstance(roles, list) else []
    return list(dict.fromkeys(r for r in items if isinstance(r, str) and r))


def _header_values(headers: HeaderInput, name: str) -> list[str]:
    """Every value of header `name` (case-insensitive), from a mapping, a Starlette/Werkzeug-style
    multi-dict (`getlist`/`get_all`) or `(name, value)` pairs (str or bytes, as ASGI gives them)."""
    name = name.lower()
    for multi in ("getlist", "get_list", "get_all"):
        getter = getattr(headers, multi, None)
        if callable(getter):
            return [str(v) for v in getter(name)]
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for key, value in pairs:
        key = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if key.lower() == name:
            out.append(value.decode("latin-1") if isinstance(value, bytes) else str(value))
    return out


def _forwarded(headers: HeaderInput) -> tuple[str | None, str | None]:
    """`(proto, host)` from the proxy nearest this app: the last `Forwarded` element, else the last
    `X-Forwarded-Proto`/`X-Forwarded-Host` values."""
    proto = host = None
    forwarded = ",".join(_header_values(headers, "forwarded"))
    if forwarded.strip():
        last = forwarded.split(",")[-1]
        for pair in last.split(";"):
            key, _, value = pair.strip().partition("=")
            value = value.strip().strip('"')
            if key.lower() == "proto" and value:
                proto = value
            elif key.lower() == "host" and value:
                host = value
        return proto, host
    protos = ",".join(_header_values(headers, "x-forwarded-proto")).split(",")
    hosts = ",".join(_header_values(headers, "x-forwarded-host")).split(",")
    return (protos[-1].strip() or None), (hosts[-1].strip() or None)


class AssertionVerifier:
    """Verifies the edge's assertion on requests an origin receives.

    Keys: exactly one of `jwks_url` (the Worker's JWKS, fetched and cached: :class:`JwksCache`, whose
    settings `jwks_options` passes on), `jwks` (a JWKS as data) or `secret` (the Worker's HS256
    assertion key; then only HS256 is accepted, and with a JWKS never HS*).

    The binding: `htm` must be the request method; `htu` the request's public URL, which is
    `public_url` (scheme and host) + the received path, or — without `public_url` — the URL the
    request arrived at, with the scheme and host of `Forwarded`/`X-Forwarded-*` only when
    `trust_forwarded=True`. `ath` is checked whenever the request carries `Authorization: Bearer …`
    (the edge forwards the token), and a request without one is refused when
    `require_access_token=True`.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks: Mapping[str, Any] | str | None = None,
        secret: str | bytes | None = None,
        public_url: str | None = None,
        header: str = "Edge-Auth-Assertion",
        leeway: int = DEFAULT_LEEWAY,
        trust_forwarded: bool = False,
        require_access_token: bool = False,
        realm: str | None = None,
        clock: Callable[[], float] = time.time,
        jwks_options: Mapping[str, Any] | None = None,
        key_source: KeySource | None = None,
    ) -> None:
        given = [x is not None for x in (jwks_url, jwks, secret, key_source)]
        if sum(given) != 1:
            raise ValueError("give exactly one of jwks_url=, jwks= or secret=")
        if not issuer or not audience:
            raise ValueError("issuer and audience are required")
        if leeway < 0:
            raise ValueError("leeway must be >= 0")
        self.issuer, self.audience, self.leeway = issuer, audience, int(leeway)
        self.header, self.realm = header, realm
        self.trust_forwarded = trust_forwarded
        self.require_access_token = require_access_token
        self.clock = clock
        self.algorithms = JWKS_ALGORITHMS
        self.keys: KeySource
        if jwks_url is not None:
            options = {"clock": clock, **dict(jwks_options or {})}
            self.keys = JwksCache(jwks_url, **options)
        elif jwks is not None:
            self.keys = StaticKeys(KeySet.from_jwks(jwks if isinstance(jwks, str) else dict(jwks)))
        elif secret is not None:
            self.keys = StaticKeys(hs256_key(secret))
            self.algorithms = frozenset({"HS256"})
        elif key_source is not None:
            self.keys = key_source
        self.public_origin: str | None = None
        if public_url is not None:
            parts = split_url(public_url)
            if parts is None or parts[2] not in ("", "/"):
                raise ValueError("public_url must be an absolute http(s) URL without a path")
            self.public_origin = origin_of(public_url)

    async def prefetch(self) -> bool:
        """Loads the JWKS now (e.g. in an app's lifespan); `True` if keys are loaded. Never raises:
        an app may start while the JWKS is unreachable (requests then get `503 keys_unavailable`
        until a fetch succeeds)."""
        refresh = getattr(self.keys, "refresh", None)
        if refresh is None:
            return True
        return bool(await refresh())

    # --------------------------------------------------------------------------------- the token

    async def verify(
        self,
        token: str,
        *,
        method: str,
        url: str,
        access_token: str | None = None,
        now: int | None = None,
    ) -> Identity:
        """Verifies `token` for a request `method url` (`url` absolute: the public URL the assertion
        must name; query ignored). Raises :class:`EdgeAuthError`."""
        if len(token) > MAX_TOKEN_BYTES:
            raise EdgeAuthError("token_too_large", realm=self.realm)
        try:
            header, claims, alg, kid, typ, signing_input, signature = self._parse(token)
            keys = await self.keys.key_set(kid)
            candidates = keys.select(kid, alg)
            algorithm = _ALGORITHMS[alg]
            if not any(_verifies(algorithm, signing_input, k.key, signature) for k in candidates):
                raise EdgeAuthError("signature_invalid")
            if typ is None or not _media_type_eq(typ, ASSERTION_TYP):
                raise EdgeAuthError("typ_mismatch")
            when = int(math.floor(self.clock())) if now is None else now
            _check_claims(claims, self.audience, when, self.leeway)
            self._check_binding(claims, method, url, access_token)
        except EdgeAuthError as error:
            error.realm = self.realm
            raise
        return Identity(
            sub=claims.get("sub") if isinstance(claims.get("sub"), str) else None,
            issuer=claims.get("src_iss") if isinstance(claims.get("src_iss"), str) else None,
            scopes=_scopes(claims),
            roles=_roles(claims),
            claims=claims,
            assertion_id=claims["jti"],
            session_id=claims.get("sid") if isinstance(claims.get("sid"), str) else None,
        )

    def _parse(
        self, token: str
    ) -> tuple[dict[str, Any], dict[str, Any], str, str | None, str | None, bytes, bytes]:
        if not token.isascii():
            raise EdgeAuthError("token_malformed")
        if token.startswith("{"):
            raise EdgeAuthError("token_unsupported")  # JWS JSON serialization
        parts = token.split(".")
        if len(parts) == 5:
            raise EdgeAuthError("token_unsupported")  # JWE
        if len(parts) != 3:
            raise EdgeAuthError("token_malformed")
        header = _json_object(_b64decode(parts[0]))
        payload = _b64decode(parts[1])
        signature = _b64decode(parts[2])
        alg, kid, typ = _check_header(header)
        claims = _json_object(payload)
        iss = claims.get("iss")
        if iss is not None and not isinstance(iss, str):
            raise EdgeAuthError("claim_invalid")
        if iss != self.issuer:
            raise EdgeAuthError("issuer_unknown")
        if alg not in self.algorithms:
            raise EdgeAuthError("alg_not_allowed")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        return header, claims, alg, kid, typ, signing_input, signature

    def _check_binding(self, claims: dict[str, Any], method: str, url: str, access_token: str | None) -> None:
        if claims.get("htm") != method:
            raise EdgeAuthError("binding_mismatch")
        expected = htu(url)
        claimed = claims.get("htu")
        # The Worker writes `htu` in the normal form already: an equal string needs no second parse.
        if (
            expected is None
            or not isinstance(claimed, str)
            or (claimed != expected and htu(claimed) != expected)
        ):
            raise EdgeAuthError("binding_mismatch")
        if access_token is None:
            if self.require_access_token:
                raise EdgeAuthError("binding_mismatch")
            return
        claimed_ath = claims.get("ath")
        if not isinstance(claimed_ath, str) or not hmac.compare_digest(
            claimed_ath.encode("utf-8", "replace"), ath(access_token).encode()
        ):
            raise EdgeAuthError("binding_mismatch")

    # ------------------------------------------------------------------------------- the request

    def public_url_for(self, headers: HeaderInput, url: str) -> str:
        """The public URL a request received at `url` (absolute) was made to."""
        if self.public_origin is not None and url.startswith("/") and not url.startswith("//"):
            # Only the received path (and maybe a query): what a framework's raw path gives.
            return self.public_origin + url
        parts = split_url(url)
        if parts is None:
            return url  # not an http(s) URL: no htu, so no assertion matches it
        path = parts[2]
        if self.public_origin is not None:
            return self.public_origin + path
        if self.trust_forwarded:
            proto, host = _forwarded(headers)
            if proto is not None and proto.lower() not in ("http", "https"):
                return ""
            if host is not None and not _AUTHORITY.match(host):
                return ""  # a host that would bring its own path, query or userinfo: matches nothing
            return f"{(proto or parts[0]).lower()}://{host or parts[1]}{path}"
        return url

    async def verify_request(
        self, headers: HeaderInput, method: str, url: str, *, now: int | None = None
    ) -> Identity:
        """Finds the assertion in `headers` and verifies it for `method url`: the URL the request
        arrived at (absolute), or with `public_url` set just its raw path (`/orders?page=2`), which
        is safer where a framework builds the absolute URL from an unchecked `Host` header. Raises
        :class:`EdgeAuthError`."""
        values = [v.strip() for v in _header_values(headers, self.header)]
        values = [v for v in values if v]
        if not values:
            raise EdgeAuthError("token_missing", realm=self.realm)
        if len(values) > 1:
            raise EdgeAuthError("multiple_tokens", realm=self.realm)
        access_token = None
        authorization = _header_values(headers, "authorization")
        if len(authorization) == 1:
            scheme, _, credentials = authorization[0].strip().partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                access_token = credentials.strip()
        return await self.verify(
            values[0],
            method=method,
            url=self.public_url_for(headers, url),
            access_token=access_token,
            now=now,
        )


async def verify_assertion(
    headers: HeaderInput,
    method: str,
    url: str,
    *,
    verifier: AssertionVerifier | Any,
) -> Identity:
    """Verifies the assertion of one request, for any framework: `headers` as the framework gives
    them, `method` as received, `url` the absolute URL the request arrived at. `verifier` is an
    :class:`AssertionVerifier` or an `EdgeAuth`. Returns the :class:`Identity`; raises
    :class:`EdgeAuthError` (`.status`, `.headers()`, `.body()` render the refusal)."""
    target = getattr(verifier, "verifier", verifier)
    if not isinstance(target, AssertionVerifier):
        raise TypeError("verifier must be an AssertionVerifier or an EdgeAuth")
    return await target.verify_request(headers, method, url)
