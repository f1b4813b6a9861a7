"""The FastAPI dependency, the ASGI middleware and `verify_assertion`, through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Security
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from edge_auth import (
    AssertionVerifier,
    EdgeAuth,
    EdgeAuthError,
    EdgeAuthMiddleware,
    Identity,
    verify_assertion,
)

from assertions import ACCESS_TOKEN, AUDIENCE, ISSUER, NOW, PUBLIC, claims, jwks, mint, new_key
from conftest import WAIT_S, FakeClock, JwksServer

ED = new_key("EdDSA")
OTHER = new_key("EdDSA")
ORIGIN = "http://origin.internal"  # where the Worker's fetch lands: not the public URL


def edge(**options: Any) -> EdgeAuth:
    settings: dict[str, Any] = {
        "jwks": jwks(ED),
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "public_url": PUBLIC,
        "clock": lambda: NOW,
    }
    settings.update(options)
    return EdgeAuth(**settings)


def make_app(auth: EdgeAuth) -> tuple[FastAPI, list[str]]:
    calls: list[str] = []
    app = FastAPI()

    # Scopes from the whole tree: the route's, and those of the dependency in between.
    async def customer(identity: Identity = Security(auth, scopes=["orders:read"])) -> Identity:
        return identity

    router = APIRouter()

    @router.get("/orders")
    async def orders(identity: Identity = Security(customer, scopes=["profile"])) -> dict[str, Any]:
        calls.append("orders")
        return identity.model_dump()

    @router.post("/orders")
    async def create(identity: Identity = Security(customer, scopes=["orders:write"])) -> dict[str, Any]:
        calls.append("create")
        return {"sub": identity.sub}

    app.include_router(router)

    @app.get("/admin")
    async def admin(identity: Identity = Depends(auth.require_roles("admin", "ops"))) -> dict[str, Any]:
        calls.append("admin")
        return {"roles": identity.roles}

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"ok": "yes"}

    return app, calls


def call(app: Any, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            return await client.request(method, path, headers=headers or {})

    return asyncio.run(asyncio.wait_for(go(), WAIT_S))


def assertion(**overrides: Any) -> dict[str, str]:
    return {"Edge-Auth-Assertion": mint(ED, claims(**overrides))}


def problem(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"] == f"urn:edge-auth:problem:{body['code']}"
    return body


def test_allowed_call_gets_the_identity() -> None:
    app, calls = make_app(edge())
    headers = {**assertion(), "Authorization": f"Bearer {ACCESS_TOKEN}"}
    response = call(app, "GET", "/orders", headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sub"] == "user-1"
    assert body["issuer"] == "https://idp.test"
    assert body["scopes"] == ["orders:read", "profile"]
    assert body["roles"] == ["viewer"]
    assert body["assertion_id"] == body["claims"]["jti"]
    assert calls == ["orders"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status", "code", "challenge"),
    [
        ("GET", "/orders", {}, 401, "token_missing", "Bearer"),
        ("GET", "/orders", {"Edge-Auth-Assertion": " "}, 401, "token_missing", "Bearer"),
        ("GET", "/orders", {"Edge-Auth-Assertion": "abc"}, 401, "token_malformed",
         'Bearer error="invalid_token", error_description="token_malformed"'),
        ("GET", "/orders", assertion(exp=NOW - 60), 401, "token_expired",
         'Bearer error="invalid_token", error_description="token_expired"'),
        # Replays of a GET /orders assertion: another path, another method.
        ("GET", "/admin", assertion(), 401, "binding_mismatch",
         'Bearer error="invalid_token", error_description="binding_mismatch"'),
        ("POST", "/orders", assertion(), 401, "binding_mismatch",
         'Bearer error="invalid_token", error_description="binding_mismatch"'),
        ("GET", "/orders", {"Edge-Auth-Assertion": mint(OTHER)}, 401, "key_not_found",
         'Bearer error="invalid_token", error_description="key_not_found"'),
        ("GET", "/orders", {"Edge-Auth-Assertion": mint(None)}, 401, "alg_not_allowed",
         'Bearer error="invalid_token", error_description="alg_not_allowed"'),
        ("GET", "/orders", {**assertion(), "Authorization": "Bearer another"}, 401, "binding_mismatch",
         'Bearer error="invalid_token", error_description="binding_mismatch"'),
        # Valid, but a scope of the tree is missing (the router's `orders:read`).
        ("GET", "/orders", assertion(scope="profile"), 403, "insufficient_scope",
         'Bearer error="insufficient_scope", error_description="insufficient_scope", '
         'scope="profile orders:read"'),
        ("POST", "/orders", assertion(htm="POST"), 403, "insufficient_scope",
         'Bearer error="insufficient_scope", error_description="insufficient_scope", '
         'scope="orders:write orders:read"'),
        ("GET", "/admin", assertion(htu=f"{PUBLIC}/admin"), 403, "role_missing",
         'Bearer error="insufficient_scope", error_description="role_missing"'),
    ],
)  # fmt: skip
def test_refusals(
    method: str, path: str, headers: dict[str, str], status: int, code: str, challenge: str
) -> None:
    app, calls = make_app(edge())
    response = call(app, method, path, headers)
    assert response.status_code == status, response.text
    assert response.headers["www-authenticate"] == challenge
    assert problem(response)["code"] == code
    assert calls == []


def test_roles_and_scopes_pass() -> None:
    app, calls = make_app(edge())
    response = call(app, "GET", "/admin", assertion(htu=f"{PUBLIC}/admin", roles=["ops"]))
    assert response.status_code == 200 and response.json() == {"roles": ["ops"]}
    create = assertion(htm="POST", scope="orders:read orders:write")
    assert call(app, "POST", "/orders", create).status_code == 200
    assert calls == ["admin", "create"]


def test_the_first_refusal_is_already_problem_json_and_an_app_handler_wins() -> None:
    from edge_auth import EdgeAuthHTTPException

    auth = edge()
    app, _ = make_app(auth)

    @app.exception_handler(EdgeAuthHTTPException)
    async def mine(request: Request, exc: EdgeAuthHTTPException) -> JSONResponse:
        return JSONResponse({"mine": exc.error.code}, status_code=exc.status_code)

    response = call(app, "GET", "/orders", {})
    assert response.status_code == 401 and response.json() == {"mine": "token_missing"}


def test_two_assertions_are_refused() -> None:
    app, _ = make_app(edge())
    token = mint(ED)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            headers = [("edge-auth-assertion", token), ("edge-auth-assertion", token)]
            return await client.get("/orders", headers=headers)

    response = asyncio.run(go())
    assert response.status_code == 400
    assert problem(response)["code"] == "multiple_tokens"


def test_openapi_shows_the_scheme() -> None:
    app, _ = make_app(edge(header="X-Edge-Assertion"))
    spec = app.openapi()
    scheme = spec["components"]["securitySchemes"]["EdgeAuth"]
    assert scheme["type"] == "apiKey" and scheme["in"] == "header"
    assert scheme["name"] == "X-Edge-Assertion"
    [requirement] = spec["paths"]["/orders"]["get"]["security"]
    assert sorted(requirement["EdgeAuth"]) == ["orders:read", "profile"]
    assert spec["paths"]["/admin"]["get"]["security"] == [{"EdgeAuth": []}]
    assert "security" not in spec["paths"]["/public"]["get"]


def test_custom_header_name() -> None:
    app, _ = make_app(edge(header="X-Edge-Assertion"))
    token = mint(ED)
    assert call(app, "GET", "/orders", {"X-Edge-Assertion": token}).status_code == 200
    assert call(app, "GET", "/orders", {"Edge-Auth-Assertion": token}).status_code == 401


def test_public_url_from_forwarded_headers_only_when_trusted() -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.test"}
    token = mint(ED)
    untrusted, _ = make_app(edge(public_url=None))
    response = call(untrusted, "GET", "/orders", {"Edge-Auth-Assertion": token, **forwarded})
    assert problem(response)["code"] == "binding_mismatch"
    trusted, _ = make_app(edge(public_url=None, trust_forwarded=True))
    assert call(trusted, "GET", "/orders", {"Edge-Auth-Assertion": token, **forwarded}).status_code == 200
    rfc7239 = {"Forwarded": 'for=1.2.3.4;proto=https;host="api.test"'}
    assert call(trusted, "GET", "/orders", {"Edge-Auth-Assertion": token, **rfc7239}).status_code == 200
    # The proxy nearest the app speaks last: a value the client put first is not used.
    spoofed = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.test, evil.test"}
    response = call(trusted, "GET", "/orders", {"Edge-Auth-Assertion": token, **spoofed})
    assert problem(response)["code"] == "binding_mismatch"


def test_require_access_token() -> None:
    app, _ = make_app(edge(require_access_token=True))
    response = call(app, "GET", "/orders", assertion())
    assert problem(response)["code"] == "binding_mismatch"
    headers = {**assertion(), "Authorization": f"Bearer {ACCESS_TOKEN}"}
    assert call(app, "GET", "/orders", headers).status_code == 200


def test_raw_path_is_what_htu_names() -> None:
    # `%25` stays `%25` (the decoded path would read `%`); a non-ASCII path is compared encoded.
    auth = edge()
    app = FastAPI()

    @app.get("/files/{name}")
    async def files(name: str, identity: Identity = Security(auth)) -> dict[str, str]:
        return {"name": name}

    token = mint(ED, claims(htu=f"{PUBLIC}/files/100%25"))
    response = call(app, "GET", "/files/100%25", {"Edge-Auth-Assertion": token})
    assert response.status_code == 200 and response.json() == {"name": "100%"}
    token = mint(ED, claims(htu=f"{PUBLIC}/files/caf%C3%A9"))
    assert call(app, "GET", "/files/caf%C3%A9", {"Edge-Auth-Assertion": token}).status_code == 200


def test_keys_unavailable_is_503_and_the_app_starts(jwks_server: JwksServer) -> None:
    clock = FakeClock()
    jwks_server.document = jwks(ED)
    jwks_server.status = 500
    auth = edge(jwks=None, jwks_url=jwks_server.url, clock=clock, jwks_options={"allow_loopback_http": True})
    app, calls = make_app(auth)
    response = call(app, "GET", "/orders", assertion())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    assert "www-authenticate" not in response.headers
    assert problem(response)["code"] == "keys_unavailable"
    jwks_server.status = 200
    clock.advance(10)
    now = int(clock.now)
    response = call(app, "GET", "/orders", assertion(iat=now, exp=now + 30))
    assert response.status_code == 200
    assert calls == ["orders"]


# ------------------------------------------------------------------------------------ middleware


def starlette_app(verifier: Any) -> Starlette:
    async def orders(request: Request) -> JSONResponse:
        identity: Identity = request.state.edge_auth
        return JSONResponse({"sub": identity.sub, "jti": identity.assertion_id})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/orders", orders), Route("/healthz", health)])
    return EdgeAuthMiddleware(app, verifier=verifier, exempt_paths=["/healthz"])  # type: ignore[return-value]


def test_middleware() -> None:
    verifier = AssertionVerifier(
        jwks=jwks(ED), issuer=ISSUER, audience=AUDIENCE, public_url=PUBLIC, clock=lambda: NOW
    )
    app = starlette_app(verifier)
    response = call(app, "GET", "/orders", assertion())
    assert response.status_code == 200 and response.json()["sub"] == "user-1"
    assert call(app, "GET", "/healthz").status_code == 200
    for headers, status, code in [
        ({}, 401, "token_missing"),
        (assertion(htu=f"{PUBLIC}/healthz"), 401, "binding_mismatch"),
        (assertion(aud="https://other.test"), 401, "audience_mismatch"),
    ]:
        response = call(app, "GET", "/orders", headers)
        assert response.status_code == status
        assert problem(response)["code"] == code
    # An EdgeAuth serves as the verifier too.
    assert call(starlette_app(edge()), "GET", "/orders", assertion()).status_code == 200


def test_middleware_then_dependency_verifies_once() -> None:
    auth = edge()
    app, calls = make_app(auth)
    wrapped = EdgeAuthMiddleware(app, verifier=auth)
    # A valid assertion passes both; the dependency reuses the middleware's identity.
    assert call(wrapped, "GET", "/orders", assertion()).status_code == 200
    assert call(wrapped, "GET", "/orders", {}).status_code == 401
    assert calls == ["orders"]


# ----------------------------------------------------------------------------- verify_assertion


def test_verify_assertion_for_any_framework() -> None:
    verifier = AssertionVerifier(
        jwks=jwks(ED), issuer=ISSUER, audience=AUDIENCE, public_url=PUBLIC, clock=lambda: NOW
    )
    token = mint(ED)

    async def check(headers: Any, method: str, url: str) -> str | None:
        try:
            identity = await verify_assertion(headers, method, url, verifier=verifier)
        except EdgeAuthError as error:
            return error.code
        assert identity.sub == "user-1"
        return None

    bearer = f"Bearer {ACCESS_TOKEN}"
    cases = [
        ({"Edge-Auth-Assertion": token}, "GET", f"{ORIGIN}/orders?x=1", None),
        ({"edge-auth-assertion": token, "Authorization": bearer}, "GET", f"{ORIGIN}/orders", None),
        ([(b"edge-auth-assertion", token.encode())], "GET", f"{ORIGIN}/orders", None),
        ([("Edge-Auth-Assertion", token)], "GET", f"{ORIGIN}/admin", "binding_mismatch"),
        ({"Edge-Auth-Assertion": token}, "PUT", f"{ORIGIN}/orders", "binding_mismatch"),
        ({"Edge-Auth-Assertion": token, "Authorization": "Bearer x"}, "GET", f"{ORIGIN}/orders",
         "binding_mismatch"),
        ({}, "GET", f"{ORIGIN}/orders", "token_missing"),
        (httpx.Headers([("edge-auth-assertion", token), ("edge-auth-assertion", token)]), "GET",
         f"{ORIGIN}/orders", "multiple_tokens"),
    ]  # fmt: skip
    for headers, method, url, expected in cases:
        assert asyncio.run(check(headers, method, url)) == expected, (headers, method, url)

    with pytest.raises(TypeError):
        asyncio.run(verify_assertion({}, "GET", "https://x/", verifier=object()))


def test_refusal_rendering_matches_the_worker() -> None:
    error = EdgeAuthError("audience_mismatch", realm="api")
    assert error.status == 401
    assert error.www_authenticate() == (
        'Bearer realm="api", error="invalid_token", error_description="audience_mismatch"'
    )
    assert json.loads(error.body()) == {
        "type": "urn:edge-auth:problem:audience_mismatch",
        "title": "Unauthorized",
        "status": 401,
        "code": "audience_mismatch",
        "detail": "The token is not meant for this service.",
    }
    assert EdgeAuthError("token_missing", realm="api").www_authenticate() == 'Bearer realm="api"'
    assert "www-authenticate" not in dict(EdgeAuthError("keys_unavailable").headers())


def test_middleware_with_another_verifier_does_not_vouch_for_the_dependency() -> None:
    strict = edge(audience="https://stricter.test")
    app, calls = make_app(strict)
    lenient = AssertionVerifier(
        jwks=jwks(ED), issuer=ISSUER, audience=AUDIENCE, public_url=PUBLIC, clock=lambda: NOW
    )
    wrapped = EdgeAuthMiddleware(app, verifier=lenient)
    response = call(wrapped, "GET", "/orders", assertion())
    assert problem(response)["code"] == "audience_mismatch"
    assert calls == []


def test_middleware_guards_websockets() -> None:
    from starlette.routing import WebSocketRoute
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.state.edge_auth.sub)
        await websocket.close()

    verifier = AssertionVerifier(
        jwks=jwks(ED), issuer=ISSUER, audience=AUDIENCE, public_url=PUBLIC, clock=lambda: NOW
    )
    app = EdgeAuthMiddleware(Starlette(routes=[WebSocketRoute("/ws", echo)]), verifier=verifier)
    with TestClient(app) as client:
        with client.websocket_connect("/ws", headers=assertion(htu=f"{PUBLIC}/ws")) as ws:
            assert ws.receive_text() == "user-1"
        for headers in [{}, assertion()]:  # none; one bound to /orders
            with pytest.raises(WebSocketDisconnect) as closed:
                with client.websocket_connect("/ws", headers=headers):
                    pass
            assert closed.value.code == 1008


def test_a_forwarded_host_cannot_bring_a_path_or_an_unparsable_url() -> None:
    verifier = AssertionVerifier(
        jwks=jwks(ED), issuer=ISSUER, audience=AUDIENCE, trust_forwarded=True, clock=lambda: NOW
    )
    admin = mint(ED, claims(htu=f"{PUBLIC}/admin"))
    for host in ["api.test/admin?", "api.test/admin#", "evil@api.test", "api.test\\admin?"]:
        headers = {"Edge-Auth-Assertion": admin, "X-Forwarded-Host": host, "X-Forwarded-Proto": "https"}
        with pytest.raises(EdgeAuthError) as refused:
            asyncio.run(verify_assertion(headers, "GET", f"{ORIGIN}/orders", verifier=verifier))
        assert refused.value.code == "binding_mismatch", host
    with_public = AssertionVerifier(
        jwks=jwks(ED), issuer=ISSUER, audience=AUDIENCE, public_url=PUBLIC, clock=lambda: NOW
    )
    root = {"Edge-Auth-Assertion": mint(ED, claims(htu=f"{PUBLIC}/"))}
    # With public_url, the received path alone will do.
    assert asyncio.run(verify_assertion(root, "GET", "/?q=1", verifier=with_public)).sub == "user-1"
    for url in ["not a url", "/relative", "//evil.test/", "ftp://origin.internal/", ""]:
        with pytest.raises(EdgeAuthError) as refused:
            asyncio.run(verify_assertion(root, "GET", url, verifier=with_public))
        assert refused.value.code == "binding_mismatch", url


def test_a_host_header_cannot_bring_a_path() -> None:
    # Without public_url and trust_forwarded, the URL is built from Host: a Host carrying a path
    # must not let an assertion for /admin pass on /orders.
    app, calls = make_app(edge(public_url=None))
    token = mint(ED, claims(htu="http://api.test/admin"))
    for host in ["api.test/admin?", "api.test/admin#"]:
        response = call(app, "GET", "/orders", {"Edge-Auth-Assertion": token, "Host": host})
        assert problem(response)["code"] == "binding_mismatch", host
    assert calls == []
