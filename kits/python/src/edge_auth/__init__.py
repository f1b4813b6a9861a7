"""edge-auth's origin kit: verify the signed assertion the edge-auth Worker forwards.

- :class:`EdgeAuth` — a FastAPI security dependency (needs FastAPI: `pip install "edge-auth[fastapi]"`
  or an app that has it);
- :class:`EdgeAuthMiddleware` — a pure-ASGI middleware for Starlette and other ASGI apps;
- :func:`verify_assertion` / :class:`AssertionVerifier` — for any framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import ERROR_CODES, EdgeAuthError
from ._keys import JwksCache, KeySet
from ._middleware import EdgeAuthMiddleware
from ._url import htu
from ._verifier import (
    ASSERTION_TYP,
    DEFAULT_LEEWAY,
    AssertionVerifier,
    Identity,
    ath,
    verify_assertion,
)

if TYPE_CHECKING:
    from ._fastapi import EdgeAuth, EdgeAuthHTTPException

__all__ = [
    "ASSERTION_TYP",
    "DEFAULT_LEEWAY",
    "ERROR_CODES",
    "AssertionVerifier",
    "EdgeAuth",
    "EdgeAuthError",
    "EdgeAuthHTTPException",
    "EdgeAuthMiddleware",
    "Identity",
    "JwksCache",
    "KeySet",
    "ath",
    "htu",
    "verify_assertion",
]


def __getattr__(name: str) -> Any:
    # `EdgeAuth` needs FastAPI; the rest of the kit does not, so it is imported on first use.
    if name in ("EdgeAuth", "EdgeAuthHTTPException"):
        try:
            from . import _fastapi
        except ModuleNotFoundError as missing:
            raise ImportError(
                f"edge_auth.{name} needs FastAPI: pip install fastapi (or the kit's `fastapi` extra)"
            ) from missing

        return getattr(_fastapi, name)
    raise AttributeError(f"module 'edge_auth' has no attribute {name!r}")
