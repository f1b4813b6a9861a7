"""Refusals: the stable codes of the core and the gate, and their one HTTP rendering.

The rendering mirrors the Worker's (`crates/gate/src/refusal.rs`, `Refusal::to_http`): `401` with
`WWW-Authenticate: Bearer error="invalid_token", error_description="<code>"` for a refused assertion,
`401` with a bare `Bearer` challenge (no `error`, RFC 6750 §3.1) when there is none, `403`
`insufficient_scope` (with `scope="…"` when scopes are what is missing), `503 keys_unavailable` with
`Retry-After` when no key set could ever be loaded; every body is `application/problem+json` with the
code and a fixed sentence, never anything from the token.
"""

from __future__ import annotations

import json
from typing import Any

# The core's codes (`crates/core/src/error.rs`, `ErrorCode::sentence`), with their fixed sentences.
SENTENCES: dict[str, str] = {
    "token_too_large": "The token is larger than allowed.",
    "token_malformed": "The token is not a well-formed compact JWS.",
    "token_unsupported": "Encrypted, JSON-serialized, unencoded or nested tokens are not accepted.",
    "alg_not_allowed": "The token's algorithm is not allowed for its issuer.",
    "embedded_key_refused": "Keys embedded in or referenced by the token are never used.",
    "crit_unsupported": "The token requires an extension this service does not support.",
    "key_not_found": "No key of the issuer matches the token.",
    "key_ambiguous": "The token does not say which of the issuer's keys signed it.",
    "signature_invalid": "The token's signature does not verify.",
    "issuer_unknown": "The token's issuer is not accepted here.",
    "claim_invalid": "A registered claim has the wrong type.",
    "claim_missing": "A required claim is missing.",
    "token_expired": "The token has expired.",
    "token_not_yet_valid": "The token is not valid yet.",
    "token_issued_in_future": "The token is issued in the future.",
    "token_too_old": "The token is older than allowed.",
    "audience_mismatch": "The token is not meant for this service.",
    "typ_mismatch": "The token is not of the required type.",
    "binding_mismatch": "The token is bound to another request.",
    "keys_unavailable": "The token issuer's keys are unavailable; try again later.",
    # The gate's codes (`crates/gate/src/refusal.rs`).
    "token_missing": "This resource requires an edge-auth assertion.",
    "multiple_tokens": "The request carries more than one token.",
    "insufficient_scope": "The token lacks a scope this resource requires.",
    "role_missing": "The token lacks a role this resource requires.",
}

#: Every code a refusal of this kit can carry.
ERROR_CODES: tuple[str, ...] = tuple(SENTENCES)

_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable"}

#: `Retry-After` of a `503` when nothing better is known (the gate's `DEFAULT_RETRY_AFTER`).
DEFAULT_RETRY_AFTER = 30


class EdgeAuthError(Exception):
    """A refused request: `code` is one of :data:`ERROR_CODES`; `status` the HTTP status.

    `str(error)` is the code and the fixed sentence; it never quotes the token.
    """

    def __init__(
        self,
        code: str,
        *,
        scopes: list[str] | None = None,
        roles: list[str] | None = None,
        retry_after: int | None = None,
        realm: str | None = None,
    ) -> None:
        self.code = code
        self.detail = SENTENCES.get(code, "The request was refused.")
        self.scopes = scopes  # the scopes that would do (insufficient_scope)
        self.roles = roles  # the roles that would do (role_missing)
        self.retry_after = retry_after
        self.realm = realm
        super().__init__(f"{code}: {self.detail}")

    @property
    def status(self) -> int:
        if self.code in ("insufficient_scope", "role_missing"):
            return 403
        if self.code == "keys_unavailable":
            return 503
        if self.code == "multiple_tokens":
            return 400
        return 401

    def www_authenticate(self) -> str | None:
        realm = f'realm="{self.realm}"' if self.realm else ""
        if self.code == "token_missing":
            return f"Bearer {realm}".rstrip()
        if self.status == 503:
            return None
        if self.status == 400:
            params = ['error="invalid_request"', f'error_description="{self.code}"']
        elif self.status == 403:
            params = ['error="insufficient_scope"', f'error_description="{self.code}"']
            if self.code == "insufficient_scope" and self.scopes:
                params.append(f'scope="{" ".join(self.scopes)}"')
        else:
            params = ['error="invalid_token"', f'error_description="{self.code}"']
        if realm:
            params.insert(0, realm)
        return "Bearer " + ", ".join(params)

    def problem(self) -> dict[str, Any]:
        """The `application/problem+json` body (RFC 9457), as the Worker writes it."""
        body: dict[str, Any] = {
            "type": f"urn:edge-auth:problem:{self.code}",
            "title": _TITLES.get(self.status, "Error"),
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if self.code == "insufficient_scope" and self.scopes:
            body["missing"] = f"requires scopes: all of [{', '.join(self.scopes)}]"
        if self.code == "role_missing" and self.roles:
            body["missing"] = f"requires roles: one of [{', '.join(self.roles)}]"
        return body

    def body(self) -> bytes:
        return json.dumps(self.problem(), separators=(",", ":")).encode()

    def headers(self) -> list[tuple[str, str]]:
        """The answer's headers, in the Worker's order."""
        headers = [
            ("content-type", "application/problem+json"),
            ("cache-control", "no-store"),
        ]
        challenge = self.www_authenticate()
        if challenge is not None:
            headers.append(("www-authenticate", challenge))
        if self.status == 503:
            headers.append(("retry-after", str(max(1, self.retry_after or DEFAULT_RETRY_AFTER))))
        return headers
