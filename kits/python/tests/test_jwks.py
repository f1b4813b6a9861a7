"""The JWKS cache against a real HTTP server on 127.0.0.1, with a clock the tests move (no sleeps)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from edge_auth import AssertionVerifier, EdgeAuthError, JwksCache, KeySet
from edge_auth._keys import freshness

from assertions import AUDIENCE, ISSUER, PUBLIC, Signer, claims, jwks, mint, new_key
from conftest import WAIT_S, FakeClock, JwksServer

ED = new_key("EdDSA")
ES = new_key("ES256")
NEW = new_key("EdDSA")


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, WAIT_S))


def verifier(url: str, clock: FakeClock, **options: Any) -> AssertionVerifier:
    return AssertionVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_url=url,
        clock=clock,
        jwks_options={"allow_loopback_http": True, **options},
    )


def outcome(v: AssertionVerifier, key: Signer, clock: FakeClock) -> str | None:
    """Verifies a fresh assertion by `key` at the clock's time: `None` (accepted) or the code."""
    now = int(clock.now)
    token = mint(key, claims(iat=now, exp=now + 30))

    async def go() -> str | None:
        try:
            await v.verify(token, method="GET", url=f"{PUBLIC}/orders")
        except EdgeAuthError as error:
            return error.code
        finally:
            # A background refresh the request started, done before the test looks at the server.
            assert isinstance(v.keys, JwksCache)
            await v.keys.settled()
        return None

    return run(go())


def test_cache_control_max_age(jwks_server: JwksServer, clock: FakeClock) -> None:
    jwks_server.document = jwks(ED)
    jwks_server.cache_control = "public, max-age=600"
    v = verifier(jwks_server.url, clock)
    assert jwks_server.hits == 0  # nothing fetched before the first request
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 1
    clock.advance(599)
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 1
    clock.advance(1)
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 2


@pytest.mark.parametrize(
    ("cache_control", "fresh"),
    [
        ("max-age=600", 600),
        ("max-age=5", 300),  # clamped up to min_ttl
        ("max-age=9999999", 86_400),  # clamped down to max_ttl
        ("no-store", 300),
        ("no-cache, max-age=3600", 300),
        ("max-age=600, s-maxage=900", 900),
        ('max-age="700"', 700),
        ("max-age=abc", 300),
        (None, 300),
    ],
)
def test_freshness_clamped(
    jwks_server: JwksServer, clock: FakeClock, cache_control: str | None, fresh: int
) -> None:
    assert freshness(cache_control, 300, 86_400) == fresh
    jwks_server.document = jwks(ED)
    jwks_server.cache_control = cache_control
    v = verifier(jwks_server.url, clock)
    assert outcome(v, ED, clock) is None
    clock.advance(fresh - 1)
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 1
    clock.advance(1)
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 2


def test_unknown_kid_refetches_once_per_cooldown(jwks_server: JwksServer, clock: FakeClock) -> None:
    jwks_server.document = jwks(ED)
    v = verifier(jwks_server.url, clock)
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 1
    # An unknown kid: one refetch, then refused.
    assert outcome(v, NEW, clock) == "key_not_found"
    assert jwks_server.hits == 2
    # Within the cooldown, unknown kids are refused without fetching, even once the key is published.
    jwks_server.document = jwks(ED, NEW)
    clock.advance(29)
    assert outcome(v, NEW, clock) == "key_not_found"
    assert jwks_server.hits == 2
    # Known kids are served from the cache meanwhile.
    assert outcome(v, ED, clock) is None
    # After the cooldown, the new key (a rotation at the edge) is picked up.
    clock.advance(1)
    assert outcome(v, NEW, clock) is None
    assert jwks_server.hits == 3
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 3


def test_last_good_set_kept_while_the_endpoint_fails(jwks_server: JwksServer, clock: FakeClock) -> None:
    jwks_server.document = jwks(ED)
    v = verifier(jwks_server.url, clock)
    assert outcome(v, ED, clock) is None
    jwks_server.status = 500
    clock.advance(600)  # stale: a refetch is attempted, fails, the last good set serves
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 2
    clock.advance(9)  # within the error backoff: no new attempt
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 2
    clock.advance(1)
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 3
    # A malformed document is a failure too: the last good set stays.
    jwks_server.status = 200
    jwks_server.raw_body = b'{"keys": [}'
    clock.advance(10)
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 4
    # stale_if_error (24 h after the set went stale) is the limit: then no keys, 503.
    jwks_server.status = 500
    clock.advance(86_400 - 10)
    assert outcome(v, ED, clock) == "keys_unavailable"


def test_starts_while_unreachable_then_recovers(jwks_server: JwksServer, clock: FakeClock) -> None:
    jwks_server.document = jwks(ED)
    jwks_server.status = 503
    v = verifier(jwks_server.url, clock)
    with pytest.raises(EdgeAuthError) as refused:
        run(v.verify(mint(ED), method="GET", url=f"{PUBLIC}/orders"))
    assert refused.value.code == "keys_unavailable" and refused.value.status == 503
    assert refused.value.retry_after == 10
    assert ("retry-after", "10") in refused.value.headers()
    assert jwks_server.hits == 1
    clock.advance(4)  # within the backoff: refused without a fetch
    assert outcome(v, ED, clock) == "keys_unavailable"
    assert jwks_server.hits == 1
    jwks_server.status = 200
    clock.advance(6)
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 2


def test_connection_refused_is_keys_unavailable(dead_url: str, clock: FakeClock) -> None:
    v = verifier(dead_url, clock)
    assert outcome(v, ED, clock) == "keys_unavailable"


def test_concurrent_requests_share_one_fetch(jwks_server: JwksServer, clock: FakeClock) -> None:
    jwks_server.document = jwks(ED, ES)
    jwks_server.hold()
    v = verifier(jwks_server.url, clock)

    async def many() -> list[Any]:
        tokens = [mint(ED if i % 2 else ES) for i in range(20)]
        tasks = [asyncio.ensure_future(v.verify(t, method="GET", url=f"{PUBLIC}/orders")) for t in tokens]
        # Every task is waiting once the (held) request reaches the server.
        arrived = await asyncio.get_running_loop().run_in_executor(None, jwks_server.arrived.wait, WAIT_S)
        assert arrived
        jwks_server.release()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = run(many())
    assert [r.sub for r in results] == ["user-1"] * 20
    assert jwks_server.hits == 1


def test_a_rotation_under_load_waits_for_the_one_refetch(jwks_server: JwksServer, clock: FakeClock) -> None:
    """The edge switches keys: the requests that arrive with the new kid while the first one's refetch
    runs wait for it (the core's `KidRefetch::Wait`), none is refused; still one fetch."""
    jwks_server.document = jwks(ED)
    v = verifier(jwks_server.url, clock)
    assert outcome(v, ED, clock) is None
    jwks_server.document = jwks(ED, NEW)
    jwks_server.arrived.clear()
    jwks_server.hold()

    async def rotation() -> list[Any]:
        now = int(clock.now)
        tokens = [mint(NEW, claims(iat=now, exp=now + 30)) for _ in range(6)]
        tasks = [asyncio.ensure_future(v.verify(t, method="GET", url=f"{PUBLIC}/orders")) for t in tokens]
        arrived = await asyncio.get_running_loop().run_in_executor(None, jwks_server.arrived.wait, WAIT_S)
        assert arrived
        await asyncio.sleep(0)  # every task has looked at the set and found the kid missing
        jwks_server.release()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = run(rotation())
    assert [getattr(r, "sub", r) for r in results] == ["user-1"] * 6
    assert jwks_server.hits == 2


def test_redirects_are_not_followed(jwks_server: JwksServer, clock: FakeClock) -> None:
    jwks_server.document = jwks(ED)
    jwks_server.status = 302
    jwks_server.extra_headers = {"location": jwks_server.url}
    v = verifier(jwks_server.url, clock)
    assert outcome(v, ED, clock) == "keys_unavailable"
    assert jwks_server.hits == 1


def test_oversized_document_refused(jwks_server: JwksServer, clock: FakeClock) -> None:
    jwks_server.document = {**jwks(ED), "padding": "x" * 2000}
    v = verifier(jwks_server.url, clock, max_bytes=1000)
    assert outcome(v, ED, clock) == "keys_unavailable"
    v = verifier(jwks_server.url, clock, max_bytes=4000)
    assert outcome(v, ED, clock) is None


def test_url_rule() -> None:
    JwksCache("https://edge.example/.well-known/edge-auth/jwks.json")
    for url, flag in [
        ("http://edge.example/jwks.json", True),
        ("http://127.0.0.1:8787/jwks.json", False),
        ("ftp://edge.example/jwks.json", True),
        ("/jwks.json", True),
    ]:
        with pytest.raises(ValueError):
            JwksCache(url, allow_loopback_http=flag)
    for url in ["http://127.0.0.1:8787/x", "http://localhost/x", "http://[::1]:80/x"]:
        JwksCache(url, allow_loopback_http=True)


def test_key_set_keeps_only_eddsa_and_es256() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from assertions import b64u

    rsa_n = (1 << 2047) | 0x10001  # refused for its type: no real modulus needed
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_numbers()
    bad = [
        {"kty": "RSA", "alg": "RS256", "n": b64u(rsa_n.to_bytes(256, "big")), "e": "AQAB"},
        {"kty": "oct", "alg": "HS256", "k": b64u(b"k" * 32)},
        ED.private_jwk,  # private material
        {**ED.public_jwk, "alg": "ES256"},  # alg disagrees with the key type
        {**ED.public_jwk, "use": "enc"},
        {**ED.public_jwk, "key_ops": ["encrypt"]},
        {**ES.public_jwk, "crv": "P-384", "alg": None},
        {"kty": "EC", "crv": "P-384", "x": b64u(p384.x.to_bytes(48, "big")),
         "y": b64u(p384.y.to_bytes(48, "big"))},
        {**ES.public_jwk, "y": ES.public_jwk["x"]},  # not on the curve
        {"kty": "OKP", "crv": "Ed448", "x": b64u(b"x" * 57)},
        {**ED.public_jwk, "kid": 7},
        "not an object",
    ]  # fmt: skip
    bad = [{k: v for k, v in jwk.items() if v is not None} if isinstance(jwk, dict) else jwk for jwk in bad]
    with pytest.raises(ValueError):
        KeySet.from_jwks({"keys": bad})
    keys = KeySet.from_jwks(json.dumps({"keys": [*bad, ED.public_jwk, ES.public_jwk]}))
    assert [(k.kid, k.alg) for k in keys.keys] == [(ED.kid, "EdDSA"), (ES.kid, "ES256")]
    for document in ['{"keys": {}}', "[]", '{"keys": [], "keys": []}']:
        with pytest.raises(ValueError):
            KeySet.from_jwks(document)


def test_prefetch_never_raises(jwks_server: JwksServer, clock: FakeClock) -> None:
    jwks_server.document = jwks(ED)
    jwks_server.status = 500
    v = verifier(jwks_server.url, clock)
    assert run(v.prefetch()) is False
    jwks_server.status = 200
    assert run(v.prefetch()) is True
    assert jwks_server.hits == 2
    assert outcome(v, ED, clock) is None
    assert jwks_server.hits == 2


def test_stale_keys_serve_while_the_refresh_hangs(jwks_server: JwksServer, clock: FakeClock) -> None:
    jwks_server.document = jwks(ED)
    v = verifier(jwks_server.url, clock)
    assert outcome(v, ED, clock) is None
    jwks_server.document = jwks(ED, NEW)
    jwks_server.hold()
    clock.advance(600)

    async def go() -> None:
        assert isinstance(v.keys, JwksCache)
        # Stale: the request is answered from the old set while the refresh waits on the server.
        now = int(clock.now)
        await v.verify(mint(ED, claims(iat=now, exp=now + 30)), method="GET", url=f"{PUBLIC}/orders")
        arrived = await asyncio.get_running_loop().run_in_executor(None, jwks_server.arrived.wait, WAIT_S)
        assert arrived
        assert v.keys._keys is not None and not v.keys._keys.has_kid(NEW.kid)  # not refreshed yet
        jwks_server.release()
        await v.keys.settled()

    run(go())
    assert jwks_server.hits == 2
    clock.advance(1)
    assert outcome(v, NEW, clock) is None  # the refreshed set, no further fetch
    assert jwks_server.hits == 2
