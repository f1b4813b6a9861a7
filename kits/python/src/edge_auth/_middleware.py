"""A pure-ASGI middleware (Starlette or any ASGI app): every HTTP request must carry a valid assertion.

The verified :class:`Identity` is put in `scope["state"]["edge_auth"]` (Starlette's
`request.state.edge_auth`), and an `EdgeAuth` dependency further in with the same verifier reuses it;
a refusal is answered here, in the Worker's form, and the app is not called (a WebSocket handshake
is closed with 1008, which the server answers with 403). Lifespan scopes pass through untouched;
paths in `exempt_paths` (exact match, e.g. a health check) pass without an assertion.
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
        kind = scope.get("type")
        if kind not in ("http", "websocket") or scope.get("path") in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or ())
        # A WebSocket is opened by a GET the edge saw as http(s).
        method = scope.get("method", "") if kind == "http" else "GET"
        try:
            identity = await self.verifier.verify_request(headers, method, request_url(scope))
        except EdgeAuthError as error:
            if kind == "websocket":
                # Closing before accepting: the server answers the handshake with 403.
                await receive()
                await send({"type": "websocket.close", "code": 1008})
                return
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
        scope.setdefault("edge_auth.verified", {})[self.verifier] = identity
        await self.app(scope, receive, send)
