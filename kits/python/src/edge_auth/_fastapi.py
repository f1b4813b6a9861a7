"""`EdgeAuth`: the assertion as a FastAPI security dependency (needs the `fastapi` extra)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Security
from fastapi.openapi.models import APIKey, APIKeyIn
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ._asgi import request_url
from ._errors import EdgeAuthError
from ._verifier import DEFAULT_LEEWAY, AssertionVerifier, Identity, KeySource


class EdgeAuthHTTPException(HTTPException):
    """An :class:`EdgeAuthError` raised through FastAPI. Rendered as `application/problem+json` by
    :func:`problem_response` (registered on the app's exception middleware by the first refusal, or
    explicitly with :meth:`EdgeAuth.install`); an app's own handler for this class wins."""

    def __init__(self, error: EdgeAuthError) -> None:
        self.error = error
        super().__init__(
            status_code=error.status,
            detail=error.detail,
            headers=dict(error.headers()),
        )


def problem_response(error: EdgeAuthError) -> Response:
    """The refusal as a Starlette response (status, headers, problem+json body)."""
    return Response(content=error.body(), status_code=error.status, headers=dict(error.headers()))


async def _handler(request: Request, exc: Exception) -> Response:
    if isinstance(exc, EdgeAuthHTTPException):
        return problem_response(exc.error)
    raise exc


def _register_handler(request: Request) -> None:
    # The exception middleware looks handlers up in the dict it put in the scope (Starlette ≥ 0.28);
    # adding ours there once renders every later refusal as problem+json without an install step.
    # An app that registered its own handler for the class keeps it.
    handlers = request.scope.get("starlette.exception_handlers")
    if isinstance(handlers, tuple) and handlers and isinstance(handlers[0], dict):
        handlers[0].setdefault(EdgeAuthHTTPException, _handler)


class EdgeAuth(SecurityBase):
    """The edge's assertion as a FastAPI security dependency.

    ```python
    edge = EdgeAuth(jwks_url="https://api.example/.well-known/edge-auth/jwks.json",
                    issuer="https://edge.example", audience="https://origin.example",
                    public_url="https://api.example")

    @app.get("/orders")
    async def orders(identity: Identity = Security(edge, scopes=["orders:read"])): ...
    ```

    The scopes are those of the whole dependency tree (`SecurityScopes`); a missing one is
    `403 insufficient_scope`. `Depends(edge.require_roles("admin"))` requires one of the roles.
    OpenAPI shows it as an API key in the `header` header. The other parameters are
    :class:`AssertionVerifier`'s.
    """

    def __init__(
        self,
        jwks_url: str | None = None,
        issuer: str = "",
        audience: str = "",
        public_url: str | None = None,
        header: str = "Edge-Auth-Assertion",
        leeway: int = DEFAULT_LEEWAY,
        *,
        trust_forwarded: bool = False,
        require_access_token: bool = False,
        secret: str | bytes | None = None,
        jwks: Mapping[str, Any] | str | None = None,
        realm: str | None = None,
        clock: Callable[[], float] = time.time,
        jwks_options: Mapping[str, Any] | None = None,
        key_source: KeySource | None = None,
        scheme_name: str | None = None,
        description: str | None = None,
    ) -> None:
        self.verifier = AssertionVerifier(
            issuer=issuer,
            audience=audience,
            jwks_url=jwks_url,
            jwks=jwks,
            secret=secret,
            public_url=public_url,
            header=header,
            leeway=leeway,
            trust_forwarded=trust_forwarded,
            require_access_token=require_access_token,
            realm=realm,
            clock=clock,
            jwks_options=jwks_options,
            key_source=key_source,
        )
        self.model = APIKey.model_validate(
            {
                "in": APIKeyIn.header,
                "name": header,
                "description": description
                or "The signed assertion edge-auth forwards (typ edge-auth+jwt), bound to the request.",
            }
        )
        self.scheme_name = scheme_name or "EdgeAuth"

    async def authenticate(self, request: Request) -> Identity:
        """The request's verified identity, without scope checks. Raises :class:`EdgeAuthError`."""
        # Verified once per request and verifier: another dependency of this request, or the
        # middleware with the same verifier, may have done it already.
        verified = request.scope.setdefault("edge_auth.verified", {})
        identity = verified.get(self.verifier)
        if isinstance(identity, Identity):
            return identity
        identity = await self.verifier.verify_request(
            request.headers, request.method, request_url(request.scope)
        )
        verified[self.verifier] = identity
        return identity

    def _refuse(self, request: Request, error: EdgeAuthError) -> EdgeAuthHTTPException:
        _register_handler(request)
        return EdgeAuthHTTPException(error)

    async def __call__(self, request: Request, security_scopes: SecurityScopes) -> Identity:
        try:
            identity = await self.authenticate(request)
        except EdgeAuthError as error:
            raise self._refuse(request, error) from None
        needed = list(dict.fromkeys(security_scopes.scopes))
        if any(scope not in identity.scopes for scope in needed):
            refusal = EdgeAuthError("insufficient_scope", scopes=needed, realm=self.verifier.realm)
            raise self._refuse(request, refusal)
        return identity

    def require_roles(self, *roles: str) -> Callable[..., Awaitable[Identity]]:
        """A dependency requiring one of `roles` (`403 role_missing` otherwise)."""
        if not roles:
            raise ValueError("require_roles needs at least one role")
        wanted = list(roles)

        async def dependency(request: Request, identity: Identity = Security(self)) -> Identity:
            if not any(role in identity.roles for role in wanted):
                error = EdgeAuthError("role_missing", roles=wanted, realm=self.verifier.realm)
                raise self._refuse(request, error)
            return identity

        return dependency

    async def prefetch(self) -> bool:
        """:meth:`AssertionVerifier.prefetch`: load the JWKS now (never raises)."""
        return await self.verifier.prefetch()

    def install(self, app: Any) -> None:
        """Registers the problem+json handler on `app` explicitly (optional: the first refusal does)."""
        app.add_exception_handler(EdgeAuthHTTPException, _handler)

    async def verify_assertion(self, headers: Any, method: str, url: str) -> Identity:
        """:func:`edge_auth.verify_assertion` with this dependency's settings."""
        return await self.verifier.verify_request(headers, method, url)
