//! The request flow without I/O: what to do with a request (serve the JWKS, forward anonymously, verify a
//! token, refuse), and, once a token is verified, the assertion and header changes to forward with.

use edge_auth_core::{
    assertion_signing_input, attach_signature, is_loopback_url as is_loopback, is_safe_method,
    normalize_with, origin_of, AbsoluteUrl, AssertionRequest, Auth, Caller, CsrfFacts, Denial,
    GateConfig, Preflight, Route, UnixTime, VerifiedToken,
};

use crate::extract::{extract_token, strip_cookie, Extracted};
use crate::refusal::Refusal;

/// Where the Worker publishes its assertion keys.
pub const JWKS_PATH: &str = "/.well-known/edge-auth/jwks.json";

/// Where the Worker reports its key sources (when `status_endpoint = true`).
pub const STATUS_PATH: &str = "/.well-known/edge-auth/status";

/// The headers of the answer to [`Plan::ServeJwks`] (the body is `GateConfig::assertion.jwks_json`).
pub const JWKS_HEADERS: [(&str, &str); 2] = [
    ("content-type", "application/jwk-set+json"),
    ("cache-control", "public, max-age=300"),
];

/// The headers of the answer to [`Plan::ServeStatus`].
pub const STATUS_HEADERS: [(&str, &str); 2] = [
    ("content-type", "application/json"),
    ("cache-control", "no-store"),
];

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

/// Which of a request's optional headers a decision under a configuration can look at. An adapter
/// reads only these (in the Worker each read is a call into the runtime and a string copy); a header
/// left unread is `None` in [`RequestHead`], and the decision is the same as with it read —
/// `tests/policy.rs` checks that on every case of the policy table under several configurations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderReads {
    /// `Cookie`: only with a token cookie (`token_cookie`), to find the token and to strip it.
    pub cookie: bool,
    /// `Origin`: with CORS, or when the CSRF rule applies.
    pub origin: bool,
    /// `Referer` and `Sec-Fetch-Site`: when the CSRF rule applies (a state-changing method, with a
    /// token cookie or `csrf.all_requests`).
    pub csrf: bool,
    /// `Access-Control-Request-Method` and `-Headers`: an `OPTIONS` request with CORS.
    pub preflight: bool,
}

/// The headers a decision on a `method` request can look at under `config` (see [`HeaderReads`]).
pub fn header_reads(config: &GateConfig, method: &str) -> HeaderReads {
    let cookie = config.token_cookie.is_some();
    let csrf = !is_safe_method(method) && (cookie || config.csrf.all_requests);
    let cors = config.cors.is_some();
    HeaderReads {
        cookie,
        origin: cors || csrf,
        csrf,
        preflight: cors && method == "OPTIONS",
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
    /// Forward without identity (inbound assertion headers are still removed, and so are the
    /// `Authorization` header and the token cookie unless `forward_token`): an `auth = "none"` route,
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
    /// An OIDC back-channel logout (`POST` to `revocation.logout_path`): read the form's
    /// `logout_token` ([`crate::logout_token_from_form`]), verify it with its issuer's keys, record
    /// what it revokes.
    BackchannelLogout,
    /// An admin revocation (`POST` to `revocation.admin_path`): verify this token, then
    /// [`crate::authorize_admin`], then store [`crate::revoke_request`]'s record.
    Revoke {
        token: String,
    },
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
    if let Some(revocation) = &config.revocation {
        let post = request.method == "POST";
        if revocation.has_logout() && request.path == revocation.logout_path {
            return match post {
                true => Plan::BackchannelLogout,
                false => Plan::Refuse(Refusal::MethodNotAllowed),
            };
        }
        if revocation.admin.is_some() && request.path == revocation.admin_path {
            if !post {
                return Plan::Refuse(Refusal::MethodNotAllowed);
            }
            // The bearer header only: a cookie would let any page the admin visits revoke.
            return match extract_token(request.authorization, None, None) {
                Err(refusal) => Plan::Refuse(refusal),
                Ok(None) => Plan::Refuse(Refusal::TokenMissing),
                Ok(Some(Extracted { token, .. })) => Plan::Revoke { token },
            };
        }
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
    let normal = match normalize_with(request.path, &config.routes.paths) {
        Ok(normal) => normal,
        Err(error) => return Plan::Refuse(Refusal::Path(error)),
    };
    let matched = config
        .routes
        .route(request.method, request.host, normal.matched());
    let path = normal.forwarded().to_owned();
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

/// The headers of an actual (non-preflight) answer, forwarded or refused, when the edge owns CORS (a
/// `cors` section): the answer's own headers without any `access-control-*` one (an origin's
/// `Access-Control-Allow-Origin: *` must not reach a foreign page), then the edge's CORS headers, so
/// that an allowed browser app can read a 401 or 403 too; `Vary: Origin` is added to the answer's own
/// `Vary`. `None`: the answer's headers stay as they are (no `cors` section, or a preflight the edge
/// answered itself).
pub fn response_headers(
    config: &GateConfig,
    request: &RequestHead<'_>,
    own: impl IntoIterator<Item = (String, String)>,
) -> Option<Vec<(String, String)>> {
    let cors = config.cors.as_ref()?;
    if request.method == "OPTIONS" && request.cors_method.is_some() {
        return None;
    }
    let mut out: Vec<(String, String)> = own
        .into_iter()
        .filter(|(name, _)| {
            !name
                .get(..15)
                .is_some_and(|p| p.eq_ignore_ascii_case("access-control-"))
        })
        .collect();
    for (name, value) in cors.response_headers(request.origin) {
        out.push((name.to_owned(), value));
    }
    Some(out)
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

/// The forwarding instructions for an anonymous request: the spoofed assertion headers go, and so do
/// the credentials the edge did not verify (`Authorization`, the token cookie) unless `forward_token`.
pub fn forward_anonymous(config: &GateConfig, request: &RequestHead<'_>, path: String) -> Forward {
    Forward {
        path,
        assertion: None,
        ..without_credentials(config, request)
    }
}

/// The credential changes every forward makes: `Authorization` and the token cookie are removed
/// unless `forward_token`.
fn without_credentials(config: &GateConfig, request: &RequestHead<'_>) -> Forward {
    let cookie = match (&config.token_cookie, request.cookie) {
        (Some(name), Some(header)) if !config.forward_token => Some(strip_cookie(header, name)),
        _ => None,
    };
    Forward {
        path: String::new(),
        assertion: None,
        remove_authorization: !config.forward_token,
        cookie,
    }
}

/// The assertion's signing input for a verified caller whose request (`method`, `url` as the adapter
/// parsed it) is forwarded to `path` (the normalized path). Its `htu` names the public URL the origin
/// is asked for: the request's scheme and host with that path, read as [`forward_url`] reads it — not
/// the path as received, which the origin never sees. `None` when the URL has userinfo, which the
/// caller treats as an internal error.
#[allow(
    clippy::too_many_arguments,
    reason = "each is a distinct input of the assertion, from a different step of the request"
)]
pub fn assertion_input(
    config: &GateConfig,
    method: &str,
    url: &AbsoluteUrl,
    path: &str,
    verified: &VerifiedToken,
    token: &str,
    now: UnixTime,
    jti: [u8; 16],
) -> Option<String> {
    let public = url.with_path_and_query(path, None);
    assertion_signing_input(
        &config.assertion.signing_key,
        &config.assertion.settings,
        verified,
        &AssertionRequest {
            method,
            url: &public,
            access_token: token,
            now,
            jti,
        },
    )
}

/// Signs an assertion input in Rust with an HMAC key (HS256); `None` for the other assertion keys
/// (EdDSA, ES256), which the Worker and the JS package sign through WebCrypto. Only the HMAC signer is
/// linked through here (see [`SigningKey::sign_hmac`](edge_auth_core::SigningKey::sign_hmac)).
pub fn sign_in_rust(config: &GateConfig, input: String) -> Option<String> {
    let signature = config.assertion.signing_key.sign_hmac(input.as_bytes())?;
    Some(attach_signature(input, &signature))
}

/// The forwarding instructions for a verified caller, given its signed assertion.
pub fn forward_verified(
    config: &GateConfig,
    request: &RequestHead<'_>,
    path: String,
    assertion: String,
) -> Forward {
    Forward {
        path,
        assertion: Some(assertion),
        ..without_credentials(config, request)
    }
}

/// Where requests are forwarded: the `ORIGIN` variable (`https://host[:port][/prefix]`), compiled once
/// per isolate. Without it, each request goes to its own URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    base: AbsoluteUrl,
    /// The path prefix, without a trailing `/` (empty for none).
    prefix: String,
}

impl Upstream {
    /// Parses `ORIGIN`. A path is kept as a prefix of every forwarded path; a query, a fragment,
    /// userinfo or another scheme than http(s) is refused (the message names what is wrong).
    pub fn parse(text: &str) -> Result<Upstream, String> {
        // Messages never repeat the value: it may hold credentials by mistake.
        let base = AbsoluteUrl::parse(text).map_err(|e| e.to_string())?;
        if base.has_userinfo() {
            return Err("userinfo (`user@`) is not allowed".into());
        }
        if base.query().is_some() || base.has_fragment() {
            return Err(
                "a query or fragment is not allowed (the request's own query is forwarded)".into(),
            );
        }
        let prefix = base.path().trim_end_matches('/').to_owned();
        Ok(Upstream { base, prefix })
    }
}

/// The URL a request is forwarded to: `ORIGIN`'s scheme, host and path prefix (or, without `ORIGIN`,
/// the request's own scheme and host), then the normalized `path`, then the query as received.
pub fn forward_url(upstream: Option<&Upstream>, request: &AbsoluteUrl, path: &str) -> AbsoluteUrl {
    match upstream {
        Some(upstream) => upstream
            .base
            .with_path_and_query(&[upstream.prefix.as_str(), path].concat(), request.query()),
        None => request.with_path_and_query(path, request.query()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        reason = "tests: a panic is a test failure"
    )]

    use std::collections::HashMap;

    use edge_auth_core::{
        mint, Algorithm, AssertionVerifier, Binding, KeySet, MintOptions, SigningKey,
    };
    use serde_json::{json, Value};

    use super::*;

    const NOW: u64 = 1_700_000_000;
    const URL: &str = "https://api.example/orders/7?x=1";

    /// The fixture's EdDSA assertion signed by the core's native signer (the Worker uses WebCrypto).
    fn sign_natively(config: &GateConfig, input: String) -> String {
        let signature = config.assertion.signing_key.sign(input.as_bytes());
        attach_signature(input, &signature)
    }

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
                request.method,
                &AbsoluteUrl::parse(request.url).unwrap(),
                "/orders/7",
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
                sign_natively(&f.config, input),
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

    /// The assertion a verified request to `raw_path` is forwarded with, and the path it goes to.
    fn forwarded(
        f: &Fixture,
        url: &str,
        raw_path: &str,
    ) -> (String, serde_json::Map<String, Value>) {
        let claims =
            json!({"iss": "https://idp.example/", "aud": "api", "sub": "alice", "exp": NOW + 60});
        let token = mint(&f.idp, claims.as_object().unwrap(), &MintOptions::default());
        let bearer = format!("Bearer {token}");
        let request = RequestHead {
            authorization: Some(&bearer),
            ..RequestHead::simple("GET", url, raw_path, "api.example")
        };
        let Plan::Verify { path, .. } = plan(&f.config, &request) else {
            panic!("{raw_path}: not a verify plan")
        };
        let verified = f.config.verifier.verify(&token, UnixTime(NOW)).unwrap();
        let input = assertion_input(
            &f.config,
            request.method,
            &AbsoluteUrl::parse(request.url).unwrap(),
            &path,
            &verified,
            &token,
            UnixTime(NOW),
            [2; 16],
        )
        .unwrap();
        let assertion = sign_natively(&f.config, input);
        let payload = assertion.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &<base64ct::Base64UrlUnpadded as base64ct::Encoding>::decode_vec(payload).unwrap(),
        )
        .unwrap();
        (path, claims.as_object().unwrap().clone())
    }

    #[test]
    fn htu_names_the_normalized_path_the_origin_receives() {
        let f = fixture(json!({}));
        for raw in [
            "/orders/7",
            "//orders/7",
            "/orders/%37",
            "/orders/./7",
            "/x/../orders/7",
        ] {
            let url = format!("HTTPS://API.example:443{raw}?x=1");
            let (path, claims) = forwarded(&f, &url, raw);
            assert_eq!(path, "/orders/7", "{raw}");
            assert_eq!(claims["htu"], "https://api.example/orders/7", "{raw}");
        }
        // A non-default port stays; the query never enters htu.
        let (_, claims) = forwarded(&f, "http://127.0.0.1:8787//a?b=1", "//a");
        assert_eq!(claims["htu"], "http://127.0.0.1:8787/a");
        // Whatever the path holds, htu is the URL the origin is sent ([`forward_url`]) less its query.
        for raw in ["/caf%c3%a9/%7e", "/a%20b/%3f/%23", "/%E2%82%AC/x/"] {
            let url = format!("https://api.example{raw}?q=%41");
            let (path, claims) = forwarded(&f, &url, raw);
            let sent = forward_url(None, &AbsoluteUrl::parse(&url).unwrap(), &path);
            assert_eq!(claims["htu"], sent.htu(), "{raw}");
            assert_eq!(sent.query(), Some("q=%41"), "{raw}");
        }
    }

    #[test]
    fn no_assertion_for_a_url_with_userinfo_or_not_http() {
        let f = fixture(json!({}));
        let claims =
            json!({"iss": "https://idp.example/", "aud": "api", "sub": "alice", "exp": NOW + 60});
        let token = mint(&f.idp, claims.as_object().unwrap(), &MintOptions::default());
        let verified = f.config.verifier.verify(&token, UnixTime(NOW)).unwrap();
        let with_userinfo = AbsoluteUrl::parse("https://user:pw@api.example/a").unwrap();
        let input = assertion_input(
            &f.config,
            "GET",
            &with_userinfo,
            "/a",
            &verified,
            &token,
            UnixTime(NOW),
            [3; 16],
        );
        assert_eq!(input, None);
        // Anything but an absolute http(s) URL never becomes an `AbsoluteUrl` to ask with.
        for url in ["ftp://api.example/a", "/a", "api.example/a"] {
            assert!(AbsoluteUrl::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn path_parameters_and_mounts() {
        let f = fixture(json!({
            "routes": [{"path": "/public/*", "auth": "none"}, {"path": "/admin/*", "roles": ["admin"]}],
            "default": {"auth": "none"},
        }));
        let get = |path: &str| plan(&f.config, &head("GET", path, None, None));
        // Tomcat, Jetty and Spring resolve `/public/..;/admin/x` to `/admin/x`: refused, not public.
        for ambiguous in ["/public/..;/admin/x", "/public/x;a=b", "/public/%3B"] {
            assert_eq!(
                get(ambiguous),
                Plan::Refuse(Refusal::Path(edge_auth_core::PathError::PathParameter)),
                "{ambiguous}"
            );
        }
        // `/admin/*` guards `/admin` and `/admin/` too, even with a permissive default rule.
        for mount in ["/admin", "/admin/", "/admin/x", "//admin"] {
            assert_eq!(get(mount), Plan::Refuse(Refusal::TokenMissing), "{mount}");
        }
        // Case: by default `/ADMIN` is another path (it falls to the default rule) …
        assert!(matches!(
            get("/ADMIN/x"),
            Plan::ForwardAnonymous { route: None, .. }
        ));
        // … and with case-insensitive matching it is guarded by `/admin/*`.
        let ci = fixture(json!({
            "routes": [{"path": "/admin/*", "roles": ["admin"]}],
            "default": {"auth": "none"},
            "paths": {"case_insensitive": true},
        }));
        assert_eq!(
            plan(&ci.config, &head("GET", "/ADMIN/x", None, None)),
            Plan::Refuse(Refusal::TokenMissing)
        );
        // Matrix parameters, when allowed, are ignored for matching and kept for the origin.
        let matrix = fixture(json!({
            "routes": [{"path": "/public/*", "auth": "none"}, {"path": "/admin/*", "roles": ["admin"]}],
            "default": {"auth": "none"},
            "paths": {"allow_matrix_parameters": true},
        }));
        let get = |path: &str| plan(&matrix.config, &head("GET", path, None, None));
        assert_eq!(
            get("/public/..;/admin/x"),
            Plan::Refuse(Refusal::TokenMissing)
        );
        assert_eq!(
            get("/public/a;v=1/b"),
            Plan::ForwardAnonymous {
                route: Some(0),
                path: "/public/a;v=1/b".into()
            }
        );
    }

    #[test]
    fn anonymous_forwards_carry_no_unverified_credentials() {
        let cases = [
            // (forward_token, expected remove_authorization, expected cookie change)
            (false, true, Some(Some("x=1".to_owned()))),
            (true, false, None),
        ];
        for (forward_token, remove, cookie) in cases {
            let f = fixture(json!({
                "routes": [{"path": "/public/*", "auth": "none"}, {"path": "/opt/*", "auth": "optional"}],
                "forward_token": forward_token,
            }));
            for path in ["/public/a", "/opt/a"] {
                // A header that carries no bearer token (another scheme) on an optional route, and a
                // token nobody verified on a `none` route: neither reaches the origin.
                // (On the optional route a token cookie would be verified, so it carries only others.)
                let (authorization, sent_cookie) = if path == "/opt/a" {
                    ("Basic dXNlcg==", "x=1")
                } else {
                    ("Bearer unverified", "x=1; at=zzz")
                };
                let request = head("GET", path, Some(authorization), Some(sent_cookie));
                let Plan::ForwardAnonymous { path: to, .. } = plan(&f.config, &request) else {
                    panic!("{path}: not anonymous")
                };
                let how = forward_anonymous(&f.config, &request, to);
                assert_eq!(how.assertion, None);
                assert_eq!(how.remove_authorization, remove, "{path} {forward_token}");
                assert_eq!(how.cookie, cookie, "{path} {forward_token}");
            }
        }
        // A bearer attempt with a tab is refused, never forwarded anonymously.
        let f = fixture(json!({"routes": [{"path": "/opt/*", "auth": "optional"}]}));
        assert_eq!(
            plan(&f.config, &head("GET", "/opt/a", Some("Bearer\tabc"), None)),
            Plan::Refuse(Refusal::AuthorizationMalformed)
        );
    }

    #[test]
    fn the_edge_owns_cors_response_headers() {
        let f = fixture(
            json!({"cors": {"allowed_origins": ["https://app.example"], "allow_credentials": true}}),
        );
        let own = || {
            vec![
                ("content-type".to_owned(), "text/plain".to_owned()),
                ("Access-Control-Allow-Origin".to_owned(), "*".to_owned()),
                (
                    "access-control-allow-credentials".to_owned(),
                    "true".to_owned(),
                ),
                (
                    "ACCESS-CONTROL-EXPOSE-HEADERS".to_owned(),
                    "x-secret".to_owned(),
                ),
                ("vary".to_owned(), "Accept-Encoding".to_owned()),
            ]
        };
        let answer = |origin: Option<&'static str>| {
            let request = RequestHead {
                origin,
                ..head("GET", "/orders", None, None)
            };
            response_headers(&f.config, &request, own()).unwrap()
        };
        let names = |headers: &[(String, String)]| -> Vec<String> {
            headers
                .iter()
                .map(|(n, v)| format!("{}: {v}", n.to_ascii_lowercase()))
                .collect()
        };
        assert_eq!(
            names(&answer(Some("https://evil.example"))),
            [
                "content-type: text/plain",
                "vary: Accept-Encoding",
                "vary: Origin"
            ]
        );
        assert_eq!(
            names(&answer(Some("https://app.example"))),
            [
                "content-type: text/plain",
                "vary: Accept-Encoding",
                "vary: Origin",
                "access-control-allow-origin: https://app.example",
                "access-control-allow-credentials: true",
            ]
        );
        // Without a `cors` section the origin's headers are the origin's business.
        let plain = fixture(json!({}));
        assert_eq!(
            response_headers(&plain.config, &head("GET", "/", None, None), own()),
            None
        );
    }

    #[test]
    fn origin_variable() {
        let request = AbsoluteUrl::parse("https://api.example/orders/%37?q=1#frag").unwrap();
        let check = |origin: &str, path: &str, expected: &str| {
            let upstream = Upstream::parse(origin).unwrap();
            assert_eq!(
                forward_url(Some(&upstream), &request, path).as_str(),
                expected,
                "{origin}"
            );
        };
        check(
            "https://origin.example",
            "/orders/7",
            "https://origin.example/orders/7?q=1",
        );
        check(
            "https://origin.example/",
            "/orders/7",
            "https://origin.example/orders/7?q=1",
        );
        // A path in ORIGIN is a prefix, never dropped.
        check(
            "https://h.example/api",
            "/orders/7",
            "https://h.example/api/orders/7?q=1",
        );
        check(
            "http://127.0.0.1:8788/api/",
            "/",
            "http://127.0.0.1:8788/api/?q=1",
        );
        assert_eq!(
            forward_url(None, &request, "/orders/7").as_str(),
            "https://api.example/orders/7?q=1"
        );
        for bad in [
            "origin.example",
            "ftp://origin.example",
            "https://user:pw@origin.example",
            "https://origin.example/?a=1",
            "https://origin.example/#x",
            "not a url",
        ] {
            let error = Upstream::parse(bad).unwrap_err();
            assert!(!error.contains("pw"), "{error}");
        }
    }
}
