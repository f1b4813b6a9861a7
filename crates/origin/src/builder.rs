//! [`EdgeAuthBuilder`]: the origin's settings, checked once by [`build`](EdgeAuthBuilder::build).

use std::sync::Arc;

use edge_auth_core::{
    check_url, AbsoluteUrl, AssertionVerifier, RemoteSettings, DEFAULT_ASSERTION_LEEWAY,
};
use http::HeaderName;

use crate::clock::{Clock, SystemClock};
use crate::keys::RemoteKeys;
use crate::rejection::DEFAULT_REALM;
use crate::verify::{EdgeAuth, Inner};

/// The header the Worker puts the assertion in (its `assertion.header` default).
pub const DEFAULT_HEADER: &str = "edge-auth-assertion";

impl EdgeAuth {
    /// Starts the settings ([`EdgeAuthBuilder`]).
    pub fn builder() -> EdgeAuthBuilder {
        EdgeAuthBuilder::default()
    }
}

/// Builds an [`EdgeAuth`]. `jwks_url`, `issuer`, `audience` and `public_url` (or
/// `trust_forwarded(true)`) must be given: nothing security-relevant has a default.
///
/// ```
/// use edge_auth_origin::EdgeAuth;
///
/// let edge = EdgeAuth::builder()
///     .jwks_url("https://edge.example/.well-known/edge-auth/jwks.json")
///     .issuer("https://edge.example")
///     .audience("https://api.example")
///     .public_url("https://api.example")
///     .leeway(5)
///     .build()?;
/// assert_eq!(edge.header_name().as_str(), "edge-auth-assertion");
///
/// let missing = EdgeAuth::builder().issuer("https://edge.example").build().unwrap_err();
/// assert_eq!(missing.field(), "jwks_url");
/// let http = EdgeAuth::builder()
///     .jwks_url("http://edge.example/jwks.json")
///     .issuer("https://edge.example")
///     .audience("https://api.example")
///     .public_url("https://api.example")
///     .build()
///     .unwrap_err();
/// assert_eq!(http.field(), "jwks_url");
/// # Ok::<(), edge_auth_origin::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct EdgeAuthBuilder {
    jwks_url: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
    public_url: Option<String>,
    trust_forwarded: bool,
    leeway: u64,
    header: String,
    realm: String,
    settings: RemoteSettings,
    clock: Arc<dyn Clock>,
}

impl Default for EdgeAuthBuilder {
    fn default() -> Self {
        EdgeAuthBuilder {
            jwks_url: None,
            issuer: None,
            audience: None,
            public_url: None,
            trust_forwarded: false,
            leeway: DEFAULT_ASSERTION_LEEWAY,
            header: DEFAULT_HEADER.to_owned(),
            realm: DEFAULT_REALM.to_owned(),
            settings: RemoteSettings::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// A setting [`EdgeAuthBuilder::build`] refused: which, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    field: &'static str,
    reason: String,
}

impl BuildError {
    fn new(field: &'static str, reason: impl Into<String>) -> BuildError {
        BuildError {
            field,
            reason: reason.into(),
        }
    }

    /// The builder method at fault (`jwks_url`, `issuer`, `audience`, `public_url`, `leeway`, `header`,
    /// `realm`, `http_client`).
    pub fn field(&self) -> &'static str {
        self.field
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for BuildError {}

impl EdgeAuthBuilder {
    /// The edge's JWKS (`https://<edge>/.well-known/edge-auth/jwks.json`). `https` only; `http` on a
    /// loopback host with [`RemoteSettings::allow_loopback_http`] (local development and tests).
    #[must_use]
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }

    /// The edge's `assertion.issuer` (the assertion's `iss`, compared exactly).
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The edge's `assertion.audience`: this origin (the assertion's `aud`).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The public URL clients call through the edge (`https://api.example`, optionally with a path
    /// prefix): `htu` must equal it followed by the path this origin received.
    #[must_use]
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// Take the public scheme and host from `Forwarded` (its first element), else `X-Forwarded-Proto`
    /// and `X-Forwarded-Host`, falling back to `public_url`. Only behind a proxy that sets these
    /// itself (and drops the client's): default false.
    #[must_use]
    pub fn trust_forwarded(mut self, trust: bool) -> Self {
        self.trust_forwarded = trust;
        self
    }

    /// Clock leeway in seconds for `exp`, `iat`, `nbf` (default 10: assertions live for seconds).
    #[must_use]
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// The header carrying the assertion (the edge's `assertion.header`; default
    /// `Edge-Auth-Assertion`).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>) -> Self {
        self.header = name.into();
        self
    }

    /// The `realm` of `WWW-Authenticate` challenges (default `edge-auth`, as the Worker's).
    #[must_use]
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// The key cache's bounds (the core's defaults: fresh 5 min – 24 h by `Cache-Control`, unknown-`kid`
    /// cooldown 30 s, failure backoff 10 s, stale-if-error 24 h, fetch timeout 5 s, 256 KiB).
    #[must_use]
    pub fn remote_settings(mut self, settings: RemoteSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The clock (default: the system's). For tests of the time and cache rules.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks every setting and makes the [`EdgeAuth`]. Nothing is fetched yet: the service starts
    /// even when the edge's JWKS is unreachable (see [`EdgeAuth::load_keys`]).
    pub fn build(self) -> Result<EdgeAuth, BuildError> {
        let jwks_url = self
            .jwks_url
            .ok_or_else(|| BuildError::new("jwks_url", "required"))?;
        check_url(&jwks_url, self.settings.allow_loopback_http)
            .map_err(|e| BuildError::new("jwks_url", e.to_string()))?;
        let issuer = self
            .issuer
            .ok_or_else(|| BuildError::new("issuer", "required"))?;
        let audience = self
            .audience
            .ok_or_else(|| BuildError::new("audience", "required"))?;
        let public_url = match self.public_url {
            Some(url) => Some(public_base(&url)?),
            None if self.trust_forwarded => None,
            None => {
                return Err(BuildError::new(
                    "public_url",
                    "required (or trust_forwarded(true) behind a proxy that sets Forwarded)",
                ))
            }
        };
        let header = HeaderName::from_bytes(self.header.to_ascii_lowercase().as_bytes())
            .map_err(|e| BuildError::new("header", e.to_string()))?;
        if self.realm.is_empty()
            || !self
                .realm
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        {
            return Err(BuildError::new(
                "realm",
                "must be printable ASCII without `\"` or `\\`",
            ));
        }
        let verifier = AssertionVerifier::remote(issuer, audience, self.leeway)
            .map_err(|e| BuildError::new("leeway", e.to_string()))?;
        let verifier = Arc::new(verifier);
        let client = crate::fetch::client().map_err(|e| BuildError::new("http_client", e))?;
        let keys = RemoteKeys::new(
            jwks_url,
            self.settings,
            client,
            Arc::clone(&self.clock),
            Arc::clone(&verifier),
        );
        Ok(EdgeAuth {
            inner: Arc::new(Inner {
                verifier,
                keys: Arc::new(keys),
                public_url,
                trust_forwarded: self.trust_forwarded,
                header,
                realm: Arc::from(self.realm),
                clock: self.clock,
            }),
        })
    }
}

/// The public URL without a trailing `/`: an absolute http(s) URL without userinfo, query or fragment.
fn public_base(url: &str) -> Result<String, BuildError> {
    let refuse = |why: &str| Err(BuildError::new("public_url", why));
    let Ok(parsed) = AbsoluteUrl::parse(url) else {
        return refuse("an absolute http(s) URL, like https://api.example");
    };
    if parsed.has_userinfo() || parsed.has_fragment() || url.contains(['?', '#']) {
        return refuse("no userinfo, query or fragment");
    }
    Ok(url.trim_end_matches('/').to_owned())
}
