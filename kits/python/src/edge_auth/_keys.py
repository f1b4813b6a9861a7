"""The assertion keys: loading a JWKS (EdDSA and ES256 only, the algorithm from the key), the Worker's
JWKS fetched over HTTP and cached, and the HS256 shared-secret key.

The cache follows the core's remote-key rules (`crates/core/src/remote.rs`, `RemoteSettings`):
freshness from `Cache-Control: max-age` clamped to [`min_ttl`, `max_ttl`] (`no-store`/`no-cache` count
as the minimum), one refetch for an unknown `kid` per `kid_cooldown`, the last good set kept while the
endpoint fails (up to `stale_if_error` after it went stale), no new attempt within `error_backoff` of a
failure, one fetch in flight at a time (concurrent callers share it), a stale but usable set served while
it is refreshed in the background, https only unless the URL is
loopback and `allow_loopback_http` is set, redirects not followed, documents over `max_bytes` refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm

from ._errors import EdgeAuthError
from ._url import split_url

log = logging.getLogger("edge_auth")

#: The algorithms a published assertion key may carry (an HS256 key is a secret, never published).
JWKS_ALGORITHMS = frozenset({"EdDSA", "ES256"})
#: Without a `kid`, how many keys serving the algorithm may be tried (the core's `max_untargeted_keys`).
MAX_UNTARGETED_KEYS = 4
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise _Duplicate(name)
        out[name] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def strict_json(data: bytes | str) -> Any:
    """JSON as the core reads it: duplicate members refused at every depth, no NaN/Infinity."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return _DECODER.decode(text)


@dataclass(frozen=True)
class Key:
    """One verification key: its `kid`, the one algorithm it verifies, and PyJWT's prepared key."""

    kid: str | None
    alg: str
    key: Any


def _jwk_algorithm(jwk: dict[str, Any]) -> str | None:
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        derived = "EdDSA"
    elif kty == "EC" and crv == "P-256":
        derived = "ES256"
    else:
        return None
    declared = jwk.get("alg")
    if declared is not None and declared != derived:
        return None
    return derived


def load_jwk(jwk: Any) -> Key | None:
    """A verification key from one JWK, or `None` if this kit must not use it (not EdDSA/Ed25519 or
    ES256/P-256, `alg` disagreeing with the key type, private material, `use` other than `sig`, a
    `key_ops` without `verify`, a point not on the curve)."""
    if not isinstance(jwk, dict):
        return None
    if any(member in jwk for member in _PRIVATE_MEMBERS):
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return None
    kid = jwk.get("kid")
    if kid is not None and not isinstance(kid, str):
        return None
    alg = _jwk_algorithm(jwk)
    if alg is None:
        return None
    try:
        loader = OKPAlgorithm if alg == "EdDSA" else ECAlgorithm
        key = loader.from_jwk(jwk)
    except Exception:  # noqa: BLE001 - any refusal of PyJWT/cryptography means "not a usable key"
        return None
    return Key(kid=kid, alg=alg, key=key)


@dataclass(frozen=True)
class KeySet:
    keys: tuple[Key, ...]

    @classmethod
    def from_jwks(cls, document: Any) -> KeySet:
        """The usable keys of a JWKS (a dict, or its JSON text). Raises `ValueError` when the document
        is not a JWKS or holds no usable key."""
        if isinstance(document, (bytes, str)):
            document = strict_json(document)
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWK Set (an object with a `keys` array)")
        keys = tuple(k for k in (load_jwk(jwk) for jwk in document["keys"]) if k is not None)
        if not keys:
            raise ValueError("the JWK Set holds no EdDSA (Ed25519) or ES256 (P-256) verification key")
        return cls(keys)

    def has_kid(self, kid: str) -> bool:
        return any(key.kid == kid for key in self.keys)

    def select(self, kid: str | None, alg: str) -> list[Key]:
        """The keys to try, as the core's `KeySet::select` picks them. Raises `key_not_found` or
        `key_ambiguous`."""
        if kid is not None:
            named = [key for key in self.keys if key.kid == kid]
            if named:
                serving = [key for key in named if key.alg == alg]
                if not serving:
                    raise EdgeAuthError("key_not_found")
                return serving
        candidates = [key for key in self.keys if key.alg == alg and (kid is None or key.kid is None)]
        if not candidates:
            raise EdgeAuthError("key_not_found")
        if len(candidates) > MAX_UNTARGETED_KEYS:
            raise EdgeAuthError("key_ambiguous")
        return candidates


def hs256_key(secret: str | bytes) -> KeySet:
    """The Worker's HS256 assertion key (a shared secret, at least 32 bytes as the core requires)."""
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    if len(raw) < 32:
        raise ValueError("an HS256 secret must be at least 32 bytes")
    return KeySet((Key(kid=None, alg="HS256", key=HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(raw)),))


def _directives(header: str) -> list[tuple[str, str | None]]:
    out = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        out.append((name.strip().lower(), value.strip().strip('"') if value else None))
    return out


def freshness(cache_control: str | None, min_ttl: int, max_ttl: int) -> int:
    """Seconds a fetched set stays fresh (the core's `RemoteSettings::freshness`)."""
    asked: int | None = None
    if cache_control:
        directives = _directives(cache_control)
        if any(name in ("no-store", "no-cache") for name, _ in directives):
            asked = min_ttl
        else:
            max_age = s_maxage = None
            for name, value in directives:
                if value is not None and value.isdigit():
                    if name == "max-age" and max_age is None:
                        max_age = int(value)
                    elif name == "s-maxage" and s_maxage is None:
                        s_maxage = int(value)
            asked = s_maxage if s_maxage is not None else max_age
    if asked is None:
        asked = min_ttl
    return max(min_ttl, min(asked, max(max_ttl, min_ttl)))


def _is_loopback(host: str) -> bool:
    host = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    if host == "localhost" or host == "[::1]":
        return True
    octets = host.split(".")
    return len(octets) == 4 and octets[0] == "127" and all(o.isdigit() for o in octets)


class StaticKeys:
    """A fixed key set (a JWKS given as data, or an HS256 secret)."""

    def __init__(self, keys: KeySet) -> None:
        self._keys = keys

    async def key_set(self, kid: str | None) -> KeySet:
        return self._keys


class JwksCache:
    """The Worker's JWKS (`/.well-known/edge-auth/jwks.json`), fetched with httpx and cached.

    Nothing is fetched at construction: an app starts while the endpoint is down. A request that finds
    no key set at all (never loaded, or stale beyond `stale_if_error`) is refused with
    `503 keys_unavailable` and `Retry-After`, as the Worker answers when it has no keys. `clock`
    (seconds, default `time.time`) is what every freshness, cooldown and backoff rule reads.
    """

    def __init__(
        self,
        url: str,
        *,
        min_ttl: int = 300,
        max_ttl: int = 86_400,
        kid_cooldown: int = 30,
        stale_if_error: int = 86_400,
        error_backoff: int = 10,
        timeout: float = 5.0,
        max_bytes: int = 256 * 1024,
        allow_loopback_http: bool = False,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = split_url(url)
        if parts is None:
            raise ValueError("jwks_url must be an absolute http(s) URL")
        scheme, authority, _ = parts
        if scheme != "https" and not (allow_loopback_http and _is_loopback(authority)):
            raise ValueError(
                "jwks_url must be https (http only on a loopback host, with allow_loopback_http=True)"
            )
        self.url = url
        self.min_ttl, self.max_ttl = min_ttl, max_ttl
        self.kid_cooldown, self.stale_if_error = kid_cooldown, stale_if_error
        self.error_backoff, self.timeout, self.max_bytes = error_backoff, timeout, max_bytes
        self._clock = clock
        self._transport = transport
        # TLS settings are built once (loading the CA bundle takes a while), off the event loop; an
        # `http://` URL (loopback only) has no TLS at all.
        self._ssl: ssl.SSLContext | bool | None = ssl_context if scheme == "https" else False
        self._keys: KeySet | None = None
        self._fresh_until = -math.inf
        self._usable_until = -math.inf
        self._next_attempt = -math.inf
        self._kid_refetch_at = -math.inf
        self._flight: tuple[asyncio.AbstractEventLoop, asyncio.Task[None]] | None = None
        #: Fetch attempts so far (for tests and metrics).
        self.fetches = 0

    async def key_set(self, kid: str | None) -> KeySet:
        """The current keys for a token naming `kid`; fetches when stale, or once per cooldown when
        `kid` is unknown. Raises `keys_unavailable` when there is no usable set."""
        now = self._clock()
        fetched = False
        if (self._keys is None or now >= self._fresh_until) and now >= self._next_attempt:
            if self._keys is not None and now < self._usable_until:
                # Stale but usable: served now, refreshed in the background (stale-while-revalidate),
                # so a slow or hanging endpoint delays no request.
                self._start_refresh()
            else:
                await self.refresh()
                fetched = True
        now = self._clock()
        keys = self._keys
        if keys is None or now >= self._usable_until:
            raise EdgeAuthError("keys_unavailable", retry_after=self.retry_after())
        if kid is not None and not fetched and not keys.has_kid(kid):
            if self._in_flight():
                # Another request's refetch (a rotation: its other requests arrive together) or a
                # background refresh may bring the key: wait for it, as the core's `KidRefetch::Wait`.
                await self.settled()
                keys = self._keys or keys
            elif now >= self._kid_refetch_at and now >= self._next_attempt:
                self._kid_refetch_at = now + self.kid_cooldown
                await self.refresh()
                keys = self._keys or keys
        return keys

    def _in_flight(self) -> bool:
        flight = self._flight
        return flight is not None and flight[0] is asyncio.get_running_loop() and not flight[1].done()

    def retry_after(self) -> int:
        """Seconds until the next fetch attempt may happen (at least 1)."""
        return max(1, math.ceil(self._next_attempt - self._clock()))

    def _start_refresh(self) -> asyncio.Task[None]:
        """The fetch in flight on this event loop, started if there is none (one at a time)."""
        loop = asyncio.get_running_loop()
        flight = self._flight
        if flight is None or flight[0] is not loop or flight[1].done():
            flight = (loop, loop.create_task(self._fetch()))
            self._flight = flight  # also keeps a reference to the task while it runs
        return flight[1]

    async def refresh(self) -> bool:
        """Fetches now (sharing a fetch already in flight); `True` if a set is loaded afterwards.
        Never raises: a failure keeps the last good set and starts the backoff."""
        # Shielded: a cancelled request does not cancel the fetch other requests wait for.
        await asyncio.shield(self._start_refresh())
        return self._keys is not None

    async def settled(self) -> None:
        """Waits for a fetch in flight on this event loop (a background refresh), if any."""
        flight = self._flight
        if flight is not None and flight[0] is asyncio.get_running_loop() and not flight[1].done():
            await asyncio.shield(flight[1])

    async def _fetch(self) -> None:
        self.fetches += 1
        try:
            body, cache_control = await asyncio.wait_for(self._get(), timeout=self.timeout * 2)
            keys = KeySet.from_jwks(body)
        except Exception as error:  # noqa: BLE001 - any failure keeps the last good set
            self._next_attempt = self._clock() + self.error_backoff
            log.warning(
                "edge_auth: JWKS fetch failed (%s); %s",
                type(error).__name__,
                "keeping the last good set" if self._keys else "no keys yet",
            )
            return
        now = self._clock()
        self._keys = keys
        self._fresh_until = now + freshness(cache_control, self.min_ttl, self.max_ttl)
        self._usable_until = self._fresh_until + self.stale_if_error
        self._next_attempt = -math.inf

    async def _get(self) -> tuple[bytes, str | None]:
        if self._ssl is None:
            self._ssl = await asyncio.to_thread(httpx.create_ssl_context)
        async with httpx.AsyncClient(
            timeout=self.timeout, follow_redirects=False, transport=self._transport, verify=self._ssl
        ) as client:
            async with client.stream("GET", self.url, headers={"accept": "application/json"}) as r:
                if r.status_code != 200:
                    raise RuntimeError(f"status {r.status_code}")
                body = bytearray()
                async for chunk in r.aiter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise RuntimeError("JWKS larger than max_bytes")
                return bytes(body), r.headers.get("cache-control")
