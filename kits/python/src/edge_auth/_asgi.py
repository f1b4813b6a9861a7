"""What an ASGI scope says about the request: its URL as received (the raw path, not the decoded one)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

_AUTHORITY = re.compile(r"^[A-Za-z0-9.\-_~!$&'()*+,;=:\[\]]+$")


def request_url(scope: Mapping[str, Any]) -> str:
    """`scheme://host/raw-path` of an ASGI HTTP request (no query: `htu` has none)."""
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme") or "http", scope.get("scheme") or "http")
    host = None
    for name, value in scope.get("headers") or ():
        if name == b"host":
            host = value.decode("latin-1")
            break
    if not host:
        server = scope.get("server")
        if server and server[1] is not None:
            host = f"{server[0]}:{server[1]}"
        else:
            host = server[0] if server else "localhost"
    if not _AUTHORITY.match(host):
        return ""  # a Host that would bring its own path, query or userinfo: no URL, no htu
    raw = scope.get("raw_path")
    if isinstance(raw, (bytes, bytearray)):
        path = bytes(raw).split(b"?", 1)[0].decode("latin-1")
    else:
        path = quote(scope.get("root_path", "") + scope.get("path", ""), safe="/:@!$&'()*+,;=-._~%")
    return f"{scheme}://{host}{path or '/'}"
