//! The request flow without I/O: what to do with a request (serve the JWKS, forward anonymously, verify a
//! token, refuse), and, once a token is verified, the assertion and header changes to forward with.

use edge_auth_core::{
    assertion_signing_input, attach_signature, is_loopback_url as is_loopback, is_safe_method,
    normalize_path, origin_of, AssertionRequest, Auth, Caller, CsrfFacts, Denial, GateConfig,
    Preflight, Route, UnixTime, VerifiedToken,
};

use crate::extract::{extract_token, strip_cookie, Extracted};
use crate::http::Refusal;

/// Where the Worker publishes its assertion keys.
pub const JWKS_PATH: &str = "/.well-known/edge-auth/jwks.json";

/// Where the Worker reports its key sources (when `status_endpoint = true`).
pub const STATUS_PATH: &str = "/.well-known/edge-auth/status";

/// The parts of a request the decision needs.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    pub method: &'a str,
    /// The absolute URL as received.
    pub url: &'a str,
    /// The path as received (percent-encoded, no query).
    pub path: &'a str,
    /// The URL's host (and port, if any).
    pub host: &'a str,
    pub authorization: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub referer: Option<&'a str>,
    pub sec_fetch_site: Option<&'a str>,
    /// `Access-Control-Request-Method` and `-Headers` (a CORS preflight).
    pub cors_method: Option<&'a str>,
    pub cors_headers: Option<&'a str>,
}

impl<'a> RequestHead<'a> {
    /// A request with only a method, URL and path (the other fields empty); for tests and benches.
    pub fn simple(method: &'a str, url: &'a str, path: &'a str, host: &'a str) -> RequestHead<'a> {
        RequestHead {
            method,
            url,
            path,
            host,
            authorization: None,
            cookie: None,
            origin: None,
            referer: None,
            sec_fetch_site: None,
            cors_method: None,
            cors_headers: None,
        }
    }
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Answer with the assertion JWKS.
    ServeJwks,
    /// Answer with the key-source status (enabled by `status_endpoint`).
    ServeStatus,
    /// Answer a CORS preflight with `204` and these headers (never forwarded).
    Preflight(Vec<(&'static str, String)>),
    /// Forward without identity (inbound assertion headers are still removed): an `auth = "none"` route,
    /// or an `auth = "optional"` route without a token.
    ForwardAnonymous {
        /// The matched rule (`None`: the default rule).
        route: Option<usize>,
        /// The normalized path, forwarded instead of the received one.
        path: String,
    },
    /// Verify this token, then [`authorize`], then forward with an assertion.
    Verify {
        token: String,
        route: Option<usize>,
        /// Path parameters captured by the route (`{tenant}` → value).
        params: Vec<(String, String)>,
        path: String,
    },
    Refuse(Refusal),
}

/// Decides what to do with a request, before any cryptography.
pub fn plan(config: &GateConfig, request: &RequestHead<'_>) -> Plan {
    if config.demo && !is_loopback(request.url) {
        // The demo keys are public: a demo configuration never serves a real host.
        return Plan::Refuse(Refusal::ConfigInvalid);
    }
    if request.path == JWKS_PATH && matches!(request.method, "GET" | "HEAD") {
        return Plan::ServeJwks;
    }
    if config.status_endpoint && request.path == STATUS_PATH && request.method == "GET" {
        return Plan::ServeStatus;
    }
    // A CORS preflight carries no credentials: answered here from the policy, never forwarded.
    if let (Some(cors), "OPTIONS", Some(origin), Some(method)) = (
        &config.cors,
        request.method,
        request.origin,
        request.cors_method,
    ) {
        let preflight = Preflight {
            origin,
            method,
            headers: request.cors_headers,
        };
        return match cors.preflight(&preflight) {
            Ok(headers) => Plan::Preflight(headers),
            Err(refusal) => Plan::Refuse(Refusal::Cors(refusal)),
        };
    }
    let path = match normalize_path(request.path) {
        Ok(path) => path,
        Err(error) => return Plan::Refuse(Refusal::Path(error)),
    };
    let matched = config.routes.route(request.method, request.host, &path);
    let route = matched.route.index;
    let extracted = if matched.route.auth == Auth::None {
        None
    } else {
        match extract_token(
            request.authorization,
            request.cookie,
            config.token_cookie.as_deref(),
        ) {
            Err(refusal) => return Plan::Refuse(refusal),
            Ok(found) => found,
        }
    };
    // The request's own origin matters only to the CSRF rule, which only looks at state-changing methods.
    let own_origin = if is_safe_method(request.method) {
        String::new()
    } else {
        origin_of(request.url).unwrap_or_default()
    };
    let csrf = CsrfFacts {
        method: request.method,
        own_origin: &own_origin,
        origin: request.origin,
        referer: request.referer,
        sec_fetch_site: request.sec_fetch_site,
        cookie_token: extracted.as_ref().is_some_and(|e| e.from_cookie),
    };
    if let Err(refusal) = config.csrf.check(&csrf) {
        return Plan::Refuse(Refusal::Csrf(refusal));
    }
    match (matched.route.auth, extracted) {
        (Auth::None, _) | (Auth::Optional, None) => Plan::ForwardAnonymous { route, path },
        (Auth::Required, None) => Plan::Refuse(Refusal::TokenMissing),
        (_, Some(Extracted { token, .. })) => Plan::Verify {
            token,
            route,
            params: matched.params,
            path,
        },
    }
}

/// CORS headers for an actual (non-preflight) answer, forwarded or refused, so that a browser app can
/// read a 401 or 403 too. Empty without a `cors` section; preflight answers carry their own.
pub fn cors_response_headers(
    config: &GateConfig,
    request: &RequestHead<'_>,
) -> Vec<(&'static str, String)> {
    match &config.cors {
        Some(cors) if !(request.method == "OPTIONS" && request.cors_method.is_some()) => {
            cors.response_headers(request.origin)
        }
        _ => Vec::new(),
    }
}

/// The rule a plan named (`None`: the default rule).
fn rule(config: &GateConfig, route: Option<usize>) -> Option<&Route> {
    match route {
        None => Some(&config.routes.default),
        Some(index) => config.routes.routes.iter().find(|r| r.index == Some(index)),
    }
}

/// Whether a verified caller may pass the rule its request matched. 401 for an issuer the rule does
/// not accept, 403 for an unmet requirement.
pub fn authorize(
    config: &GateConfig,
    route: Option<usize>,
    params: &[(String, String)],
    verified: &VerifiedToken,
) -> Result<(), Refusal> {
    let Some(rule) = rule(config, route) else {
        // A plan always names a rule of the same configuration; anything else fails closed.
        return Err(Refusal::Internal);
    };
    let caller = Caller {
        scopes: verified.scopes(),
        roles: verified.roles(),
        claims: verified.claims(),
    };
    rule.authorize(verified.registered().iss.as_deref(), &caller, params)
        .map_err(|denial| match denial {
            Denial::IssuerNotAllowed => Refusal::IssuerNotAllowed,
            Denial::Unmet(unmet) => Refusal::Forbidden(unmet),
        })
}

/// How to forward a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The normalized path to forward (the query is kept as received).
    pub path: String,
    /// Set the assertion header to this (after removing every inbound copy).
    pub assertion: Option<String>,
    /// Remove `Authorization`.
    pub remove_authorization: bool,
    /// Replace the `Cookie` header with this (`Some(None)`: remove it) when the token came in a cookie.
    pub cookie: Option<Option<String>>,
}

/// The forwarding instructions for an anonymous route: only the spoofed assertion headers go.
pub fn forward_anonymous(path: String) -> Forward {
    Forward {
        path,
        assertion: None,
        remove_authorization: false,
        cookie: None,
    }
}

/// The assertion's signing input for a verified caller. `None` when the request URL cannot be bound
/// (not an absolute http(s) URL), which the caller treats as a refusal.
pub fn assertion_input(
    config: &GateConfig,
    request: &RequestHead<'_>,
    verified: &VerifiedToken,
    token: &str,
    now: UnixTime,
    jti: [u8; 16],
) -> Option<String> {
    assertion_signing_input(
        &config.assertion.signing_key,
        &config.assertion.settings,
        verified,
        &AssertionRequest {
            method: request.method,
            url: request.url,
            access_token: token,
            now,
            jti,
        },
    )
}

/// Signs an assertion input in Rust (the Worker prefers WebCrypto for EdDSA and ES256).
pub fn sign_in_rust(config: &GateConfig, input: String) -> String {
    let signature = config.assertion.signing_key.sign(input.as_bytes());
    attach_signature(input, &signature)
}

/// The forwarding instructions for a verified caller, given its signed assertion.
pub fn forward_verified(
    config: &GateConfig,
    request: &RequestHead<'_>,
    path: String,
    assertion: String,
) -> Forward {
    let cookie = match (&config.token_cookie, request.cookie) {
        (Some(name), Some(header)) if !config.forward_token => Some(strip_cookie(header, name)),
        _ => None,
    };
    Forward {
        path,
        assertion: Some(assertion),
        remove_authorization: !config.forward_token,
        cookie,
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        reason = "tests"
    )]

    use std::collections::HashMap;

    use edge_auth_core::{
        mint, Algorithm, AssertionVerifier, Binding, KeySet, MintOptions, SigningKey,
    };
    use serde_json::{json, Value};

    use super::*;

    const NOW: u64 = 1_700_000_000;
    const URL: &str = "https://api.example/orders/7?x=1";

    struct Fixture {
        config: GateConfig,
        idp: SigningKey,
    }

    fn fixture(extra: Value) -> Fixture {
        let idp = SigningKey::generate(Algorithm::Es256, None, &mut rand_core::OsRng).unwrap();
        let edge = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng).unwrap();
        let secrets = HashMap::from([(
            "SIGNING".to_owned(),
            Value::Object(edge.to_private_jwk()).to_string(),
        )]);
        let mut config = json!({
            "issuers": [{"issuer": "https://idp.example/", "audiences": ["api"], "algorithms": ["ES256"],
                         "jwks": {"keys": [Value::Object(idp.public_key().to_jwk())]}}],
            "assertion": {"issuer": "https://edge.example", "audience": "https://origin.example",
                          "signing_key_secret": "SIGNING"},
            "routes": [{"path": "/public/*", "auth": "none"}],
            "token_cookie": "at",
        });
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        Fixture {
            config: GateConfig::from_value(&config, &secrets).unwrap(),
            idp,
        }
    }

    fn head<'a>(
        method: &'a str,
        path: &'a str,
        authorization: Option<&'a str>,
        cookie: Option<&'a str>,
    ) -> RequestHead<'a> {
        RequestHead {
            authorization,
            cookie,
            ..RequestHead::simple(method, URL, path, "api.example")
        }
    }

    #[test]
    fn demo_config_serves_loopback_only() {
        assert!(is_loopback("http://127.0.0.1:8787/x"));
        assert!(is_loopback("http://localhost/x"));
        assert!(is_loopback("http://[::1]:8787/"));
        assert!(is_loopback("http://127.1.2.3/"));
        assert!(!is_loopback("https://api.example.com/"));
        assert!(!is_loopback("http://127.0.0.1.evil.example/"));
        assert!(!is_loopback("http://localhost.evil.example/"));
        assert!(!is_loopback("http://10.0.0.1/"));
        let mut f = fixture(json!({}));
        f.config.demo = true;
        let public = head("GET", "/public/x", None, None);
        assert_eq!(
            plan(&f.config, &public),
            Plan::Refuse(Refusal::ConfigInvalid)
        );
        let local = RequestHead {
            url: "http://127.0.0.1:8787/public/x",
            ..public
        };
        assert_eq!(
            plan(&f.config, &local),
            Plan::ForwardAnonymous {
                route: Some(0),
                path: "/public/x".into()
            }
        );
    }

    #[test]
    fn plans() {
        let f = fixture(json!({}));
        assert_eq!(
            plan(&f.config, &head("GET", JWKS_PATH, None, None)),
            Plan::ServeJwks
        );
        assert_eq!(
            plan(&f.config, &head("POST", JWKS_PATH, None, None)),
            Plan::Refuse(Refusal::TokenMissing)
        );
        assert_eq!(
            plan(&f.config, &head("GET", "/public/a", None, None)),
            Plan::ForwardAnonymous {
                route: Some(0),
                path: "/public/a".into()
            }
        );
        assert_eq!(
            plan(&f.config, &head("GET", "/orders", None, None)),
            Plan::Refuse(Refusal::TokenMissing)
        );
        assert_eq!(
            plan(
                &f.config,
                &head("GET", "/orders", Some("Bearer a"), Some("at=b"))
            ),
            Plan::Refuse(Refusal::MultipleTokens)
        );
        assert_eq!(
            plan(&f.config, &head("GET", "/orders", None, Some("at=b"))),
            Plan::Verify {
                token: "b".into(),
                route: None,
                params: vec![],
                path: "/orders".into()
            }
        );
    }

    #[test]
    fn verified_requests_forward_with_a_bound_assertion() {
        for forward_token in [false, true] {
            let f = fixture(json!({ "forward_token": forward_token }));
            let claims = json!({"iss": "https://idp.example/", "aud": "api", "sub": "alice", "exp": NOW + 60, "scope": "a b"});
            let token = mint(&f.idp, claims.as_object().unwrap(), &MintOptions::default());
            let request = head("PUT", "/orders/7", None, Some("x=1; at=zzz"));
            let verified = f.config.verifier.verify(&token, UnixTime(NOW)).unwrap();
            let input = assertion_input(
                &f.config,
                &request,
                &verified,
                &token,
                UnixTime(NOW),
                [1; 16],
            )
            .unwrap();
            let forward = forward_verified(
                &f.config,
                &request,
                "/orders/7".into(),
                sign_in_rust(&f.config, input),
            );
            assert_eq!(forward.remove_authorization, !forward_token);
            assert_eq!(
                forward.cookie,
                if forward_token {
                    None
                } else {
                    Some(Some("x=1".into()))
                }
            );
            // The origin verifies the assertion against the JWKS the Worker serves, bound to the request.
            let keys = KeySet::from_jwks_json(f.config.assertion.jwks_json.as_bytes()).unwrap();
            let origin =
                AssertionVerifier::new(keys, "https://edge.example", "https://origin.example", 10)
                    .unwrap();
            let binding = Binding {
                method: "PUT",
                url: "https://api.example/orders/7",
                access_token: Some(&token),
            };
            let assertion = origin
                .verify(
                    forward.assertion.as_deref().unwrap(),
                    UnixTime(NOW),
                    Some(&binding),
                )
                .unwrap();
            assert_eq!(assertion.claims()["sub"], "alice");
            assert_eq!(assertion.claims()["src_iss"], "https://idp.example/");
            assert_eq!(assertion.claims()["scope"], "a b");
        }
    }
}
