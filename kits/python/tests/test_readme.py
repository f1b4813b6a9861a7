"""The README's FastAPI example, run as written (only its key source is swapped for a local key)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx

from edge_auth._keys import KeySet, StaticKeys

from assertions import claims, jwks, mint, new_key
from conftest import WAIT_S

README = Path(__file__).resolve().parents[1] / "README.md"
KEY = new_key("EdDSA")


def example() -> str:
    section = README.read_text().split("## Protecting your origin → FastAPI", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_root_readme_quotes_it() -> None:
    """README.md's "Protecting your origin" opens with the same example, verbatim."""
    root = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = root.split("## Protecting your origin", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    assert match.group(1) == example()


def test_readme_example_runs() -> None:
    code = example()
    assert len(code.strip().splitlines()) <= 16
    namespace: dict[str, Any] = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our own README
    app, edge = namespace["app"], namespace["edge"]
    edge.verifier.keys = StaticKeys(KeySet.from_jwks(jwks(KEY)))

    def get(path: str, **overrides: Any) -> httpx.Response:
        now = int(time.time())
        token = mint(
            KEY,
            claims(
                iss="https://api.example.com",
                aud="https://origin.example.com",
                htu=f"https://api.example.com{path}",
                iat=now,
                exp=now + 30,
                **overrides,
            ),
        )

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.2:8000") as c:
                return await c.get(path, headers={"Edge-Auth-Assertion": token})

        return asyncio.run(asyncio.wait_for(go(), WAIT_S))

    response = get("/orders", scope="orders:read")
    assert response.status_code == 200
    assert response.json() == {"sub": "user-1", "scopes": ["orders:read"]}
    assert get("/orders", scope="profile").status_code == 403
    assert get("/admin", roles=["admin"]).json() == {"roles": ["admin"]}
    assert get("/admin", roles=["viewer"]).status_code == 403
