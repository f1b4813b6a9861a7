"""A pure-ASGI middleware (Starlette or any ASGI app): every HTTP request must carry a valid assertion.

The verified :class:`Identity` is put in `scope["state"]["edge_auth"]` (Starlette's
`request.state.edge_auth`) and `scope["edge_auth.identity"]` (an `EdgeAuth` dependency further in
reuses it); a refusal is answered here, in the Worker's form, and the app is not called. Lifespan and
WebSocket scopes pass through untouched; paths in `exempt_paths` (exact match, e.g. a health check)
pass without an assertion.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from ._asgi import request_url
from ._errors import EdgeAuthError
from ._verifier import AssertionVerifier

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class EdgeAuthMiddleware:
    """`app = EdgeAuthMiddleware(app, verifier=AssertionVerifier(...))` (or an `EdgeAuth`), or
    Starlette's `Middleware(EdgeAuthMiddleware, verifier=...)`."""

    def __init__(
        self,
        app: ASGIApp,
        verifier: AssertionVerifier | Any,
        exempt_paths: Iterable[str] = (),
    ) -> None:
        target = getattr(verifier, "verifier", verifier)
        if not isinstance(target, AssertionVerifier):
            raise TypeError("verifier must be an AssertionVerifier or an EdgeAuth")
        self.app = app
        self.verifier = target
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("path") in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or ())
        try:
            identity = await self.verifier.verify_request(
                headers, scope.get("method", ""), request_url(dict(scope))
            )
        except EdgeAuthError as error:
            await send(
                {
                    "type": "http.response.start",
                    "status": error.status,
                    "headers": [(k.encode(), v.encode()) for k, v in error.headers()],
                }
            )
            await send({"type": "http.response.body", "body": error.body()})
            return
        scope.setdefault("state", {})["edge_auth"] = identity
        scope["edge_auth.identity"] = identity
        await self.app(scope, receive, send)
