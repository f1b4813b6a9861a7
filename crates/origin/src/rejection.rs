//! A refused request, answered exactly as the Worker answers: the gate's
//! [`Refusal::to_http`](edge_auth_gate::Refusal::to_http) (status, `WWW-Authenticate`, problem body,
//! `Retry-After`) is the one mapping; this module only copies its result into an axum response.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use edge_auth_core::{SelectError, VerifyError};
use edge_auth_gate::Refusal;
use http::{HeaderName, HeaderValue, StatusCode};

/// The `realm` of `WWW-Authenticate` challenges (the Worker's default).
pub const DEFAULT_REALM: &str = "edge-auth";

/// Why a request did not reach the handler, as the Worker would answer it:
///
/// - `401` `WWW-Authenticate: Bearer realm="…", error="invalid_token", error_description="<code>"` for a
///   refused assertion (the core's stable codes: `signature_invalid`, `token_expired`,
///   `audience_mismatch`, `binding_mismatch`, …), and `401` without `error` (`token_missing`) when there
///   is none;
/// - `403` `error="insufficient_scope"` (`insufficient_scope` with `scope="…"`, or `role_missing`) for
///   an unmet requirement;
/// - `503` `keys_unavailable` with `Retry-After` while no key set can be had;
/// - `400` `multiple_tokens` / `authorization_malformed` for two assertions or a malformed bearer token.
///
/// Every body is `application/problem+json` with the code; none quotes the request.
#[derive(Debug, Clone)]
pub struct Rejection {
    refusal: Refusal,
    realm: Arc<str>,
    retry_after: Option<u64>,
}

impl Rejection {
    pub(crate) fn new(refusal: Refusal, realm: &Arc<str>) -> Rejection {
        Rejection {
            refusal,
            realm: Arc::clone(realm),
            retry_after: None,
        }
    }

    /// No usable key set: `503 keys_unavailable`, `Retry-After: retry_after`.
    pub(crate) fn keys_unavailable(realm: &Arc<str>, retry_after: u64) -> Rejection {
        Rejection {
            retry_after: Some(retry_after),
            ..Rejection::new(
                Refusal::Token(VerifyError::Select(SelectError::KeysUnavailable)),
                realm,
            )
        }
    }

    /// The refusal, as the Worker's gate names it.
    pub fn refusal(&self) -> &Refusal {
        &self.refusal
    }

    /// The stable code (`token_missing`, `signature_invalid`, `insufficient_scope`, …).
    pub fn code(&self) -> &'static str {
        self.refusal.code()
    }

    /// The status the answer has.
    pub fn status(&self) -> StatusCode {
        let status = self.refusal.to_http(&self.realm).status;
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.refusal.detail())
    }
}

impl std::error::Error for Rejection {}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let http = self.refusal.to_http(&self.realm);
        let status = StatusCode::from_u16(http.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, http.body.clone()).into_response();
        let headers = response.headers_mut();
        for (name, value) in http.headers(self.retry_after) {
            // The gate's names are lower-case constants and its values ASCII it built itself (the realm
            // is checked at build time): neither check fails, and neither can panic.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                headers.insert(name, value);
            }
        }
        response
    }
}
