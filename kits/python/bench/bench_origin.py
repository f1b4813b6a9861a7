"""The Python kit's per-request cost (a benchmark, not a test): `bash scripts/bench-origin.sh`.

In one process, with the same Ed25519 (or P-256) key and the same assertion:
- `pyjwt`: a bare `jwt.decode` (signature, exp, iat, iss, aud) — the least any origin must do;
- `kit`: the kit's `AssertionVerifier.verify` (the core's rules, binding, JWKS from the cache);
- `fastapi_none`: a FastAPI handler without auth, driven as ASGI (no client, no server);
- `fastapi_dep`: the same with a dependency that returns a fixed `Identity` (FastAPI's own share);
- `fastapi_kit`: the same handler with `Security(edge, scopes=[...])`.
Each figure is the best of several rounds (µs per call); the ratios compare within this run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from fastapi import Depends, FastAPI, Security

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from edge_auth import AssertionVerifier, EdgeAuth, Identity  # noqa: E402

from assertions import ACCESS_TOKEN, AUDIENCE, ISSUER, PUBLIC, claims, jwks, mint, new_key  # noqa: E402


def serve_jwks(document: dict[str, Any]) -> tuple[ThreadingHTTPServer, str]:
    body = json.dumps(document).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("cache-control", "max-age=3600")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/jwks.json"


def best(fns: dict[str, Any], n: int, rounds: int) -> dict[str, float]:
    """µs per call of each function: the best of `rounds` rounds of `n` calls, the functions taking
    turns within each round (so a slower stretch of a shared machine hits them all)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(n)
            times[name].append((time.perf_counter() - start) / n * 1e6)
    return {name: min(values) for name, values in times.items()}


def asgi_get(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> Any:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"host", b"origin.internal"), *headers],
        "server": ("origin.internal", 80), "client": ("127.0.0.1", 50000),
    }  # fmt: skip
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    async def once() -> int:
        await app(dict(scope), receive, send)  # a fresh scope: nothing carried over between requests
        return status[-1]

    return once


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alg", default="EdDSA", choices=["EdDSA", "ES256"])
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--no-freeze", action="store_true", help="leave gc.freeze() out")
    args = parser.parse_args()

    key = new_key(args.alg)
    server, url = serve_jwks(jwks(key))
    now = int(time.time())
    token = mint(key, claims(iat=now, exp=now + 3600))
    public_key = jwt.PyJWK(key.public_jwk).key

    def pyjwt(n: int) -> None:
        for _ in range(n):
            jwt.decode(token, public_key, algorithms=[args.alg], audience=AUDIENCE, issuer=ISSUER,
                       options={"require": ["exp", "iat", "iss", "aud"]})  # fmt: skip

    verifier = AssertionVerifier(
        jwks_url=url, issuer=ISSUER, audience=AUDIENCE, public_url=PUBLIC,
        jwks_options={"allow_loopback_http": True},
    )  # fmt: skip
    edge = EdgeAuth(
        jwks_url=url, issuer=ISSUER, audience=AUDIENCE, public_url=PUBLIC,
        jwks_options={"allow_loopback_http": True},
    )  # fmt: skip
    plain, stub, protected = FastAPI(), FastAPI(), FastAPI()
    fixed = Identity(sub="user-1", issuer=None, scopes=[], roles=[], claims={}, assertion_id="-")

    async def no_check() -> Identity:
        return fixed

    @stub.get("/orders")
    async def orders_stub(identity: Identity = Depends(no_check)) -> dict[str, str]:
        return {"sub": identity.sub or ""}

    @plain.get("/orders")
    async def orders_plain() -> dict[str, str]:
        return {"sub": "user-1"}

    @protected.get("/orders")
    async def orders(identity: Identity = Security(edge, scopes=["orders:read"])) -> dict[str, str]:
        return {"sub": identity.sub or ""}

    headers = [
        (b"edge-auth-assertion", token.encode()),
        (b"authorization", f"Bearer {ACCESS_TOKEN}".encode()),
    ]
    plain_once = asgi_get(plain, "/orders", headers)
    stub_once = asgi_get(stub, "/orders", headers)
    kit_once = asgi_get(protected, "/orders", headers)

    loop = asyncio.new_event_loop()
    # Warm-up: the JWKS is fetched once here, then served from the cache.
    assert loop.run_until_complete(kit_once()) == 200
    assert loop.run_until_complete(plain_once()) == 200

    if not args.no_freeze:
        # The long-lived objects (FastAPI's app, pydantic's schemas, the modules) moved out of the
        # cyclic collector's view, as a production server would after start-up: otherwise the
        # collections that per-request garbage triggers keep rescanning them, and whichever variant
        # allocates most pays for scanning the whole heap (about +300 µs per request here).
        gc.collect()
        gc.freeze()

    def run_kit(n: int) -> None:
        async def go() -> None:
            for _ in range(n):
                await verifier.verify(token, method="GET", url=f"{PUBLIC}/orders", access_token=ACCESS_TOKEN)

        loop.run_until_complete(go())

    def run_app(once: Any) -> Any:
        def run(n: int) -> None:
            async def go() -> None:
                for _ in range(n):
                    await once()

            loop.run_until_complete(go())

        return run

    fns = {
        "pyjwt": pyjwt,
        "kit": run_kit,
        "fastapi_none": run_app(plain_once),
        "fastapi_dep": run_app(stub_once),
        "fastapi_kit": run_app(kit_once),
    }
    results = best(fns, args.n, args.rounds)
    server.shutdown()
    per_request = results["fastapi_kit"] - results["fastapi_none"]
    frozen = "no gc.freeze()" if args.no_freeze else "gc.freeze() after start-up"
    print(f"alg {args.alg}, {args.n} calls x {args.rounds} rounds (best round), {frozen}, µs per call:")
    for name, value in results.items():
        print(f"  {name:<14} {value:8.1f}")
    print(f"  kit in FastAPI (fastapi_kit - fastapi_none): {per_request:.1f} µs per verified request")
    print(
        "  of which FastAPI's own dependency call (fastapi_dep - fastapi_none): "
        f"{results['fastapi_dep'] - results['fastapi_none']:.1f} µs"
    )
    print("ratios:")
    print(f"  kit verify / bare jwt.decode            {results['kit'] / results['pyjwt']:.2f}x")
    print(f"  kit per request in FastAPI / jwt.decode {per_request / results['pyjwt']:.2f}x")
    print(
        f"  FastAPI with the kit / without auth     {results['fastapi_kit'] / results['fastapi_none']:.2f}x"
    )


if __name__ == "__main__":
    main()
