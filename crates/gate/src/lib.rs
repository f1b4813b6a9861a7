//! `edge-auth-gate`: the request gate, without I/O. Every adapter (the Worker, the CLI's `explain`, the JS
//! package and the inspector page) decides with it, so that they decide identically by construction.
//!
//! - [`plan`]: what to do with a request before any cryptography (serve the JWKS, answer a CORS
//!   preflight, refuse, forward anonymously, or verify a token), after path normalization and route
//!   matching; [`authorize`]: whether a verified caller may pass its route (401 vs 403 is decided here).
//! - [`forward_verified`] / [`forward_anonymous`] / [`forward_url`] / [`response_headers`]: what is
//!   forwarded, where, and which headers the answer carries.
//! - [`Refusal`]: the one mapping of refusals to HTTP (status, `WWW-Authenticate`, problem body).
//! - [`explain()`]: a decision step by step, as data (`edge-auth explain`, the JS `explain`).
#![forbid(unsafe_code)]

mod explain;
mod extract;
mod refusal;
mod request;
mod revocation;

pub use explain::{explain, ExplainedDecision, ExplainedRoute, ExplainedToken, Explanation};
pub use extract::{extract_token, strip_cookie, Extracted};
pub use refusal::{HttpRefusal, Refusal, DEFAULT_RETRY_AFTER};
pub use request::{
    assertion_input, authorize, forward_anonymous, forward_url, forward_verified, header_reads,
    plan, response_headers, sign_in_rust, Forward, HeaderReads, Plan, RequestHead, Upstream,
    JWKS_HEADERS, JWKS_PATH, STATUS_HEADERS, STATUS_PATH,
};
pub use revocation::{
    admin_outcome, authorize_admin, check_revocation, logout_client, logout_outcome,
    logout_records, logout_token_from_form, revocation_issuer, revoke_request, revoked_body,
    LogoutRefusal, RevocationCheck, RevocationRead, LOGOUT_HEADERS,
};
