//! The `EDGE_AUTH` configuration: parsed from JSON (a wrangler `[vars.EDGE_AUTH]` table arrives as a JSON
//! object; a JSON string is accepted too), validated, and compiled once into an immutable [`GateConfig`].
//! Every mistake is reported with its field path (`issuers[1].audiences: empty list`), all at once.

use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::alg::Algorithm;
use crate::assertion::AssertionSettings;
use crate::b64;
use crate::derive::{DerivedKey, DECISION_LOG_INFO, SHARED_CACHE_INFO};
use crate::jwk::SigningKey;
use crate::keyset::KeySet;
use crate::path::PathRules;
use crate::policy::{
    Auth, ClaimMapping, ClaimPath, ClaimRule, Condition, HostPattern, NeedSet, ParamBinding,
    PathPattern, Requirement, Route, RouteTable,
};
use crate::remote::{check_url, RemoteSettings};
use crate::token::Limits;
use crate::verifier::{IssuerPolicy, Verifier, DEFAULT_LEEWAY};
use crate::web::{CorsPolicy, CsrfPolicy};

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
    #[serde(default)]
    default: Option<RawDefault>,
    #[serde(default)]
    cors: Option<RawCors>,
    #[serde(default)]
    csrf: Option<RawCsrf>,
    #[serde(default)]
    remote_keys: Option<RawRemote>,
    #[serde(default)]
    status_endpoint: bool,
    #[serde(default)]
    paths: Option<RawPaths>,
}

/// The verifier part of `EDGE_AUTH` alone (the JS package's `createVerifier`): the same fields, at the
/// same paths, as in [`RawConfig`]; everything else (assertion, routes, CORS, …) is unknown here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerifierConfig {
    #[serde(default)]
    leeway_seconds: Option<u64>,
    #[serde(default)]
    max_token_bytes: Option<usize>,
    #[serde(default)]
    cache: Option<RawCache>,
    issuers: Vec<RawIssuer>,
    #[serde(default)]
    remote_keys: Option<RawRemote>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    #[serde(default)]
    allow_matrix_parameters: bool,
    #[serde(default)]
    case_insensitive: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRemote {
    min_ttl_seconds: Option<u64>,
    max_ttl_seconds: Option<u64>,
    kid_cooldown_seconds: Option<u64>,
    stale_if_error_seconds: Option<u64>,
    error_backoff_seconds: Option<u64>,
    timeout_ms: Option<u64>,
    max_bytes: Option<usize>,
    #[serde(default)]
    allow_loopback_http: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCors {
    allowed_origins: Vec<String>,
    #[serde(default)]
    allowed_methods: Option<Vec<String>>,
    #[serde(default)]
    allowed_headers: Option<Vec<String>>,
    #[serde(default)]
    expose_headers: Vec<String>,
    #[serde(default)]
    max_age_seconds: Option<u64>,
    #[serde(default)]
    allow_credentials: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCsrf {
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    all_requests: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCache {
    max_entries: Option<usize>,
    max_ttl_seconds: Option<u64>,
}

// `Serialize`: the issuer's configuration, serialized, is part of its shared key-cache entry's name.
#[derive(Debug, Deserialize, Serialize)]
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
    #[serde(default)]
    jwks_uri: Option<String>,
    #[serde(default)]
    discovery: bool,
    #[serde(default)]
    scope_claims: Option<Vec<String>>,
    #[serde(default)]
    role_claims: Option<Vec<String>>,
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
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    auth: Option<RawAuth>,
    #[serde(default)]
    issuers: Option<Vec<String>>,
    #[serde(default)]
    bind: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default)]
    scopes: Option<RawNeed>,
    #[serde(default)]
    roles: Option<RawNeed>,
    #[serde(default)]
    claims: Option<Vec<RawClaim>>,
    #[serde(default)]
    any: Option<Vec<RawRequirement>>,
    #[serde(default)]
    all: Option<Vec<RawRequirement>>,
}

// `RawRoute`, `RawDefault` and `RawRequirement` repeat the requirement fields on purpose: serde's
// `deny_unknown_fields` does not work together with `flatten`, and a typo in a requirement must be an
// error naming the field, never a silently ignored (and so absent) requirement.

/// The rule for requests no route matches.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefault {
    #[serde(default)]
    auth: Option<RawAuth>,
    #[serde(default)]
    issuers: Option<Vec<String>>,
    #[serde(default)]
    scopes: Option<RawNeed>,
    #[serde(default)]
    roles: Option<RawNeed>,
    #[serde(default)]
    claims: Option<Vec<RawClaim>>,
    #[serde(default)]
    any: Option<Vec<RawRequirement>>,
    #[serde(default)]
    all: Option<Vec<RawRequirement>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    #[serde(default)]
    scopes: Option<RawNeed>,
    #[serde(default)]
    roles: Option<RawNeed>,
    #[serde(default)]
    claims: Option<Vec<RawClaim>>,
    #[serde(default)]
    any: Option<Vec<RawRequirement>>,
    #[serde(default)]
    all: Option<Vec<RawRequirement>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawAuth {
    None,
    Optional,
    Required,
}

/// `["a", "b"]` (all of them) or `{ all = [...], any = [...] }`.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a list of names (all required) or { all = [...], any = [...] }"
)]
enum RawNeed {
    List(Vec<String>),
    Sets(RawNeedSets),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNeedSets {
    #[serde(default)]
    all: Vec<String>,
    #[serde(default)]
    any: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClaim {
    claim: String,
    #[serde(default)]
    equals: Option<Value>,
    #[serde(default)]
    one_of: Option<Vec<Value>>,
    #[serde(default)]
    contains: Option<Value>,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    exists: Option<bool>,
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

/// Where a remote-keys issuer's JWKS is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteSource {
    /// `jwks_uri = "https://…"`.
    JwksUri(String),
    /// `discovery = true`: the document at this URL (`<issuer>/.well-known/openid-configuration`)
    /// names it.
    Discovery(String),
}

impl RemoteSource {
    /// The URL the Worker fetches first: the JWKS, or the discovery document.
    pub fn url(&self) -> &str {
        match self {
            RemoteSource::JwksUri(url) | RemoteSource::Discovery(url) => url,
        }
    }
}

/// A remote-keys issuer's source, and where its fetched set is shared with other isolates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteKeys {
    pub source: RemoteSource,
    /// The Workers Cache API key of the shared set: a URL that is never fetched, naming a SHA-256 of
    /// the issuer, the source URL and the issuer's whole configuration, so that a set is only ever
    /// reused by an isolate whose configuration of that issuer is the same.
    pub shared_cache_key: String,
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
    pub routes: RouteTable,
    pub assertion: AssertionConfig,
    /// Preflights are answered at the edge from this; `None`: no CORS handling.
    pub cors: Option<CorsPolicy>,
    pub csrf: CsrfPolicy,
    /// Per issuer (configuration order): where its keys are fetched, for remote-keys issuers.
    pub remote_sources: Vec<Option<RemoteKeys>>,
    pub remote: RemoteSettings,
    /// Serve `GET /.well-known/edge-auth/status` (per issuer key ids, age, last fetch error).
    pub status_endpoint: bool,
    pub realm: String,
    pub forward_token: bool,
    pub token_cookie: Option<String>,
    pub cache: CacheSettings,
    /// Authenticates shared key-cache entries (derived from the assertion signing key).
    pub shared_cache_mac: DerivedKey,
    /// Keys the decision log's `sub_hash` (derived from the assertion signing key).
    pub decision_log_key: DerivedKey,
}

impl GateConfig {
    /// Parses and compiles a configuration given as a JSON value: an object, or a string holding one.
    pub fn from_value(
        value: &Value,
        secrets: &dyn SecretSource,
    ) -> Result<GateConfig, ConfigErrors> {
        compile(parse_raw(value)?, secrets)
    }
}

/// Only the verifier part of the configuration: `issuers`, `leeway_seconds`, `max_token_bytes`,
/// `cache` and `remote_keys`, compiled by the same code and with the same field paths and errors as in
/// a [`GateConfig`] (the JS package's `createVerifier`, which has no routes and signs no assertion).
#[derive(Debug)]
pub struct VerifierConfig {
    pub verifier: Verifier,
    /// Per issuer (configuration order): where its keys are fetched, for remote-keys issuers.
    pub remote_sources: Vec<Option<RemoteKeys>>,
    pub remote: RemoteSettings,
    pub cache: CacheSettings,
}

impl VerifierConfig {
    /// Parses and compiles the verifier part, given as a JSON object or a string holding one. Any other
    /// member (`assertion`, `routes`, …) is an error naming it: a verifier enforces no route.
    pub fn from_value(
        value: &Value,
        secrets: &dyn SecretSource,
    ) -> Result<VerifierConfig, ConfigErrors> {
        let raw: RawVerifierConfig = parse_raw(value)?;
        let mut errors = Errors(Vec::new());
        let parts = compile_verifier(
            raw.leeway_seconds,
            raw.max_token_bytes,
            raw.issuers,
            raw.remote_keys,
            secrets,
            &mut errors,
        );
        let cache = compile_cache(raw.cache.as_ref(), &mut errors);
        match (parts.verifier, errors.0.is_empty()) {
            (Some(verifier), true) => Ok(VerifierConfig {
                verifier,
                remote_sources: parts.remote_sources,
                remote: parts.remote,
                cache,
            }),
            _ => Err(ConfigErrors(errors.0)),
        }
    }
}

/// Deserializes a raw configuration from a JSON value (an object, or a string holding one), the first
/// mistake reported with its field path. A string is read by the strict JSON parser (a duplicate member
/// is ambiguous, so it is refused), then deserialized like an object: one path through
/// `serde_path_to_error` per configuration type, which keeps the Worker's wasm smaller.
fn parse_raw<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, ConfigErrors> {
    let one = |path: String, message: String| {
        ConfigErrors(vec![ConfigError {
            path: if path == "." || path == "?" {
                String::new()
            } else {
                path
            },
            message,
        }])
    };
    let parsed;
    let value = match value {
        Value::String(text) => {
            parsed = Value::Object(
                crate::json::parse_object(text.as_bytes())
                    .map_err(|e| one(String::new(), e.to_string()))?,
            );
            &parsed
        }
        other => other,
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let (path, inner) = (e.path().to_string(), e.into_inner());
        one(path, inner.to_string())
    })
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

/// The verifier part of a configuration, compiled (shared by [`GateConfig`] and [`VerifierConfig`]).
struct VerifierParts {
    /// `None` when any mistake was found so far.
    verifier: Option<Verifier>,
    remote_sources: Vec<Option<RemoteKeys>>,
    remote: RemoteSettings,
    demo: bool,
    issuer_names: Vec<String>,
}

/// Compiles `leeway_seconds`, `max_token_bytes`, `remote_keys` and `issuers` into the verifier.
fn compile_verifier(
    leeway_seconds: Option<u64>,
    max_token_bytes: Option<usize>,
    issuers: Vec<RawIssuer>,
    remote_keys: Option<RawRemote>,
    secrets: &dyn SecretSource,
    errors: &mut Errors,
) -> VerifierParts {
    let leeway = leeway_seconds.unwrap_or(DEFAULT_LEEWAY);
    let mut limits = Limits::default();
    if let Some(max) = max_token_bytes {
        if !(256..=65_536).contains(&max) {
            errors.push("max_token_bytes", "must be between 256 and 65536");
        }
        limits.max_token_bytes = max;
    }

    if issuers.is_empty() {
        errors.push("issuers", "empty list: configure at least one issuer");
    }
    let demo = issuers.iter().any(|i| i.issuer == DEMO_ISSUER);
    let issuer_names: Vec<String> = issuers.iter().map(|i| i.issuer.clone()).collect();
    let remote = compile_remote(remote_keys, errors);
    let mut policies = Vec::new();
    let mut remote_sources = Vec::new();
    for (i, issuer) in issuers.into_iter().enumerate() {
        if let Some((policy, source)) = compile_issuer(i, issuer, leeway, &remote, secrets, errors)
        {
            policies.push(policy);
            remote_sources.push(source);
        }
    }
    let verifier = if errors.0.is_empty() {
        Verifier::new(policies, limits)
            .map_err(|e| errors.push(e.field, e.reason))
            .ok()
    } else {
        None
    };
    VerifierParts {
        verifier,
        remote_sources,
        remote,
        demo,
        issuer_names,
    }
}

/// The verified-token cache's bounds.
fn compile_cache(raw: Option<&RawCache>, errors: &mut Errors) -> CacheSettings {
    let cache = CacheSettings {
        max_entries: raw.and_then(|c| c.max_entries).unwrap_or(1024),
        max_ttl_seconds: raw.and_then(|c| c.max_ttl_seconds).unwrap_or(300),
    };
    if !(1..=100_000).contains(&cache.max_entries) {
        errors.push("cache.max_entries", "must be between 1 and 100000");
    }
    if cache.max_ttl_seconds > 3600 {
        errors.push("cache.max_ttl_seconds", "must be at most 3600");
    }
    cache
}

fn compile(raw: RawConfig, secrets: &dyn SecretSource) -> Result<GateConfig, ConfigErrors> {
    let mut errors = Errors(Vec::new());
    let VerifierParts {
        verifier,
        remote_sources,
        remote,
        demo,
        issuer_names,
    } = compile_verifier(
        raw.leeway_seconds,
        raw.max_token_bytes,
        raw.issuers,
        raw.remote_keys,
        secrets,
        &mut errors,
    );

    let assertion = compile_assertion(raw.assertion, secrets, &mut errors);
    let paths = raw.paths.map_or_else(PathRules::default, |p| PathRules {
        allow_matrix_parameters: p.allow_matrix_parameters,
        case_insensitive: p.case_insensitive,
    });
    let routes = compile_routes(raw.routes, raw.default, &issuer_names, paths, &mut errors);
    let cors = raw.cors.and_then(|c| compile_cors(c, &mut errors));
    let csrf = compile_csrf(raw.csrf, &mut errors);
    let realm = raw.realm.unwrap_or_else(|| "edge-auth".to_owned());
    if !is_quotable(&realm) {
        errors.push("realm", "must be printable ASCII without `\"` or `\\`");
    }
    if let Some(cookie) = &raw.token_cookie {
        if cookie.is_empty() || !cookie.bytes().all(is_token_char) {
            errors.push("token_cookie", "must be a cookie name (an HTTP token)");
        }
    }
    let cache = compile_cache(raw.cache.as_ref(), &mut errors);
    match (verifier, assertion, errors.0.is_empty()) {
        (Some(verifier), Some(assertion), true) => Ok(GateConfig {
            shared_cache_mac: DerivedKey::from_signing_key(
                &assertion.signing_key,
                SHARED_CACHE_INFO,
            ),
            decision_log_key: DerivedKey::from_signing_key(
                &assertion.signing_key,
                DECISION_LOG_INFO,
            ),
            demo,
            verifier,
            routes,
            assertion,
            cors,
            csrf,
            remote_sources,
            remote,
            status_endpoint: raw.status_endpoint,
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
    remote_settings: &RemoteSettings,
    secrets: &dyn SecretSource,
    errors: &mut Errors,
) -> Option<(IssuerPolicy, Option<RemoteKeys>)> {
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
    let given = [
        raw.jwks.is_some(),
        raw.hmac_secret.is_some(),
        raw.jwks_uri.is_some(),
        raw.discovery,
    ];
    let mut remote = None;
    let keys = if given.iter().filter(|g| **g).count() > 1 {
        errors.push(
            at("jwks"),
            "give exactly one of `jwks`, `jwks_uri`, `discovery = true` or `hmac_secret`, not several",
        );
        None
    } else if raw.jwks_uri.is_some() || raw.discovery {
        if symmetric {
            errors.push(
                at("algorithms"),
                "HS* keys are secrets: they cannot come from a URL (use `hmac_secret`)",
            );
        }
        let loopback = remote_settings.allow_loopback_http;
        let source = match &raw.jwks_uri {
            Some(url) => check_url(url, loopback)
                .map(|()| RemoteSource::JwksUri(url.clone()))
                .map_err(|e| errors.push(at("jwks_uri"), format!("{url:?}: {e}"))),
            None => check_url(&raw.issuer, loopback)
                .map(|()| {
                    RemoteSource::Discovery(format!(
                        "{}/.well-known/openid-configuration",
                        raw.issuer.trim_end_matches('/')
                    ))
                })
                .map_err(|e| {
                    errors.push(
                        at("discovery"),
                        format!("the issuer is where discovery looks: {e}"),
                    )
                }),
        };
        remote = source.ok().map(|source| RemoteKeys {
            shared_cache_key: shared_cache_key(&raw, &source),
            source,
        });
        Some(KeySet::empty())
    } else {
        match (raw.jwks, raw.hmac_secret) {
            (Some(_), Some(_)) => None,
            (None, None) => {
                errors.push(
                    at("jwks"),
                    "missing: give `jwks`, `jwks_uri` or `discovery = true` (or `hmac_secret` for HS* issuers)",
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
                            Some(k) => {
                                errors.push(at(&format!("jwks.keys[{k}]")), e.error.to_string())
                            }
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
        }
    };
    if raw.audiences.is_empty() {
        errors.push(at("audiences"), "empty list");
    }
    let mut mapping = ClaimMapping::default();
    for (field, given, target) in [
        ("scope_claims", raw.scope_claims, &mut mapping.scope_claims),
        ("role_claims", raw.role_claims, &mut mapping.role_claims),
    ] {
        if let Some(given) = given {
            *target = claim_paths(&at(field), &given, errors);
        }
    }
    let keys = keys?;
    if errors.0.len() > before {
        return None;
    }
    let mut builder = if remote.is_some() {
        IssuerPolicy::builder_remote(raw.issuer, algorithms)
    } else {
        IssuerPolicy::builder(raw.issuer, algorithms, keys)
    }
    .audiences(raw.audiences)
    .leeway(raw.leeway_seconds.unwrap_or(leeway))
    .require_claims(raw.required_claims)
    .claim_mapping(mapping);
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
        .map(|policy| (policy, remote))
}

/// See [`RemoteKeys::shared_cache_key`].
fn shared_cache_key(raw: &RawIssuer, source: &RemoteSource) -> String {
    // Serializing plain strings, numbers and JSON values cannot fail; were it to, the empty text still
    // names the issuer and its source.
    let config = serde_json::to_string(raw).unwrap_or_default();
    let digest = Sha256::new()
        .chain_update(raw.issuer.as_bytes())
        .chain_update(b"\0")
        .chain_update(source.url().as_bytes())
        .chain_update(b"\0")
        .chain_update(config.as_bytes())
        .finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("https://edge-auth-keys.invalid/v2/{hex}")
}

fn compile_remote(raw: Option<RawRemote>, errors: &mut Errors) -> RemoteSettings {
    let d = RemoteSettings::default();
    let Some(raw) = raw else {
        return d;
    };
    let settings = RemoteSettings {
        min_ttl: raw.min_ttl_seconds.unwrap_or(d.min_ttl),
        max_ttl: raw.max_ttl_seconds.unwrap_or(d.max_ttl),
        kid_cooldown: raw.kid_cooldown_seconds.unwrap_or(d.kid_cooldown),
        stale_if_error: raw.stale_if_error_seconds.unwrap_or(d.stale_if_error),
        error_backoff: raw.error_backoff_seconds.unwrap_or(d.error_backoff),
        timeout_ms: raw.timeout_ms.unwrap_or(d.timeout_ms),
        max_bytes: raw.max_bytes.unwrap_or(d.max_bytes),
        allow_loopback_http: raw.allow_loopback_http,
    };
    let checks: [(&str, u64, u64, u64); 6] = [
        ("remote_keys.min_ttl_seconds", settings.min_ttl, 1, 86_400),
        (
            "remote_keys.max_ttl_seconds",
            settings.max_ttl,
            settings.min_ttl,
            7 * 86_400,
        ),
        (
            "remote_keys.kid_cooldown_seconds",
            settings.kid_cooldown,
            1,
            3_600,
        ),
        (
            "remote_keys.stale_if_error_seconds",
            settings.stale_if_error,
            0,
            7 * 86_400,
        ),
        (
            "remote_keys.error_backoff_seconds",
            settings.error_backoff,
            1,
            3_600,
        ),
        ("remote_keys.timeout_ms", settings.timeout_ms, 100, 30_000),
    ];
    for (field, value, min, max) in checks {
        if !(min..=max).contains(&value) {
            errors.push(field, format!("must be between {min} and {max}"));
        }
    }
    if !(1024..=4 * 1024 * 1024).contains(&settings.max_bytes) {
        errors.push("remote_keys.max_bytes", "must be between 1024 and 4194304");
    }
    settings
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
    if let Some(previous) = &previous {
        // Kids are compared only when both keys have one: an HS256 key has none of its own.
        let same_kid = previous.kid().is_some() && previous.kid() == current.kid();
        if same_kid || previous.public_key().same_material(current.public_key()) {
            errors.push(
                "assertion.previous_signing_key_secret",
                "holds the same key (or kid) as signing_key_secret",
            );
        }
        // A symmetric key is never published, so across the two slots it would either not be
        // announced (origins verifying with the JWKS refuse what it signed) or announce nothing the
        // other kind of origin can use. Rotating between a shared secret and a key pair is done by
        // configuring origins with both, then switching `signing_key_secret` alone.
        if previous.algorithm().is_symmetric() != current.algorithm().is_symmetric() {
            errors.push(
                "assertion.previous_signing_key_secret",
                format!(
                    "holds a {} key while signing_key_secret holds a {} key: a rotation keeps both \
                     symmetric (HS256) or both asymmetric; to move between the two, give origins \
                     both keys first and switch signing_key_secret without a previous key",
                    previous.algorithm(),
                    current.algorithm()
                ),
            );
        }
    }
    let keys = published_jwks(&current, previous.as_ref());
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

/// The assertion JWKS the Worker serves: the public keys of the asymmetric slots, current first. A
/// symmetric key is the origin's shared secret and is never published, whichever slot holds it; and
/// the published members are checked to be public ones, so that no change elsewhere can leak `k` or
/// `d` through this document.
fn published_jwks(current: &SigningKey, previous: Option<&SigningKey>) -> Vec<Value> {
    const PRIVATE_MEMBERS: [&str; 7] = ["k", "d", "p", "q", "dp", "dq", "qi"];
    [Some(current), previous]
        .into_iter()
        .flatten()
        .filter(|key| !key.algorithm().is_symmetric())
        .map(|key| key.public_key().to_jwk())
        .filter(|jwk| !PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)))
        .map(Value::Object)
        .collect()
}

fn claim_paths(at: &str, given: &[String], errors: &mut Errors) -> Vec<ClaimPath> {
    let mut paths = Vec::new();
    for (j, text) in given.iter().enumerate() {
        match ClaimPath::parse(text) {
            Ok(path) => paths.push(path),
            Err(e) => errors.push(format!("{at}[{j}]"), format!("{text:?}: {e}")),
        }
    }
    paths
}

/// Routes may nest `any` / `all` this deep.
const MAX_NESTING: usize = 8;

/// The requirement parts shared by routes, the default rule and nested requirements.
struct RawParts {
    scopes: Option<RawNeed>,
    roles: Option<RawNeed>,
    claims: Option<Vec<RawClaim>>,
    any: Option<Vec<RawRequirement>>,
    all: Option<Vec<RawRequirement>>,
}

impl RawParts {
    fn is_empty(&self) -> bool {
        self.scopes.is_none()
            && self.roles.is_none()
            && self.claims.is_none()
            && self.any.is_none()
            && self.all.is_none()
    }
}

fn need_set(at: &str, need: Option<RawNeed>, errors: &mut Errors) -> NeedSet {
    let (all, any) = match need {
        None => return NeedSet::default(),
        Some(RawNeed::List(all)) => (all, Vec::new()),
        Some(RawNeed::Sets(sets)) => (sets.all, sets.any),
    };
    if all.is_empty() && any.is_empty() {
        errors.push(at, "empty: list at least one name (or leave the field out)");
    }
    for name in all.iter().chain(&any) {
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
            errors.push(
                at,
                format!("{name:?}: a name is non-empty, without spaces, quotes or backslashes"),
            );
        }
    }
    NeedSet { all, any }
}

fn compile_condition(at: &str, raw: RawClaim, errors: &mut Errors) -> Option<ClaimRule> {
    let path = ClaimPath::parse(&raw.claim)
        .map_err(|e| errors.push(format!("{at}.claim"), format!("{:?}: {e}", raw.claim)))
        .ok();
    let mut conditions = Vec::new();
    if let Some(v) = raw.equals {
        conditions.push(Condition::Equals(v));
    }
    if let Some(vs) = raw.one_of {
        if vs.is_empty() {
            errors.push(format!("{at}.one_of"), "empty list");
        }
        conditions.push(Condition::OneOf(vs));
    }
    if let Some(v) = raw.contains {
        conditions.push(Condition::Contains(v));
    }
    if let Some(p) = raw.prefix {
        if p.is_empty() {
            errors.push(format!("{at}.prefix"), "empty prefix (use `exists = true`)");
        }
        conditions.push(Condition::Prefix(p));
    }
    if let Some(e) = raw.exists {
        conditions.push(Condition::Exists(e));
    }
    if conditions.len() != 1 {
        errors.push(
            at,
            "give exactly one of `equals`, `one_of`, `contains`, `prefix`, `exists`",
        );
        return None;
    }
    Some(ClaimRule {
        path: path?,
        condition: conditions.pop()?,
    })
}

fn compile_requirement(
    at: &str,
    parts: RawParts,
    depth: usize,
    errors: &mut Errors,
) -> Requirement {
    let field = |name: &str| {
        if at.is_empty() {
            name.to_owned()
        } else {
            format!("{at}.{name}")
        }
    };
    if depth > MAX_NESTING {
        errors.push(at, format!("`any` / `all` nest deeper than {MAX_NESTING}"));
        return Requirement::default();
    }
    let scopes = need_set(&field("scopes"), parts.scopes, errors);
    let roles = need_set(&field("roles"), parts.roles, errors);
    let mut claims = Vec::new();
    for (j, raw) in parts.claims.unwrap_or_default().into_iter().enumerate() {
        if let Some(rule) = compile_condition(&field(&format!("claims[{j}]")), raw, errors) {
            claims.push(rule);
        }
    }
    let nested = |name: &str, list: Option<Vec<RawRequirement>>, errors: &mut Errors| {
        let list = list.unwrap_or_default();
        let mut out = Vec::new();
        for (j, raw) in list.into_iter().enumerate() {
            let here = field(&format!("{name}[{j}]"));
            let parts = RawParts {
                scopes: raw.scopes,
                roles: raw.roles,
                claims: raw.claims,
                any: raw.any,
                all: raw.all,
            };
            if parts.is_empty() {
                errors.push(&here, "empty requirement");
            }
            out.push(compile_requirement(&here, parts, depth + 1, errors));
        }
        out
    };
    if parts.any.as_ref().is_some_and(Vec::is_empty) {
        errors.push(field("any"), "empty list");
    }
    if parts.all.as_ref().is_some_and(Vec::is_empty) {
        errors.push(field("all"), "empty list");
    }
    let any = nested("any", parts.any, errors);
    let all = nested("all", parts.all, errors);
    Requirement {
        scopes,
        roles,
        claims,
        any,
        all,
    }
}

/// The route's `auth`, `issuers` and requirement, checked together.
fn compile_rule(
    at: &dyn Fn(&str) -> String,
    auth: Option<RawAuth>,
    issuers: Option<Vec<String>>,
    parts: RawParts,
    known_issuers: &[String],
    errors: &mut Errors,
) -> (Auth, Option<Vec<String>>, Requirement) {
    let auth = match auth.unwrap_or(RawAuth::Required) {
        RawAuth::None => Auth::None,
        RawAuth::Optional => Auth::Optional,
        RawAuth::Required => Auth::Required,
    };
    if auth != Auth::Required && (!parts.is_empty() || issuers.is_some()) {
        errors.push(
            at("auth"),
            "requirements (`issuers`, `scopes`, `roles`, `claims`, `any`, `all`) need auth = \"required\"",
        );
    }
    if let Some(list) = &issuers {
        if list.is_empty() {
            errors.push(
                at("issuers"),
                "empty list (leave it out to accept every issuer)",
            );
        }
        for (j, issuer) in list.iter().enumerate() {
            if !known_issuers.contains(issuer) {
                errors.push(
                    at(&format!("issuers[{j}]")),
                    format!("{issuer:?} is not one of the configured `issuers`"),
                );
            }
        }
    }
    let base = at("");
    let base = base.strip_suffix('.').unwrap_or(&base);
    let requirement = compile_requirement(base, parts, 0, errors);
    (auth, issuers, requirement)
}

fn compile_routes(
    raw: Vec<RawRoute>,
    default: Option<RawDefault>,
    known_issuers: &[String],
    paths: PathRules,
    errors: &mut Errors,
) -> RouteTable {
    let mut routes = Vec::with_capacity(raw.len());
    for (i, route) in raw.into_iter().enumerate() {
        let at = |field: &str| format!("routes[{i}].{field}");
        let before = errors.0.len();
        let path = PathPattern::parse(&route.path)
            .map_err(|e| errors.push(at("path"), e))
            .ok();
        let methods = match route.methods {
            Some(methods) if methods.is_empty() => {
                errors.push(at("methods"), "empty list (omit it to match every method)");
                None
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
                }
                Some(methods)
            }
            None => None,
        };
        let host = route.host.as_deref().and_then(|h| {
            HostPattern::parse(h)
                .map_err(|e| errors.push(at("host"), format!("{h:?}: {e}")))
                .ok()
        });
        let parts = RawParts {
            scopes: route.scopes,
            roles: route.roles,
            claims: route.claims,
            any: route.any,
            all: route.all,
        };
        let has_bindings = route.bind.as_ref().is_some_and(|b| !b.is_empty());
        let (auth, issuers, requirement) =
            compile_rule(&at, route.auth, route.issuers, parts, known_issuers, errors);
        if has_bindings && auth != Auth::Required {
            errors.push(
                at("bind"),
                "binding path parameters to claims needs auth = \"required\"",
            );
        }
        let mut bindings = Vec::new();
        for (param, claim) in route.bind.unwrap_or_default() {
            if !route.path.contains(&format!("{{{param}}}")) {
                errors.push(
                    at(&format!("bind.{param}")),
                    format!("the path has no parameter {{{param}}}"),
                );
            }
            match ClaimPath::parse(&claim) {
                Ok(claim) => bindings.push(ParamBinding { param, claim }),
                Err(e) => errors.push(at(&format!("bind.{param}")), format!("{claim:?}: {e}")),
            }
        }
        if let (Some(path), true) = (path, errors.0.len() == before) {
            routes.push(Route {
                path,
                methods,
                host,
                auth,
                issuers,
                requirement,
                bindings,
                index: Some(i),
            });
        }
    }
    let at = |field: &str| format!("default.{field}");
    let default = default.unwrap_or(RawDefault {
        auth: None,
        issuers: None,
        scopes: None,
        roles: None,
        claims: None,
        any: None,
        all: None,
    });
    let parts = RawParts {
        scopes: default.scopes,
        roles: default.roles,
        claims: default.claims,
        any: default.any,
        all: default.all,
    };
    let (auth, issuers, requirement) = compile_rule(
        &at,
        default.auth,
        default.issuers,
        parts,
        known_issuers,
        errors,
    );
    RouteTable {
        routes,
        paths,
        default: Route {
            // Matches nothing by itself: the table falls back to it.
            path: PathPattern::any(),
            methods: None,
            host: None,
            auth,
            issuers,
            requirement,
            bindings: Vec::new(),
            index: None,
        },
    }
}

/// An origin as browsers send it: `scheme://host[:port]`, lower-case, no path.
fn valid_origin(origin: &str) -> bool {
    let Some((scheme, host)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "https" | "http")
        && !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:[]".contains(&b))
}

fn compile_cors(raw: RawCors, errors: &mut Errors) -> Option<CorsPolicy> {
    let before = errors.0.len();
    let wildcard = raw.allowed_origins.iter().any(|o| o == "*");
    if raw.allowed_origins.is_empty() {
        errors.push("cors.allowed_origins", "empty list");
    }
    if wildcard && raw.allowed_origins.len() > 1 {
        errors.push("cors.allowed_origins", "`*` stands alone");
    }
    if wildcard && raw.allow_credentials {
        errors.push(
            "cors.allow_credentials",
            "not with allowed_origins = [\"*\"]: list the origins that may send credentials",
        );
    }
    for (j, origin) in raw.allowed_origins.iter().enumerate() {
        if origin != "*" && !valid_origin(origin) {
            errors.push(
                format!("cors.allowed_origins[{j}]"),
                format!("{origin:?}: an origin is `https://host[:port]`, lower-case, no path"),
            );
        }
    }
    let methods = raw
        .allowed_methods
        .unwrap_or_else(|| vec!["GET".into(), "HEAD".into(), "POST".into()]);
    for (j, m) in methods.iter().enumerate() {
        if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
            errors.push(
                format!("cors.allowed_methods[{j}]"),
                format!("{m:?} is not an upper-case HTTP method"),
            );
        }
    }
    let headers: Vec<String> = raw
        .allowed_headers
        .unwrap_or_else(|| vec!["authorization".into(), "content-type".into()])
        .into_iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    for (field, list) in [
        ("cors.allowed_headers", &headers),
        ("cors.expose_headers", &raw.expose_headers),
    ] {
        for (j, h) in list.iter().enumerate() {
            if h.is_empty() || !h.bytes().all(is_token_char) {
                errors.push(
                    format!("{field}[{j}]"),
                    format!("{h:?} is not a header name"),
                );
            }
        }
    }
    let max_age = raw.max_age_seconds.unwrap_or(600);
    if max_age > 86_400 {
        errors.push("cors.max_age_seconds", "must be at most 86400");
    }
    (errors.0.len() == before).then(|| CorsPolicy {
        allowed_origins: (!wildcard).then_some(raw.allowed_origins),
        allowed_methods: methods,
        allowed_headers: headers,
        expose_headers: raw.expose_headers,
        max_age_seconds: max_age,
        allow_credentials: raw.allow_credentials,
    })
}

fn compile_csrf(raw: Option<RawCsrf>, errors: &mut Errors) -> CsrfPolicy {
    let Some(raw) = raw else {
        return CsrfPolicy::default();
    };
    for (j, origin) in raw.allowed_origins.iter().enumerate() {
        if !valid_origin(origin) {
            errors.push(
                format!("csrf.allowed_origins[{j}]"),
                format!("{origin:?}: an origin is `https://host[:port]`, lower-case, no path"),
            );
        }
    }
    CsrfPolicy {
        allowed_origins: raw.allowed_origins,
        all_requests: raw.all_requests,
    }
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_quotable(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}
