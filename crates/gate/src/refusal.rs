//! The one place that maps a refusal to HTTP: status, `WWW-Authenticate` (RFC 6750 §3) and an
//! `application/problem+json` body (RFC 9457). Bodies carry the stable code and a fixed sentence per
//! code, never the token's contents nor an internal error text.

use edge_auth_core::{
    CorsRefusal, CsrfRefusal, PathError, RevocationKind, SelectError, Unmet, VerifyError,
};

/// Why a request is refused before reaching the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No bearer token on a route that requires one (RFC 6750 §3.1: no `error` attribute).
    TokenMissing,
    /// Two different tokens in one request (header and cookie, or two headers).
    MultipleTokens,
    /// An `Authorization: Bearer` header that is not `Bearer <token68>`.
    AuthorizationMalformed,
    /// The token was refused by the verifier.
    Token(VerifyError),
    /// The path has no single meaning (`%2F` in a segment, a malformed escape, …).
    Path(PathError),
    /// A valid token from an issuer the matched route does not accept.
    IssuerNotAllowed,
    /// A valid token that does not meet the route's requirement.
    Forbidden(Unmet),
    /// A state-changing request that may be a cross-site request forgery.
    Csrf(CsrfRefusal),
    /// A CORS preflight the policy does not allow.
    Cors(CorsRefusal),
    /// The configuration does not compile: nothing is forwarded.
    ConfigInvalid,
    /// The origin could not be reached (the request was verified, but no answer came back).
    OriginUnreachable,
    /// An unexpected runtime failure; details go to the log only.
    Internal,
    /// A valid token whose `jti`, `sid` or subject was revoked.
    Revoked(RevocationKind),
    /// The revocation state could not be read and no copy is fresh (`fail = "closed"`).
    RevocationUnavailable,
    /// The revocation object holds `max_entries` records already (admin endpoint).
    RevocationStoreFull,
    /// The admin endpoint's body is not one revocation (`{"iss"?, "jti"|"sid"|"sub", "exp"?}`).
    RevokeRequestInvalid,
    /// An edge endpoint called with another method than `POST` (the logout and admin endpoints).
    MethodNotAllowed,
}

/// A refusal rendered for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRefusal {
    pub status: u16,
    pub www_authenticate: Option<String>,
    /// `application/problem+json`.
    pub body: String,
    pub code: &'static str,
}

impl Refusal {
    /// The stable code (the core's codes for token refusals).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::TokenMissing => "token_missing",
            Refusal::MultipleTokens => "multiple_tokens",
            Refusal::AuthorizationMalformed => "authorization_malformed",
            Refusal::Token(e) => e.code(),
            Refusal::Path(e) => e.code(),
            Refusal::IssuerNotAllowed => "issuer_not_allowed",
            Refusal::Forbidden(unmet) => unmet.code(),
            Refusal::Csrf(_) => "csrf_refused",
            Refusal::Cors(_) => "cors_refused",
            Refusal::ConfigInvalid => "config_invalid",
            Refusal::OriginUnreachable => "origin_unreachable",
            Refusal::Internal => "internal_error",
            Refusal::Revoked(_) => "token_revoked",
            Refusal::RevocationUnavailable => "revocation_unavailable",
            Refusal::RevocationStoreFull => "revocation_store_full",
            Refusal::RevokeRequestInvalid => "revoke_request_invalid",
            Refusal::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// Renders the refusal. `realm` comes from the (validated) configuration.
    pub fn to_http(&self, realm: &str) -> HttpRefusal {
        let code = self.code();
        let (status, www_authenticate) = match self {
            Refusal::TokenMissing => (401, Some(format!("Bearer realm=\"{realm}\""))),
            Refusal::MultipleTokens | Refusal::AuthorizationMalformed => (
                400,
                Some(format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_request\", error_description=\"{code}\""
                )),
            ),
            Refusal::Path(_) => (400, None),
            // The issuer's keys could not be loaded: the service is unavailable, not the token invalid.
            Refusal::Token(VerifyError::Select(SelectError::KeysUnavailable)) => (503, None),
            Refusal::Forbidden(unmet) => {
                // RFC 6750 §3.1: `insufficient_scope`, with the scopes that would do when scopes are
                // what is missing.
                let scope = unmet
                    .needed_scopes()
                    .map(|s| format!(", scope=\"{s}\""))
                    .unwrap_or_default();
                (
                    403,
                    Some(format!(
                        "Bearer realm=\"{realm}\", error=\"insufficient_scope\", error_description=\"{code}\"{scope}"
                    )),
                )
            }
            Refusal::Csrf(_) | Refusal::Cors(_) => (403, None),
            Refusal::Token(_) | Refusal::IssuerNotAllowed | Refusal::Revoked(_) => (
                401,
                Some(format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{code}\""
                )),
            ),
            Refusal::ConfigInvalid | Refusal::RevocationUnavailable => (503, None),
            Refusal::OriginUnreachable => (502, None),
            Refusal::Internal => (500, None),
            Refusal::RevocationStoreFull => (507, None),
            Refusal::RevokeRequestInvalid => (400, None),
            Refusal::MethodNotAllowed => (405, None),
        };
        let title = match status {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            405 => "Method Not Allowed",
            507 => "Insufficient Storage",
            500 => "Internal Server Error",
            502 => "Bad Gateway",
            _ => "Service Unavailable",
        };
        // Members in serde_json's sorted order (the bytes a `json!` of them gave).
        let body = edge_auth_core::JsonObject::new()
            .str("code", code)
            .str("detail", self.detail());
        // The unmet requirement, as configured (never the token's contents).
        let body = match self {
            Refusal::Forbidden(unmet) => body.str("missing", &unmet.to_string()),
            _ => body,
        };
        let mut problem_type = String::from("urn:edge-auth:problem:");
        problem_type.push_str(code);
        let body = body
            .uint("status", status.into())
            .str("title", title)
            .str("type", &problem_type)
            .finish();
        HttpRefusal {
            status,
            www_authenticate,
            body,
            code,
        }
    }
}

/// `Retry-After` of a `503` when the adapter knows no better (seconds).
pub const DEFAULT_RETRY_AFTER: u64 = 30;

impl HttpRefusal {
    /// The answer's headers, in order: `content-type: application/problem+json`, `cache-control:
    /// no-store`, the `WWW-Authenticate` challenge when there is one, and for a `503` `Retry-After`
    /// (`retry_after` seconds — for `keys_unavailable` the key state's backoff — else
    /// [`DEFAULT_RETRY_AFTER`]; at least 1).
    pub fn headers(&self, retry_after: Option<u64>) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("content-type", "application/problem+json".to_owned()),
            ("cache-control", "no-store".to_owned()),
        ];
        if let Some(www) = &self.www_authenticate {
            headers.push(("www-authenticate", www.clone()));
        }
        if self.status == 405 {
            headers.push(("allow", "POST".to_owned()));
        }
        if self.status == 503 {
            let seconds = retry_after.unwrap_or(DEFAULT_RETRY_AFTER).max(1);
            headers.push(("retry-after", seconds.to_string()));
        }
        headers
    }
}

impl Refusal {
    /// A fixed, human sentence per code. Never built from the request.
    pub fn detail(&self) -> &'static str {
        match self {
            Refusal::TokenMissing => "This resource requires a bearer token.",
            Refusal::MultipleTokens => "The request carries more than one token.",
            Refusal::AuthorizationMalformed => "The Authorization header is not `Bearer <token>`.",
            Refusal::Token(e) => e.error_code().sentence(),
            Refusal::Path(PathError::AmbiguousEncoding | PathError::PathParameter) => {
                "The request path has no single meaning: an encoded separator or NUL, or a `;` parameter."
            }
            Refusal::Path(PathError::MalformedEscape | PathError::InvalidCharacter) => {
                "The request path is not well-formed."
            }
            Refusal::IssuerNotAllowed => {
                "Tokens from this issuer are not accepted for this resource."
            }
            Refusal::Forbidden(unmet) => unmet_detail(unmet),
            Refusal::Csrf(
                CsrfRefusal::CrossSite | CsrfRefusal::OriginNotAllowed | CsrfRefusal::NoOrigin,
            ) => "A state-changing request from another site was refused.",
            Refusal::Cors(CorsRefusal::Origin | CorsRefusal::Method | CorsRefusal::Header(_)) => {
                "This cross-origin request is not allowed."
            }
            Refusal::ConfigInvalid => "The service is not configured correctly; try again later.",
            Refusal::OriginUnreachable => "The upstream service did not answer.",
            Refusal::Internal => "The request could not be processed.",
            Refusal::Revoked(_) => "The token was revoked.",
            Refusal::RevocationUnavailable => {
                "Whether the token was revoked cannot be checked right now; try again later."
            }
            Refusal::RevocationStoreFull => {
                "The revocation store is full; nothing was revoked (see `revocation.max_entries`)."
            }
            Refusal::RevokeRequestInvalid => {
                "The body must be one JSON object with `iss` and exactly one of `jti`, `sid` or `sub`."
            }
            Refusal::MethodNotAllowed => "This endpoint only takes POST.",
        }
    }
}

fn unmet_detail(unmet: &Unmet) -> &'static str {
    match unmet {
        Unmet::Scopes { .. } => "The token lacks a scope this resource requires.",
        Unmet::Roles { .. } => "The token lacks a role this resource requires.",
        Unmet::Claim { .. } => "A claim of the token does not meet this resource's requirement.",
        Unmet::Binding { .. } => "The token is not valid for the resource named in the path.",
        Unmet::NoAlternative(first) => unmet_detail(first),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;
    use edge_auth_core::{ClaimsError, ErrorCode, ParseError};

    fn check(refusal: Refusal, status: u16, www: Option<&str>) {
        let http = refusal.to_http("api");
        assert_eq!(http.status, status, "{refusal:?}");
        assert_eq!(http.www_authenticate.as_deref(), www, "{refusal:?}");
        let body: serde_json::Value = serde_json::from_str(&http.body).unwrap();
        assert_eq!(body["code"], refusal.code());
        assert_eq!(body["status"], status);
    }

    #[test]
    fn statuses_and_challenges() {
        check(Refusal::TokenMissing, 401, Some(r#"Bearer realm="api""#));
        check(
            Refusal::MultipleTokens,
            400,
            Some(
                r#"Bearer realm="api", error="invalid_request", error_description="multiple_tokens""#,
            ),
        );
        check(
            Refusal::Token(VerifyError::Claims(ClaimsError::AudienceMismatch)),
            401,
            Some(
                r#"Bearer realm="api", error="invalid_token", error_description="audience_mismatch""#,
            ),
        );
        check(
            Refusal::Token(VerifyError::Parse(ParseError::AlgNone)),
            401,
            Some(
                r#"Bearer realm="api", error="invalid_token", error_description="alg_not_allowed""#,
            ),
        );
        check(
            Refusal::Forbidden(Unmet::Scopes {
                all: vec!["orders:write".into()],
                any: vec![],
            }),
            403,
            Some(
                r#"Bearer realm="api", error="insufficient_scope", error_description="insufficient_scope", scope="orders:write""#,
            ),
        );
        check(
            Refusal::Forbidden(Unmet::Roles {
                all: vec!["admin".into()],
                any: vec![],
            }),
            403,
            Some(
                r#"Bearer realm="api", error="insufficient_scope", error_description="role_missing""#,
            ),
        );
        check(
            Refusal::IssuerNotAllowed,
            401,
            Some(
                r#"Bearer realm="api", error="invalid_token", error_description="issuer_not_allowed""#,
            ),
        );
        check(Refusal::Path(PathError::AmbiguousEncoding), 400, None);
        check(Refusal::Csrf(CsrfRefusal::CrossSite), 403, None);
        check(Refusal::Cors(CorsRefusal::Origin), 403, None);
        check(Refusal::ConfigInvalid, 503, None);
        check(Refusal::OriginUnreachable, 502, None);
        check(Refusal::Internal, 500, None);
    }

    #[test]
    fn every_code_has_its_own_sentence() {
        let refusals = [
            Refusal::TokenMissing,
            Refusal::MultipleTokens,
            Refusal::AuthorizationMalformed,
            Refusal::Path(PathError::AmbiguousEncoding),
            Refusal::Path(PathError::MalformedEscape),
            Refusal::IssuerNotAllowed,
            Refusal::Forbidden(Unmet::Roles {
                all: vec![],
                any: vec![],
            }),
            Refusal::Csrf(CsrfRefusal::NoOrigin),
            Refusal::Cors(CorsRefusal::Method),
            Refusal::ConfigInvalid,
            Refusal::OriginUnreachable,
            Refusal::Internal,
        ];
        let mut seen: Vec<(&str, &str)> = refusals.iter().map(|r| (r.code(), r.detail())).collect();
        seen.extend(ErrorCode::ALL.iter().map(|c| (c.as_str(), c.sentence())));
        // Each code has one sentence, and no two codes share one.
        let mut sentences: Vec<&str> = seen.iter().map(|(_, s)| *s).collect();
        sentences.sort_unstable();
        sentences.dedup();
        assert_eq!(sentences.len(), seen.len(), "{seen:#?}");
    }

    #[test]
    fn headers_of_a_refusal() {
        let names = |http: &HttpRefusal, retry: Option<u64>| -> Vec<String> {
            http.headers(retry)
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect()
        };
        let missing = Refusal::TokenMissing.to_http("api");
        assert_eq!(
            names(&missing, Some(5)),
            [
                "content-type: application/problem+json",
                "cache-control: no-store",
                "www-authenticate: Bearer realm=\"api\""
            ]
        );
        let unavailable =
            Refusal::Token(VerifyError::Select(SelectError::KeysUnavailable)).to_http("api");
        assert_eq!(
            names(&unavailable, Some(7)).last().map(String::as_str),
            Some("retry-after: 7")
        );
        assert_eq!(
            names(&unavailable, Some(0)).last().map(String::as_str),
            Some("retry-after: 1")
        );
        let config = Refusal::ConfigInvalid.to_http("api");
        assert_eq!(
            names(&config, None),
            [
                "content-type: application/problem+json",
                "cache-control: no-store",
                "retry-after: 30"
            ]
        );
    }

    #[test]
    fn bodies_never_echo_the_token() {
        // A kid from the token appears in the core's Display, but never in the HTTP body.
        let error = VerifyError::Select(edge_auth_core::SelectError::KeyNotFound {
            kid: Some("<script>attacker</script>".into()),
            alg: edge_auth_core::Algorithm::Es256,
        });
        assert!(error.to_string().contains("attacker"));
        let http = Refusal::Token(error).to_http("api");
        assert!(!http.body.contains("attacker"), "{}", http.body);
        assert!(!http.www_authenticate.unwrap().contains("attacker"));
    }
}
