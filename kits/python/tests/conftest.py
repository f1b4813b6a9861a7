"""Shared fixtures: a JWKS server on 127.0.0.1 (ephemeral port) whose answers the test sets, and a
clock the test moves by hand."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assertions import NOW

WAIT_S = 10  # any wait in a test is bounded


class FakeClock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class JwksServer:
    """Serves `document` at `/jwks.json` with `status` and `cache_control`; counts requests.
    `hold()` makes requests wait until `release()` (for the single-flight test)."""

    def __init__(self) -> None:
        self.document: Any = {"keys": []}
        self.status = 200
        self.cache_control: str | None = "max-age=600"
        self.extra_headers: dict[str, str] = {}
        self.raw_body: bytes | None = None
        self.hits = 0
        self.arrived = threading.Event()
        self._gate = threading.Event()
        self._gate.set()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with server._lock:
                    server.hits += 1
                server.arrived.set()
                server._gate.wait(WAIT_S)
                if self.path != "/jwks.json":
                    self.send_response(404)
                    self.end_headers()
                    return
                body = server.raw_body
                if body is None:
                    body = json.dumps(server.document).encode()
                self.send_response(server.status)
                self.send_header("content-type", "application/json")
                if server.cache_control is not None:
                    self.send_header("cache-control", server.cache_control)
                for name, value in server.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def close(self) -> None:
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    yield server
    server.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL nothing listens on (a port bound, then closed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/jwks.json"
