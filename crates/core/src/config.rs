//! The `EDGE_AUTH` configuration: parsed from JSON (a wrangler `[vars.EDGE_AUTH]` table arrives as a JSON
//! object; a JSON string is accepted too), validated, and compiled once into an immutable [`GateConfig`].
//! Every mistake is reported with its field path (`issuers[1].audiences: empty list`), all at once.

use core::fmt;

use serde::Deserialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::alg::Algorithm;
use crate::assertion::AssertionSettings;
use crate::b64;
use crate::jwk::SigningKey;
use crate::keyset::KeySet;
use crate::token::Limits;
use crate::verifier::{IssuerPolicy, Verifier, DEFAULT_LEEWAY};

/// Where secret values come from (Workers secrets in the Worker, a map in tests). Config names secrets;
/// it never holds them.
pub trait SecretSource {
    fn secret(&self, name: &str) -> Option<String>;
}

impl SecretSource for std::collections::HashMap<String, String> {
    fn secret(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// One configuration mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `issuers[0].jwks.keys[2]`, `assertion.ttl_seconds`, … (empty for the document itself).
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "EDGE_AUTH: {}", self.message)
        } else {
            write!(f, "EDGE_AUTH.{}: {}", self.path, self.message)
        }
    }
}

/// All the mistakes in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    leeway_seconds: Option<u64>,
    #[serde(default)]
    realm: Option<String>,
    #[serde(default)]
    forward_token: bool,
    #[serde(default)]
    token_cookie: Option<String>,
    #[serde(default)]
    max_token_bytes: Option<usize>,
    #[serde(default)]
    cache: Option<RawCache>,
    issuers: Vec<RawIssuer>,
    assertion: RawAssertion,
    #[serde(default)]
    routes: Vec<RawRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCache {
    max_entries: Option<usize>,
    max_ttl_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssuer {
    issuer: String,
    audiences: Vec<String>,
    algorithms: Vec<String>,
    #[serde(default)]
    jwks: Option<Value>,
    #[serde(default)]
    hmac_secret: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    leeway_seconds: Option<u64>,
    #[serde(default)]
    max_age_seconds: Option<u64>,
    #[serde(default)]
    require_sub: bool,
    #[serde(default)]
    required_claims: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssertion {
    #[serde(default)]
    header: Option<String>,
    issuer: String,
    audience: String,
    #[serde(default)]
    ttl_seconds: Option<u64>,
    signing_key_secret: String,
    #[serde(default)]
    previous_signing_key_secret: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    path: String,
    #[serde(default)]
    methods: Option<Vec<String>>,
    auth: Auth,
}

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    /// Forwarded without a token (spoofed assertion headers are still stripped).
    None,
    /// A valid token is required.
    Required,
}

/// A path pattern: exact, or a prefix ending in `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathPattern {
    Exact(String),
    Prefix(String),
}

/// One compiled route rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pattern: PathPattern,
    methods: Option<Vec<String>>,
    pub auth: Auth,
    /// The rule's position in `routes`, for logs.
    pub index: usize,
}

impl Route {
    fn matches(&self, method: &str, path: &str) -> bool {
        let path_ok = match &self.pattern {
            PathPattern::Exact(p) => path == p,
            PathPattern::Prefix(p) => path.starts_with(p.as_str()),
        };
        path_ok
            && self
                .methods
                .as_ref()
                .is_none_or(|methods| methods.iter().any(|m| m == method))
    }
}

/// Bounds of the verified-token cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// Entries per generation (the cache holds at most twice this).
    pub max_entries: usize,
    pub max_ttl_seconds: u64,
}

/// The assertion part, compiled: settings, the signing key, and the public JWKS to serve.
#[derive(Debug)]
pub struct AssertionConfig {
    /// The header name, lower-cased (HTTP header names are case-insensitive).
    pub header: String,
    pub settings: AssertionSettings,
    pub signing_key: SigningKey,
    /// The public JWKS (current key, then the previous one while rotating), serialised once.
    pub jwks_json: String,
}

/// The issuer of the embedded demo (`scripts/demo.sh`). A configuration that names it is a demo
/// configuration: the Worker serves it on loopback hosts only.
pub const DEMO_ISSUER: &str = "https://demo-issuer.edge-auth.invalid/";

/// The whole configuration, compiled. Requests see only this.
#[derive(Debug)]
pub struct GateConfig {
    /// True when an issuer is [`DEMO_ISSUER`]: such a configuration must never serve real traffic.
    pub demo: bool,
    pub verifier: Verifier,
    pub routes: Vec<Route>,
    pub assertion: AssertionConfig,
    pub realm: String,
    pub forward_token: bool,
    pub token_cookie: Option<String>,
    pub cache: CacheSettings,
}

impl GateConfig {
    /// The first route that matches, if any (no match means a token is required).
    pub fn route(&self, method: &str, path: &str) -> Option<&Route> {
        self.routes.iter().find(|r| r.matches(method, path))
    }

    /// Parses and compiles a configuration given as a JSON value: an object, or a string holding one.
    pub fn from_value(
        value: &Value,
        secrets: &dyn SecretSource,
    ) -> Result<GateConfig, ConfigErrors> {
        let parsed: Result<RawConfig, _> = match value {
            Value::String(text) => {
                let mut de = serde_json::Deserializer::from_str(text);
                serde_path_to_error::deserialize(&mut de).map_err(|e| {
                    let (path, inner) = (e.path().to_string(), e.into_inner());
                    (path, inner.to_string())
                })
            }
            other => serde_path_to_error::deserialize(other).map_err(|e| {
                let (path, inner) = (e.path().to_string(), e.into_inner());
                (path, inner.to_string())
            }),
        };
        let raw = parsed.map_err(|(path, message)| {
            ConfigErrors(vec![ConfigError {
                path: if path == "." || path == "?" {
                    String::new()
                } else {
                    path
                },
                message,
            }])
        })?;
        compile(raw, secrets)
    }
}

/// Collects errors so that one run reports every mistake.
struct Errors(Vec<ConfigError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// Assertion signing keys may use only these.
const ASSERTION_ALGORITHMS: [Algorithm; 3] = [Algorithm::EdDsa, Algorithm::Es256, Algorithm::Hs256];
const MAX_ASSERTION_TTL: u64 = 300;

fn compile(raw: RawConfig, secrets: &dyn SecretSource) -> Result<GateConfig, ConfigErrors> {
    let mut errors = Errors(Vec::new());
    let leeway = raw.leeway_seconds.unwrap_or(DEFAULT_LEEWAY);
    let mut limits = Limits::default();
    if let Some(max) = raw.max_token_bytes {
        if !(256..=65_536).contains(&max) {
            errors.push("max_token_bytes", "must be between 256 and 65536");
        }
        limits.max_token_bytes = max;
    }

    if raw.issuers.is_empty() {
        errors.push("issuers", "empty list: configure at least one issuer");
    }
    let demo = raw.issuers.iter().any(|i| i.issuer == DEMO_ISSUER);
    let mut policies = Vec::new();
    for (i, issuer) in raw.issuers.into_iter().enumerate() {
        if let Some(policy) = compile_issuer(i, issuer, leeway, secrets, &mut errors) {
            policies.push(policy);
        }
    }
    let verifier = if errors.0.is_empty() {
        Verifier::new(policies, limits)
            .map_err(|e| errors.push(e.field, e.reason))
            .ok()
    } else {
        None
    };

    let assertion = compile_assertion(raw.assertion, secrets, &mut errors);
    let routes = compile_routes(raw.routes, &mut errors);
    let realm = raw.realm.unwrap_or_else(|| "edge-auth".to_owned());
    if !is_quotable(&realm) {
        errors.push("realm", "must be printable ASCII without `\"` or `\\`");
    }
    if let Some(cookie) = &raw.token_cookie {
        if cookie.is_empty() || !cookie.bytes().all(is_token_char) {
            errors.push("token_cookie", "must be a cookie name (an HTTP token)");
        }
    }
    let cache = CacheSettings {
        max_entries: raw
            .cache
            .as_ref()
            .and_then(|c| c.max_entries)
            .unwrap_or(1024),
        max_ttl_seconds: raw
            .cache
            .as_ref()
            .and_then(|c| c.max_ttl_seconds)
            .unwrap_or(300),
    };
    if !(1..=100_000).contains(&cache.max_entries) {
        errors.push("cache.max_entries", "must be between 1 and 100000");
    }
    if cache.max_ttl_seconds > 3600 {
        errors.push("cache.max_ttl_seconds", "must be at most 3600");
    }
    match (verifier, assertion, errors.0.is_empty()) {
        (Some(verifier), Some(assertion), true) => Ok(GateConfig {
            demo,
            verifier,
            routes,
            assertion,
            realm,
            forward_token: raw.forward_token,
            token_cookie: raw.token_cookie,
            cache,
        }),
        _ => Err(ConfigErrors(errors.0)),
    }
}

fn compile_issuer(
    i: usize,
    raw: RawIssuer,
    leeway: u64,
    secrets: &dyn SecretSource,
    errors: &mut Errors,
) -> Option<IssuerPolicy> {
    let at = |field: &str| format!("issuers[{i}].{field}");
    let before = errors.0.len();
    let mut algorithms = Vec::new();
    for (j, name) in raw.algorithms.iter().enumerate() {
        match Algorithm::from_name(name) {
            Some(alg) => algorithms.push(alg),
            None => errors.push(
                at(&format!("algorithms[{j}]")),
                format!("unknown algorithm {name:?}"),
            ),
        }
    }
    let symmetric = algorithms.iter().any(|a| a.is_symmetric());
    let keys = match (raw.jwks, raw.hmac_secret) {
        (Some(_), Some(_)) => {
            errors.push(at("jwks"), "give either `jwks` or `hmac_secret`, not both");
            None
        }
        (None, None) => {
            errors.push(
                at("jwks"),
                "missing: give `jwks` (or `hmac_secret` for HS* issuers)",
            );
            None
        }
        (Some(jwks), None) => {
            if symmetric {
                errors.push(
                    at("jwks"),
                    "HS* keys are secrets: put them in a Workers secret and name it in `hmac_secret`",
                );
                None
            } else {
                KeySet::from_jwks_json(jwks.to_string().as_bytes())
                    .map_err(|e| match e.index {
                        Some(k) => errors.push(at(&format!("jwks.keys[{k}]")), e.error.to_string()),
                        None => errors.push(at("jwks"), e.error.to_string()),
                    })
                    .ok()
            }
        }
        (None, Some(name)) => match secrets.secret(&name) {
            None => {
                errors.push(at("hmac_secret"), format!("the secret {name:?} is not set"));
                None
            }
            Some(value) => {
                let value = Zeroizing::new(value);
                let jwk = Zeroizing::new(format!(
                    r#"{{"kty":"oct","k":"{}"}}"#,
                    b64::encode(value.as_bytes())
                ));
                KeySet::from_jwk_json(jwk.as_bytes())
                    .map_err(|e| {
                        errors.push(
                            at("hmac_secret"),
                            format!("the secret {name:?}: {}", e.error),
                        )
                    })
                    .ok()
            }
        },
    };
    if raw.audiences.is_empty() {
        errors.push(at("audiences"), "empty list");
    }
    let keys = keys?;
    if errors.0.len() > before {
        return None;
    }
    let mut builder = IssuerPolicy::builder(raw.issuer, algorithms, keys)
        .audiences(raw.audiences)
        .leeway(raw.leeway_seconds.unwrap_or(leeway))
        .require_claims(raw.required_claims);
    if let Some(typ) = raw.typ {
        builder = builder.typ(typ);
    }
    if let Some(max_age) = raw.max_age_seconds {
        builder = builder.max_age(max_age);
    }
    if raw.require_sub {
        builder = builder.require_sub();
    }
    builder
        .build()
        .map_err(|e| {
            let field = match e.field.as_str() {
                "leeway_seconds" if raw.leeway_seconds.is_none() => "leeway_seconds".to_owned(),
                other => at(other),
            };
            errors.push(field, e.reason);
        })
        .ok()
}

fn signing_key(
    path: &str,
    name: &str,
    secrets: &dyn SecretSource,
    errors: &mut Errors,
) -> Option<SigningKey> {
    let Some(value) = secrets.secret(name) else {
        errors.push(path, format!("the secret {name:?} is not set"));
        return None;
    };
    let value = Zeroizing::new(value);
    match SigningKey::from_json(value.as_bytes(), None) {
        // The assertion's `kid` is always the key's RFC 7638 thumbprint.
        Ok(key) if ASSERTION_ALGORITHMS.contains(&key.algorithm()) => {
            Some(key.with_thumbprint_kid())
        }
        Ok(key) => {
            errors.push(
                path,
                format!(
                    "the secret {name:?} holds a {} key; assertions are signed with EdDSA, ES256 or HS256",
                    key.algorithm()
                ),
            );
            None
        }
        Err(e) => {
            errors.push(
                path,
                format!("the secret {name:?} is not a private JWK: {e}"),
            );
            None
        }
    }
}

fn compile_assertion(
    raw: RawAssertion,
    secrets: &dyn SecretSource,
    errors: &mut Errors,
) -> Option<AssertionConfig> {
    let header = raw
        .header
        .unwrap_or_else(|| "Edge-Auth-Assertion".to_owned())
        .to_ascii_lowercase();
    if header.is_empty() || !header.bytes().all(is_token_char) {
        errors.push("assertion.header", "must be an HTTP header name");
    }
    const RESERVED: [&str; 6] = [
        "authorization",
        "cookie",
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
    ];
    if RESERVED.contains(&header.as_str()) {
        errors.push(
            "assertion.header",
            format!("{header:?} is a standard header"),
        );
    }
    let ttl = raw.ttl_seconds.unwrap_or(60);
    if !(1..=MAX_ASSERTION_TTL).contains(&ttl) {
        errors.push(
            "assertion.ttl_seconds",
            format!("must be between 1 and {MAX_ASSERTION_TTL}"),
        );
    }
    for (field, value) in [
        ("assertion.issuer", &raw.issuer),
        ("assertion.audience", &raw.audience),
    ] {
        if value.is_empty() {
            errors.push(field, "must not be empty");
        }
    }
    let current = signing_key(
        "assertion.signing_key_secret",
        &raw.signing_key_secret,
        secrets,
        errors,
    );
    let previous = raw.previous_signing_key_secret.as_deref().and_then(|name| {
        signing_key(
            "assertion.previous_signing_key_secret",
            name,
            secrets,
            errors,
        )
    });
    let current = current?;
    let mut keys = vec![Value::Object(current.public_key().to_jwk())];
    if let Some(previous) = &previous {
        if previous.kid() == current.kid() {
            errors.push(
                "assertion.previous_signing_key_secret",
                "holds the same key (or kid) as signing_key_secret",
            );
        }
        keys.push(Value::Object(previous.public_key().to_jwk()));
    }
    // An HS256 assertion key is a shared secret with the origin: it is never published.
    if current.algorithm().is_symmetric() {
        keys.clear();
    }
    Some(AssertionConfig {
        header,
        settings: AssertionSettings {
            issuer: raw.issuer,
            audience: raw.audience,
            ttl_seconds: ttl,
        },
        signing_key: current,
        jwks_json: serde_json::json!({ "keys": keys }).to_string(),
    })
}

fn compile_routes(raw: Vec<RawRoute>, errors: &mut Errors) -> Vec<Route> {
    let mut routes = Vec::with_capacity(raw.len());
    for (i, route) in raw.into_iter().enumerate() {
        let at = |field: &str| format!("routes[{i}].{field}");
        if !route.path.starts_with('/') {
            errors.push(at("path"), "must start with `/`");
            continue;
        }
        let stars = route.path.matches('*').count();
        let pattern = match route.path.strip_suffix('*') {
            Some(prefix) if stars == 1 => PathPattern::Prefix(prefix.to_owned()),
            None if stars == 0 => PathPattern::Exact(route.path.clone()),
            _ => {
                errors.push(at("path"), "`*` is allowed only once, at the end");
                continue;
            }
        };
        let methods = match route.methods {
            Some(methods) if methods.is_empty() => {
                errors.push(at("methods"), "empty list (omit it to match every method)");
                continue;
            }
            Some(methods) => {
                if let Some(bad) = methods
                    .iter()
                    .find(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()))
                {
                    errors.push(
                        at("methods"),
                        format!("{bad:?} is not an upper-case HTTP method"),
                    );
                    continue;
                }
                Some(methods)
            }
            None => None,
        };
        routes.push(Route {
            pattern,
            methods,
            auth: route.auth,
            index: i,
        });
    }
    routes
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_quotable(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}
