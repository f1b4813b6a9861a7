//! The `EDGE_AUTH` configuration: parsed from JSON (a wrangler `[vars.EDGE_AUTH]` table arrives as a JSON
//! object; a JSON string is accepted too), validated, and compiled once into an immutable [`GateConfig`].
//! Every mistake is reported with its field path (`issuers[1].audiences: empty list`), all at once.

use core::fmt;
use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::alg::Algorithm;
use crate::assertion::AssertionSettings;
use crate::b64;
use crate::derive::{DerivedKey, DECISION_LOG_INFO, SHARED_CACHE_INFO};
pub use crate::fields::ConfigError;
use crate::fields::{member_path, Members, ReadField, Walk};
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

// The raw configuration, read by hand from the JSON value (`crate::fields`): every structural mistake
// (an unknown member, a missing one, a wrong type, a number out of range) is reported with its path,
// all at once, before anything is compiled. Options that may be left out or be `null` are `Option`s;
// lists and switches that may be left out default to empty and `false` (`null` is refused there).

/// The members of `EDGE_AUTH`.
const CONFIG_FIELDS: &[&str] = &[
    "leeway_seconds",
    "realm",
    "forward_token",
    "token_cookie",
    "max_token_bytes",
    "cache",
    "issuers",
    "assertion",
    "routes",
    "default",
    "cors",
    "csrf",
    "remote_keys",
    "status_endpoint",
    "paths",
    "decision_log",
    "revocation",
];

/// The members of the verifier part alone ([`VerifierConfig`]).
const VERIFIER_FIELDS: &[&str] = &[
    "leeway_seconds",
    "max_token_bytes",
    "cache",
    "issuers",
    "remote_keys",
];

#[derive(Debug)]
struct RawConfig {
    verifier: RawVerifierConfig,
    realm: Option<String>,
    forward_token: bool,
    token_cookie: Option<String>,
    assertion: RawAssertion,
    routes: Vec<RawRoute>,
    default: Option<RawRule>,
    cors: Option<RawCors>,
    csrf: Option<RawCsrf>,
    status_endpoint: bool,
    paths: Option<RawPaths>,
    decision_log: Option<DecisionLog>,
    revocation: Option<RawRevocation>,
}

/// The verifier part of `EDGE_AUTH` (the JS package's `createVerifier` takes it alone): the same
/// fields, at the same paths, in both.
#[derive(Debug)]
struct RawVerifierConfig {
    leeway_seconds: Option<u64>,
    max_token_bytes: Option<usize>,
    cache: Option<RawCache>,
    issuers: Vec<RawIssuer>,
    remote_keys: Option<RawRemote>,
}

fn read_config(w: &mut Walk, path: &str, value: &Value) -> Option<RawConfig> {
    let m = w.object(path, value, CONFIG_FIELDS)?;
    let verifier = read_verifier_members(w, &m);
    let realm = m.optional(w, "realm", Walk::string);
    let forward_token = m.or_default(w, "forward_token", Walk::boolean);
    let token_cookie = m.optional(w, "token_cookie", Walk::string);
    let assertion = m.required(w, "assertion", read_assertion);
    let routes = m.or_default(w, "routes", |w, path, value| {
        w.list(path, value, "a list of routes", read_route)
    });
    let default = m.optional(w, "default", read_default);
    let cors = m.optional(w, "cors", read_cors);
    let csrf = m.optional(w, "csrf", read_csrf);
    let status_endpoint = m.or_default(w, "status_endpoint", Walk::boolean);
    let paths = m.optional(w, "paths", read_paths);
    let decision_log = m.optional(w, "decision_log", read_decision_log);
    let revocation = m.optional(w, "revocation", read_revocation);
    Some(RawConfig {
        verifier: verifier?,
        realm: realm?,
        forward_token: forward_token?,
        token_cookie: token_cookie?,
        assertion: assertion?,
        routes: routes?,
        default: default?,
        cors: cors?,
        csrf: csrf?,
        status_endpoint: status_endpoint?,
        paths: paths?,
        decision_log: decision_log?,
        revocation: revocation?,
    })
}

fn read_verifier_config(w: &mut Walk, path: &str, value: &Value) -> Option<RawVerifierConfig> {
    let m = w.object(path, value, VERIFIER_FIELDS)?;
    read_verifier_members(w, &m)
}

fn read_verifier_members(w: &mut Walk, m: &Members<'_>) -> Option<RawVerifierConfig> {
    let leeway_seconds = m.optional(w, "leeway_seconds", Walk::uint);
    let max_token_bytes = m.optional(w, "max_token_bytes", Walk::size);
    let cache = m.optional(w, "cache", read_cache);
    let issuers = m.required(w, "issuers", |w, path, value| {
        w.list(path, value, "a list of issuers", read_issuer)
    });
    let remote_keys = m.optional(w, "remote_keys", read_remote);
    Some(RawVerifierConfig {
        leeway_seconds: leeway_seconds?,
        max_token_bytes: max_token_bytes?,
        cache: cache?,
        issuers: issuers?,
        remote_keys: remote_keys?,
    })
}

#[derive(Debug)]
struct RawPaths {
    allow_matrix_parameters: bool,
    case_insensitive: bool,
}

fn read_paths(w: &mut Walk, path: &str, value: &Value) -> Option<RawPaths> {
    let m = w.object(
        path,
        value,
        &["allow_matrix_parameters", "case_insensitive"],
    )?;
    let allow_matrix_parameters = m.or_default(w, "allow_matrix_parameters", Walk::boolean);
    let case_insensitive = m.or_default(w, "case_insensitive", Walk::boolean);
    Some(RawPaths {
        allow_matrix_parameters: allow_matrix_parameters?,
        case_insensitive: case_insensitive?,
    })
}

#[derive(Debug)]
struct RawRemote {
    min_ttl_seconds: Option<u64>,
    max_ttl_seconds: Option<u64>,
    kid_cooldown_seconds: Option<u64>,
    stale_if_error_seconds: Option<u64>,
    error_backoff_seconds: Option<u64>,
    timeout_ms: Option<u64>,
    max_bytes: Option<usize>,
    allow_loopback_http: bool,
}

fn read_remote(w: &mut Walk, path: &str, value: &Value) -> Option<RawRemote> {
    let m = w.object(
        path,
        value,
        &[
            "min_ttl_seconds",
            "max_ttl_seconds",
            "kid_cooldown_seconds",
            "stale_if_error_seconds",
            "error_backoff_seconds",
            "timeout_ms",
            "max_bytes",
            "allow_loopback_http",
        ],
    )?;
    let min_ttl_seconds = m.optional(w, "min_ttl_seconds", Walk::uint);
    let max_ttl_seconds = m.optional(w, "max_ttl_seconds", Walk::uint);
    let kid_cooldown_seconds = m.optional(w, "kid_cooldown_seconds", Walk::uint);
    let stale_if_error_seconds = m.optional(w, "stale_if_error_seconds", Walk::uint);
    let error_backoff_seconds = m.optional(w, "error_backoff_seconds", Walk::uint);
    let timeout_ms = m.optional(w, "timeout_ms", Walk::uint);
    let max_bytes = m.optional(w, "max_bytes", Walk::size);
    let allow_loopback_http = m.or_default(w, "allow_loopback_http", Walk::boolean);
    Some(RawRemote {
        min_ttl_seconds: min_ttl_seconds?,
        max_ttl_seconds: max_ttl_seconds?,
        kid_cooldown_seconds: kid_cooldown_seconds?,
        stale_if_error_seconds: stale_if_error_seconds?,
        error_backoff_seconds: error_backoff_seconds?,
        timeout_ms: timeout_ms?,
        max_bytes: max_bytes?,
        allow_loopback_http: allow_loopback_http?,
    })
}

#[derive(Debug)]
struct RawCors {
    allowed_origins: Vec<String>,
    allowed_methods: Option<Vec<String>>,
    allowed_headers: Option<Vec<String>>,
    expose_headers: Vec<String>,
    max_age_seconds: Option<u64>,
    allow_credentials: bool,
}

fn read_cors(w: &mut Walk, path: &str, value: &Value) -> Option<RawCors> {
    let m = w.object(
        path,
        value,
        &[
            "allowed_origins",
            "allowed_methods",
            "allowed_headers",
            "expose_headers",
            "max_age_seconds",
            "allow_credentials",
        ],
    )?;
    let allowed_origins = m.required(w, "allowed_origins", Walk::strings);
    let allowed_methods = m.optional(w, "allowed_methods", Walk::strings);
    let allowed_headers = m.optional(w, "allowed_headers", Walk::strings);
    let expose_headers = m.or_default(w, "expose_headers", Walk::strings);
    let max_age_seconds = m.optional(w, "max_age_seconds", Walk::uint);
    let allow_credentials = m.or_default(w, "allow_credentials", Walk::boolean);
    Some(RawCors {
        allowed_origins: allowed_origins?,
        allowed_methods: allowed_methods?,
        allowed_headers: allowed_headers?,
        expose_headers: expose_headers?,
        max_age_seconds: max_age_seconds?,
        allow_credentials: allow_credentials?,
    })
}

#[derive(Debug)]
struct RawCsrf {
    allowed_origins: Vec<String>,
    all_requests: bool,
}

fn read_csrf(w: &mut Walk, path: &str, value: &Value) -> Option<RawCsrf> {
    let m = w.object(path, value, &["allowed_origins", "all_requests"])?;
    let allowed_origins = m.or_default(w, "allowed_origins", Walk::strings);
    let all_requests = m.or_default(w, "all_requests", Walk::boolean);
    Some(RawCsrf {
        allowed_origins: allowed_origins?,
        all_requests: all_requests?,
    })
}

#[derive(Debug)]
struct RawCache {
    max_entries: Option<usize>,
    max_bytes: Option<usize>,
    max_ttl_seconds: Option<u64>,
}

fn read_cache(w: &mut Walk, path: &str, value: &Value) -> Option<RawCache> {
    let m = w.object(
        path,
        value,
        &["max_entries", "max_bytes", "max_ttl_seconds"],
    )?;
    let max_entries = m.optional(w, "max_entries", Walk::size);
    let max_bytes = m.optional(w, "max_bytes", Walk::size);
    let max_ttl_seconds = m.optional(w, "max_ttl_seconds", Walk::uint);
    Some(RawCache {
        max_entries: max_entries?,
        max_bytes: max_bytes?,
        max_ttl_seconds: max_ttl_seconds?,
    })
}

/// The members of an issuer, in the order [`issuer_json`] writes them.
const ISSUER_FIELDS: &[&str] = &[
    "issuer",
    "audiences",
    "algorithms",
    "jwks",
    "hmac_secret",
    "typ",
    "leeway_seconds",
    "max_age_seconds",
    "require_sub",
    "required_claims",
    "jwks_uri",
    "discovery",
    "scope_claims",
    "role_claims",
    "backchannel_logout",
];

#[derive(Debug)]
struct RawIssuer {
    issuer: String,
    audiences: Vec<String>,
    algorithms: Vec<String>,
    jwks: Option<Value>,
    hmac_secret: Option<String>,
    typ: Option<String>,
    leeway_seconds: Option<u64>,
    max_age_seconds: Option<u64>,
    require_sub: bool,
    required_claims: Vec<String>,
    jwks_uri: Option<String>,
    discovery: bool,
    scope_claims: Option<Vec<String>>,
    role_claims: Option<Vec<String>>,
    /// OIDC Back-Channel Logout: the client id a logout token's `aud` must hold.
    backchannel_logout: Option<String>,
}

fn read_backchannel_logout(w: &mut Walk, path: &str, value: &Value) -> Option<String> {
    let m = w.object(path, value, &["client_id"])?;
    m.required(w, "client_id", Walk::string)
}

fn read_issuer(w: &mut Walk, path: &str, value: &Value) -> Option<RawIssuer> {
    let m = w.object(path, value, ISSUER_FIELDS)?;
    let issuer = m.required(w, "issuer", Walk::string);
    let audiences = m.required(w, "audiences", Walk::strings);
    let algorithms = m.required(w, "algorithms", Walk::strings);
    let jwks = m.optional(w, "jwks", Walk::any);
    let hmac_secret = m.optional(w, "hmac_secret", Walk::string);
    let typ = m.optional(w, "typ", Walk::string);
    let leeway_seconds = m.optional(w, "leeway_seconds", Walk::uint);
    let max_age_seconds = m.optional(w, "max_age_seconds", Walk::uint);
    let require_sub = m.or_default(w, "require_sub", Walk::boolean);
    let required_claims = m.or_default(w, "required_claims", Walk::strings);
    let jwks_uri = m.optional(w, "jwks_uri", Walk::string);
    let discovery = m.or_default(w, "discovery", Walk::boolean);
    let scope_claims = m.optional(w, "scope_claims", Walk::strings);
    let role_claims = m.optional(w, "role_claims", Walk::strings);
    let backchannel_logout = m.optional(w, "backchannel_logout", read_backchannel_logout);
    Some(RawIssuer {
        issuer: issuer?,
        audiences: audiences?,
        algorithms: algorithms?,
        jwks: jwks?,
        hmac_secret: hmac_secret?,
        typ: typ?,
        leeway_seconds: leeway_seconds?,
        max_age_seconds: max_age_seconds?,
        require_sub: require_sub?,
        required_claims: required_claims?,
        jwks_uri: jwks_uri?,
        discovery: discovery?,
        scope_claims: scope_claims?,
        role_claims: role_claims?,
        backchannel_logout: backchannel_logout?,
    })
}

/// The issuer's configuration as JSON text, for its shared key-cache entry's name: every member in
/// [`ISSUER_FIELDS`] order, `null` for an option left out. This is the text the serde derive this
/// replaced wrote, so that entries keep their names across the change.
fn issuer_json(raw: &RawIssuer) -> String {
    let members: [(&str, Value); 14] = [
        ("issuer", raw.issuer.clone().into()),
        ("audiences", raw.audiences.clone().into()),
        ("algorithms", raw.algorithms.clone().into()),
        ("jwks", raw.jwks.clone().unwrap_or(Value::Null)),
        ("hmac_secret", raw.hmac_secret.clone().into()),
        ("typ", raw.typ.clone().into()),
        ("leeway_seconds", raw.leeway_seconds.into()),
        ("max_age_seconds", raw.max_age_seconds.into()),
        ("require_sub", raw.require_sub.into()),
        ("required_claims", raw.required_claims.clone().into()),
        ("jwks_uri", raw.jwks_uri.clone().into()),
        ("discovery", raw.discovery.into()),
        ("scope_claims", raw.scope_claims.clone().into()),
        ("role_claims", raw.role_claims.clone().into()),
    ];
    let mut out = String::from("{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(*name).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

#[derive(Debug)]
struct RawAssertion {
    header: Option<String>,
    issuer: String,
    audience: String,
    ttl_seconds: Option<u64>,
    signing_key_secret: String,
    previous_signing_key_secret: Option<String>,
}

fn read_assertion(w: &mut Walk, path: &str, value: &Value) -> Option<RawAssertion> {
    let m = w.object(
        path,
        value,
        &[
            "header",
            "issuer",
            "audience",
            "ttl_seconds",
            "signing_key_secret",
            "previous_signing_key_secret",
        ],
    )?;
    let header = m.optional(w, "header", Walk::string);
    let issuer = m.required(w, "issuer", Walk::string);
    let audience = m.required(w, "audience", Walk::string);
    let ttl_seconds = m.optional(w, "ttl_seconds", Walk::uint);
    let signing_key_secret = m.required(w, "signing_key_secret", Walk::string);
    let previous_signing_key_secret = m.optional(w, "previous_signing_key_secret", Walk::string);
    Some(RawAssertion {
        header: header?,
        issuer: issuer?,
        audience: audience?,
        ttl_seconds: ttl_seconds?,
        signing_key_secret: signing_key_secret?,
        previous_signing_key_secret: previous_signing_key_secret?,
    })
}

/// A route's members: where it applies, then the rule ([`DEFAULT_FIELDS`]).
const ROUTE_FIELDS: &[&str] = &[
    "path", "methods", "host", "bind", "auth", "issuers", "scopes", "roles", "claims", "any", "all",
];
/// The rule for requests no route matches: `auth`, `issuers` and the requirement.
const DEFAULT_FIELDS: &[&str] = &["auth", "issuers", "scopes", "roles", "claims", "any", "all"];
/// A requirement (a route's, the default rule's, or one nested in `any` / `all`).
const REQUIREMENT_FIELDS: &[&str] = &["scopes", "roles", "claims", "any", "all"];

#[derive(Debug)]
struct RawRoute {
    path: String,
    methods: Option<Vec<String>>,
    host: Option<String>,
    bind: Option<BTreeMap<String, String>>,
    rule: RawRule,
}

fn read_route(w: &mut Walk, path: &str, value: &Value) -> Option<RawRoute> {
    let m = w.object(path, value, ROUTE_FIELDS)?;
    let route_path = m.required(w, "path", Walk::string);
    let methods = m.optional(w, "methods", Walk::strings);
    let host = m.optional(w, "host", Walk::string);
    let bind = m.optional(w, "bind", read_bindings);
    let rule = read_rule(w, &m);
    Some(RawRoute {
        path: route_path?,
        methods: methods?,
        host: host?,
        bind: bind?,
        rule: rule?,
    })
}

/// `bind = { param = "claim.path", … }`, sorted by parameter name.
fn read_bindings(w: &mut Walk, path: &str, value: &Value) -> Option<BTreeMap<String, String>> {
    let Value::Object(map) = value else {
        return w.mismatch(path, value, "an object of parameter names and claim paths");
    };
    let mut out = Some(BTreeMap::new());
    for (param, claim) in map {
        match (w.string(&member_path(path, param), claim), &mut out) {
            (Some(claim), Some(bindings)) => {
                bindings.insert(param.clone(), claim);
            }
            _ => out = None,
        }
    }
    out
}

/// A route's rule, or the one for requests no route matches.
#[derive(Debug, Default)]
struct RawRule {
    auth: Option<Auth>,
    issuers: Option<Vec<String>>,
    parts: RawParts,
}

fn read_default(w: &mut Walk, path: &str, value: &Value) -> Option<RawRule> {
    let m = w.object(path, value, DEFAULT_FIELDS)?;
    read_rule(w, &m)
}

fn read_rule(w: &mut Walk, m: &Members<'_>) -> Option<RawRule> {
    let auth = m.optional(w, "auth", read_auth);
    let issuers = m.optional(w, "issuers", Walk::strings);
    let parts = read_parts(w, m, 0);
    Some(RawRule {
        auth: auth?,
        issuers: issuers?,
        parts: parts?,
    })
}

fn read_decision_log(w: &mut Walk, path: &str, value: &Value) -> Option<DecisionLog> {
    w.variant(
        path,
        value,
        &[
            ("all", DecisionLog::All),
            ("refusals", DecisionLog::Refusals),
        ],
    )
}

/// The members of `revocation`.
const REVOCATION_FIELDS: &[&str] = &[
    "binding",
    "issuers",
    "cache_seconds",
    "fail",
    "max_entries",
    "max_token_lifetime_seconds",
    "logout_path",
    "admin_path",
    "admin",
];

#[derive(Debug)]
struct RawRevocation {
    binding: Option<String>,
    issuers: Vec<String>,
    cache_seconds: Option<u64>,
    fail: Option<RevocationFail>,
    max_entries: Option<usize>,
    max_token_lifetime_seconds: Option<u64>,
    logout_path: Option<String>,
    admin_path: Option<String>,
    admin: Option<RawRule>,
}

fn read_revocation(w: &mut Walk, path: &str, value: &Value) -> Option<RawRevocation> {
    let m = w.object(path, value, REVOCATION_FIELDS)?;
    let binding = m.optional(w, "binding", Walk::string);
    let issuers = m.required(w, "issuers", Walk::strings);
    let cache_seconds = m.optional(w, "cache_seconds", Walk::uint);
    let fail = m.optional(w, "fail", |w, path, value| {
        w.variant(
            path,
            value,
            &[
                ("closed", RevocationFail::Closed),
                ("open", RevocationFail::Open),
            ],
        )
    });
    let max_entries = m.optional(w, "max_entries", Walk::size);
    let max_token_lifetime_seconds = m.optional(w, "max_token_lifetime_seconds", Walk::uint);
    let logout_path = m.optional(w, "logout_path", Walk::string);
    let admin_path = m.optional(w, "admin_path", Walk::string);
    let admin = m.optional(w, "admin", read_default);
    Some(RawRevocation {
        binding: binding?,
        issuers: issuers?,
        cache_seconds: cache_seconds?,
        fail: fail?,
        max_entries: max_entries?,
        max_token_lifetime_seconds: max_token_lifetime_seconds?,
        logout_path: logout_path?,
        admin_path: admin_path?,
        admin: admin?,
    })
}

fn read_auth(w: &mut Walk, path: &str, value: &Value) -> Option<Auth> {
    w.variant(
        path,
        value,
        &[
            ("none", Auth::None),
            ("optional", Auth::Optional),
            ("required", Auth::Required),
        ],
    )
}

/// The requirement parts shared by routes, the default rule and nested requirements.
#[derive(Debug, Default)]
struct RawParts {
    scopes: Option<RawNeed>,
    roles: Option<RawNeed>,
    claims: Option<Vec<RawClaim>>,
    any: Option<Vec<RawParts>>,
    all: Option<Vec<RawParts>>,
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

/// The requirement members of `m`, which is `depth` levels of `any` / `all` deep.
fn read_parts(w: &mut Walk, m: &Members<'_>, depth: usize) -> Option<RawParts> {
    let scopes = m.optional(w, "scopes", read_need);
    let roles = m.optional(w, "roles", read_need);
    let claims = m.optional(w, "claims", |w, path, value| {
        w.list(path, value, "a list of claim rules", read_claim)
    });
    let any = read_nested(w, m, "any", depth);
    let all = read_nested(w, m, "all", depth);
    Some(RawParts {
        scopes: scopes?,
        roles: roles?,
        claims: claims?,
        any: any?,
        all: all?,
    })
}

/// `any = [...]` / `all = [...]`: nested requirements, at most [`MAX_NESTING`] levels deep.
fn read_nested(
    w: &mut Walk,
    m: &Members<'_>,
    name: &str,
    depth: usize,
) -> Option<Option<Vec<RawParts>>> {
    let Some(value) = m.get(name) else {
        return Some(None);
    };
    let path = m.path(name);
    let Value::Array(items) = value else {
        return w.mismatch(&path, value, "a list of requirements");
    };
    let mut out = Some(Vec::with_capacity(items.len()));
    for (j, item) in items.iter().enumerate() {
        let here = format!("{path}[{j}]");
        let parts = if depth >= MAX_NESTING {
            w.error(
                &here,
                format!("`any` / `all` nest deeper than {MAX_NESTING}"),
            );
            None
        } else {
            w.object(&here, item, REQUIREMENT_FIELDS)
                .and_then(|nested| read_parts(w, &nested, depth + 1))
        };
        match (parts, &mut out) {
            (Some(parts), Some(list)) => list.push(parts),
            _ => out = None,
        }
    }
    out.map(Some)
}

/// `["a", "b"]` (all of them) or `{ all = [...], any = [...] }`.
#[derive(Debug)]
struct RawNeed {
    all: Vec<String>,
    any: Vec<String>,
}

fn read_need(w: &mut Walk, path: &str, value: &Value) -> Option<RawNeed> {
    match value {
        Value::Array(_) => w.strings(path, value).map(|all| RawNeed {
            all,
            any: Vec::new(),
        }),
        Value::Object(_) => {
            let m = w.object(path, value, &["all", "any"])?;
            let all = m.or_default(w, "all", Walk::strings);
            let any = m.or_default(w, "any", Walk::strings);
            Some(RawNeed {
                all: all?,
                any: any?,
            })
        }
        other => w.mismatch(
            path,
            other,
            "a list of names (all required) or { all = [...], any = [...] }",
        ),
    }
}

#[derive(Debug)]
struct RawClaim {
    claim: String,
    equals: Option<Value>,
    one_of: Option<Vec<Value>>,
    contains: Option<Value>,
    prefix: Option<String>,
    exists: Option<bool>,
}

fn read_claim(w: &mut Walk, path: &str, value: &Value) -> Option<RawClaim> {
    let m = w.object(
        path,
        value,
        &["claim", "equals", "one_of", "contains", "prefix", "exists"],
    )?;
    let claim = m.required(w, "claim", Walk::string);
    let equals = m.optional(w, "equals", Walk::any);
    let one_of = m.optional(w, "one_of", |w, path, value| {
        w.list(path, value, "a list of values", Walk::any)
    });
    let contains = m.optional(w, "contains", Walk::any);
    let prefix = m.optional(w, "prefix", Walk::string);
    let exists = m.optional(w, "exists", Walk::boolean);
    Some(RawClaim {
        claim: claim?,
        equals: equals?,
        one_of: one_of?,
        contains: contains?,
        prefix: prefix?,
        exists: exists?,
    })
}

/// Bounds of the verified-token cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// Entries per generation (the cache holds at most twice this).
    pub max_entries: usize,
    /// The bytes both generations hold together, over-estimated (see `TokenCache::with_max_bytes`).
    pub max_bytes: usize,
    pub max_ttl_seconds: u64,
}

impl CacheSettings {
    /// An empty cache with these bounds, its hash keyed by `seed` (see [`TokenCache::new`]).
    pub fn token_cache(&self, seed: [u8; 16]) -> crate::cache::TokenCache {
        crate::cache::TokenCache::new(self.max_entries, self.max_ttl_seconds, seed)
            .with_max_bytes(self.max_bytes)
    }
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
    /// Which decisions get a log line (`decision_log`; default every one).
    pub decision_log: DecisionLog,
    /// Revocation (`revocation`): `None` when not configured.
    pub revocation: Option<RevocationConfig>,
}

/// What a request is answered when the revocation state cannot be read and no copy is fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationFail {
    /// `503 revocation_unavailable` (the default).
    Closed,
    /// Checked against the last copy if any, else not at all, and forwarded (a documented risk).
    Open,
}

/// `revocation`, compiled.
#[derive(Debug)]
pub struct RevocationConfig {
    /// The Durable Object namespace binding (class `Revocations`).
    pub binding: String,
    /// The issuers whose tokens are checked, each with its object (`idFromName(issuer)`).
    pub issuers: Vec<RevocationIssuer>,
    /// How long an isolate trusts its copy (seconds; 0: read the object on every request).
    pub cache_seconds: u64,
    pub fail: RevocationFail,
    /// Live records per issuer object.
    pub max_entries: usize,
    pub logout_path: String,
    pub admin_path: String,
    /// The rule an admin token must pass; `None`: no admin endpoint.
    pub admin: Option<Route>,
}

/// An issuer under revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationIssuer {
    /// Its position in `issuers`.
    pub index: usize,
    pub issuer: String,
    /// How long a record must live so that every token it covers has expired by then: the issuer's
    /// maximum token age plus its leeway, plus one second.
    pub keep_seconds: u64,
    /// The issuer's leeway: a token is accepted up to this long past its `exp`.
    pub leeway_seconds: u64,
    /// `backchannel_logout.client_id`: logout tokens are accepted for this issuer with this `aud`.
    pub logout_client_id: Option<String>,
}

impl RevocationConfig {
    /// The issuer under revocation whose `issuer` is `iss`.
    pub fn issuer(&self, iss: &str) -> Option<&RevocationIssuer> {
        self.issuers.iter().find(|i| i.issuer == iss)
    }

    /// The issuer under revocation at configuration position `index`.
    pub fn issuer_at(&self, index: usize) -> Option<&RevocationIssuer> {
        self.issuers.iter().find(|i| i.index == index)
    }

    /// Whether any issuer accepts back-channel logout tokens.
    pub fn has_logout(&self) -> bool {
        self.issuers.iter().any(|i| i.logout_client_id.is_some())
    }
}

/// Which decisions the Worker writes a log line for (`decision_log`). Under load the line is a large
/// share of a forwarded request's CPU time (`console.log` in workerd; issue 11's note has the profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionLog {
    /// Every decision: forwards, refusals, preflights, the JWKS and status answers (the default).
    All,
    /// Refusals only (every 401, 403, 4xx, 5xx the gate answers); internal and origin errors are
    /// logged either way.
    Refusals,
}

impl DecisionLog {
    /// Whether a decision gets its line: `refused` for a refusal.
    pub fn logs(self, refused: bool) -> bool {
        match self {
            DecisionLog::All => true,
            DecisionLog::Refusals => refused,
        }
    }
}

impl GateConfig {
    /// Parses and compiles a configuration given as a JSON value: an object, or a string holding one.
    pub fn from_value(
        value: &Value,
        secrets: &dyn SecretSource,
    ) -> Result<GateConfig, ConfigErrors> {
        compile(parse_raw(value, read_config)?, secrets)
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
        let raw = parse_raw(value, read_verifier_config)?;
        let mut errors = Errors(Vec::new());
        for (i, issuer) in raw.issuers.iter().enumerate() {
            if issuer.backchannel_logout.is_some() {
                errors.push(
                    format!("issuers[{i}].backchannel_logout"),
                    "only the Worker's configuration (with `revocation`) ends sessions",
                );
            }
        }
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

/// Reads a raw configuration from a JSON value (an object, or a string holding one) with `read`,
/// every structural mistake reported with its field path. A string is read by the strict JSON parser
/// first (a duplicate member is ambiguous, so it is refused).
fn parse_raw<T>(value: &Value, read: ReadField<T>) -> Result<T, ConfigErrors> {
    let parsed;
    let value = match value {
        Value::String(text) => {
            let object = crate::json::parse_object(text.as_bytes()).map_err(|e| {
                ConfigErrors(vec![ConfigError {
                    path: String::new(),
                    message: e.to_string(),
                }])
            })?;
            parsed = Value::Object(object);
            &parsed
        }
        other => other,
    };
    let mut walk = Walk::new();
    let raw = read(&mut walk, "", value);
    walk.finish(raw).map_err(ConfigErrors)
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

const MIN_CACHE_BYTES: usize = 1 << 20;
const MAX_CACHE_BYTES: usize = 64 << 20;

/// The verified-token cache's bounds.
fn compile_cache(raw: Option<&RawCache>, errors: &mut Errors) -> CacheSettings {
    let cache = CacheSettings {
        max_entries: raw.and_then(|c| c.max_entries).unwrap_or(1024),
        max_bytes: raw
            .and_then(|c| c.max_bytes)
            .unwrap_or(crate::cache::DEFAULT_MAX_BYTES),
        max_ttl_seconds: raw.and_then(|c| c.max_ttl_seconds).unwrap_or(300),
    };
    if !(1..=100_000).contains(&cache.max_entries) {
        errors.push("cache.max_entries", "must be between 1 and 100000");
    }
    // A Worker's isolate has 128 MB for everything; 64 MiB of cached tokens is already most of it.
    if !(MIN_CACHE_BYTES..=MAX_CACHE_BYTES).contains(&cache.max_bytes) {
        errors.push(
            "cache.max_bytes",
            "must be between 1048576 (1 MiB) and 67108864 (64 MiB)",
        );
    }
    if cache.max_ttl_seconds > 3600 {
        errors.push("cache.max_ttl_seconds", "must be at most 3600");
    }
    cache
}

fn compile(mut raw: RawConfig, secrets: &dyn SecretSource) -> Result<GateConfig, ConfigErrors> {
    let mut errors = Errors(Vec::new());
    // Revocation bounds the age of its issuers' tokens first (a record may then be forgotten once every
    // token it covers is too old), so it is read before the issuers compile.
    let revocation_issuers = raw
        .revocation
        .as_ref()
        .map(|r| bound_revoked_issuers(r, &mut raw.verifier, &mut errors));
    let logout_clients: Vec<Option<String>> = raw
        .verifier
        .issuers
        .iter()
        .map(|i| i.backchannel_logout.clone())
        .collect();
    let VerifierParts {
        verifier,
        remote_sources,
        remote,
        demo,
        issuer_names,
    } = compile_verifier(
        raw.verifier.leeway_seconds,
        raw.verifier.max_token_bytes,
        raw.verifier.issuers,
        raw.verifier.remote_keys,
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
    let cache = compile_cache(raw.verifier.cache.as_ref(), &mut errors);
    let revocation = compile_revocation(
        raw.revocation,
        revocation_issuers.unwrap_or_default(),
        &logout_clients,
        &issuer_names,
        &mut errors,
    );
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
            decision_log: raw.decision_log.unwrap_or(DecisionLog::All),
            realm,
            forward_token: raw.forward_token,
            token_cookie: raw.token_cookie,
            cache,
            revocation,
        }),
        _ => Err(ConfigErrors(errors.0)),
    }
}

/// The longest token lifetime under revocation when `max_token_lifetime_seconds` is not given.
const DEFAULT_REVOKED_LIFETIME: u64 = 86_400;
/// Its upper bound (30 days): records live that long.
const MAX_REVOKED_LIFETIME: u64 = 2_592_000;

/// For each issuer under revocation (checked to exist): its position and how long its records live.
/// Its tokens' maximum age becomes the smaller of its own `max_age_seconds` and
/// `max_token_lifetime_seconds`, so that `iat` is required and a record outlives every token it covers.
fn bound_revoked_issuers(
    raw: &RawRevocation,
    verifier: &mut RawVerifierConfig,
    errors: &mut Errors,
) -> Vec<(usize, u64, u64)> {
    let lifetime = raw
        .max_token_lifetime_seconds
        .unwrap_or(DEFAULT_REVOKED_LIFETIME);
    if !(1..=MAX_REVOKED_LIFETIME).contains(&lifetime) {
        errors.push(
            "revocation.max_token_lifetime_seconds",
            format!("must be between 1 and {MAX_REVOKED_LIFETIME}"),
        );
    }
    if raw.issuers.is_empty() {
        errors.push(
            "revocation.issuers",
            "empty list: name the issuers whose tokens are checked",
        );
    }
    let leeway = verifier.leeway_seconds.unwrap_or(DEFAULT_LEEWAY);
    let mut out: Vec<(usize, u64, u64)> = Vec::new();
    for (j, name) in raw.issuers.iter().enumerate() {
        let Some(index) = verifier.issuers.iter().position(|i| &i.issuer == name) else {
            errors.push(
                format!("revocation.issuers[{j}]"),
                format!("{name:?} is not one of the configured `issuers`"),
            );
            continue;
        };
        if out.iter().any(|(seen, _, _)| *seen == index) {
            errors.push(
                format!("revocation.issuers[{j}]"),
                format!("{name:?} is listed twice"),
            );
            continue;
        }
        let Some(issuer) = verifier.issuers.get_mut(index) else {
            continue;
        };
        let max_age = issuer.max_age_seconds.map_or(lifetime, |m| m.min(lifetime));
        issuer.max_age_seconds = Some(max_age);
        let leeway = issuer.leeway_seconds.unwrap_or(leeway);
        let keep = max_age.saturating_add(leeway).saturating_add(1);
        out.push((index, keep, leeway));
    }
    out
}

/// The `revocation` table's paths: absolute, without query, fragment or spaces.
fn check_endpoint_path(field: &str, path: &str, errors: &mut Errors) {
    if !path.starts_with('/')
        || path
            .bytes()
            .any(|b| b == b'?' || b == b'#' || b == b'%' || !b.is_ascii_graphic())
    {
        errors.push(
            format!("revocation.{field}"),
            "must be an absolute path (`/…`) of visible ASCII without `?`, `#` or `%`",
        );
    }
}

fn compile_revocation(
    raw: Option<RawRevocation>,
    issuers: Vec<(usize, u64, u64)>,
    logout_clients: &[Option<String>],
    issuer_names: &[String],
    errors: &mut Errors,
) -> Option<RevocationConfig> {
    for (i, client) in logout_clients.iter().enumerate() {
        let Some(client) = client else { continue };
        if client.is_empty() {
            errors.push(
                format!("issuers[{i}].backchannel_logout.client_id"),
                "empty",
            );
        }
        if !issuers.iter().any(|(index, _, _)| *index == i) {
            errors.push(
                format!("issuers[{i}].backchannel_logout"),
                "this issuer is not in `revocation.issuers`: a logout would end nothing",
            );
        }
    }
    let raw = raw?;
    let binding = raw
        .binding
        .unwrap_or_else(|| "EDGE_AUTH_REVOCATIONS".to_owned());
    let mut chars = binding.chars();
    if !chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        errors.push(
            "revocation.binding",
            "must be a binding name (letters, digits, `_`)",
        );
    }
    let cache_seconds = raw.cache_seconds.unwrap_or(5);
    if cache_seconds > 300 {
        errors.push("revocation.cache_seconds", "must be at most 300");
    }
    let max_entries = raw.max_entries.unwrap_or(10_000);
    if !(1..=100_000).contains(&max_entries) {
        errors.push("revocation.max_entries", "must be between 1 and 100000");
    }
    let logout_path = raw
        .logout_path
        .unwrap_or_else(|| "/.well-known/edge-auth/backchannel-logout".to_owned());
    let admin_path = raw
        .admin_path
        .unwrap_or_else(|| "/.well-known/edge-auth/revoke".to_owned());
    check_endpoint_path("logout_path", &logout_path, errors);
    check_endpoint_path("admin_path", &admin_path, errors);
    if logout_path == admin_path {
        errors.push("revocation.admin_path", "must differ from `logout_path`");
    }
    for (field, path) in [("logout_path", &logout_path), ("admin_path", &admin_path)] {
        if matches!(
            path.as_str(),
            "/.well-known/edge-auth/jwks.json" | "/.well-known/edge-auth/status"
        ) {
            errors.push(
                format!("revocation.{field}"),
                "is the Worker's own JWKS or status path",
            );
        }
    }
    let admin = raw.admin.map(|rule| {
        let at = |field: &str| format!("revocation.admin.{field}");
        if rule.auth.is_some_and(|auth| auth != Auth::Required) {
            errors.push(at("auth"), "the admin endpoint always requires a token");
        }
        if rule.issuers.is_none() {
            errors.push(
                at("issuers"),
                "missing: name the issuers whose tokens may revoke (a role alone is not enough)",
            );
        }
        let (auth, issuers, requirement) = compile_rule(&at, rule, issuer_names, errors);
        Route {
            path: PathPattern::any(),
            methods: None,
            host: None,
            auth,
            issuers,
            requirement,
            bindings: Vec::new(),
            index: None,
        }
    });
    let issuers = issuers
        .into_iter()
        .filter_map(|(index, keep_seconds, leeway_seconds)| {
            Some(RevocationIssuer {
                index,
                issuer: issuer_names.get(index)?.clone(),
                keep_seconds,
                leeway_seconds,
                logout_client_id: logout_clients.get(index).cloned().flatten(),
            })
        })
        .collect();
    Some(RevocationConfig {
        binding,
        issuers,
        cache_seconds,
        fail: raw.fail.unwrap_or(RevocationFail::Closed),
        max_entries,
        logout_path,
        admin_path,
        admin,
    })
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
    let config = issuer_json(raw);
    let digest = Sha256::new()
        .chain_update(raw.issuer.as_bytes())
        .chain_update(b"\0")
        .chain_update(source.url().as_bytes())
        .chain_update(b"\0")
        .chain_update(config.as_bytes())
        .finalize();
    let mut key = "https://edge-auth-keys.invalid/v2/".to_owned();
    crate::hex::push_hex(&mut key, &digest);
    key
}

/// `remote_keys` as an option of its own (the origin's assertion verifier in the JS package and the
/// origin kits): read and checked by the same code as `EDGE_AUTH.remote_keys`, every mistake named
/// `remote_keys.…` as there.
pub fn read_remote_settings(w: &mut Walk, path: &str, value: &Value) -> Option<RemoteSettings> {
    let raw = read_remote(w, path, value)?;
    let mut errors = Errors(Vec::new());
    let settings = compile_remote(Some(raw), &mut errors);
    let fine = errors.0.is_empty();
    for error in errors.0 {
        w.error(&error.path, error.message);
    }
    fine.then_some(settings)
}

/// Whether `realm` can be the `realm` of a `WWW-Authenticate` challenge as the refusals write it (a
/// quoted string without escapes: printable ASCII, no `"` or `\`).
pub fn realm_is_quotable(realm: &str) -> bool {
    is_quotable(realm)
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

fn need_set(at: &str, need: Option<RawNeed>, errors: &mut Errors) -> NeedSet {
    let Some(RawNeed { all, any }) = need else {
        return NeedSet::default();
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
    // The reader (`read_nested`) already refuses deeper requirements; this keeps the bound here too.
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
    let nested = |name: &str, list: Option<Vec<RawParts>>, errors: &mut Errors| {
        let list = list.unwrap_or_default();
        let mut out = Vec::new();
        for (j, parts) in list.into_iter().enumerate() {
            let here = field(&format!("{name}[{j}]"));
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
    rule: RawRule,
    known_issuers: &[String],
    errors: &mut Errors,
) -> (Auth, Option<Vec<String>>, Requirement) {
    let RawRule {
        auth,
        issuers,
        parts,
    } = rule;
    let auth = auth.unwrap_or(Auth::Required);
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
    default: Option<RawRule>,
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
        let has_bindings = route.bind.as_ref().is_some_and(|b| !b.is_empty());
        let (auth, issuers, requirement) = compile_rule(&at, route.rule, known_issuers, errors);
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
    let (auth, issuers, requirement) =
        compile_rule(&at, default.unwrap_or_default(), known_issuers, errors);
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use serde_json::json;

    use super::*;

    /// A document that reads (it would not compile: no such secret, no keys).
    fn base() -> Value {
        json!({
            "issuers": [{ "issuer": "https://idp.example/", "audiences": ["api"], "algorithms": ["ES256"] }],
            "assertion": { "issuer": "https://edge.example", "audience": "https://origin.example", "signing_key_secret": "KEY" },
            "routes": [{ "path": "/*", "any": [{ "scopes": ["read"] }] }]
        })
    }

    /// `base()` with each (JSON pointer, value) set; `None` removes the member.
    fn with(patches: &[(&str, Option<Value>)]) -> Value {
        let mut doc = base();
        for (pointer, value) in patches {
            let (parent, name) = pointer.rsplit_once('/').unwrap();
            match (doc.pointer_mut(parent).unwrap(), value) {
                (Value::Array(items), Some(value)) => {
                    items[name.parse::<usize>().unwrap()] = value.clone()
                }
                (parent, Some(value)) => {
                    parent
                        .as_object_mut()
                        .unwrap()
                        .insert(name.to_owned(), value.clone());
                }
                (parent, None) => {
                    parent.as_object_mut().unwrap().remove(name);
                }
            }
        }
        doc
    }

    fn set(pointer: &str, value: Value) -> Value {
        with(&[(pointer, Some(value))])
    }

    /// Reads `doc` as `EDGE_AUTH`; `expected`: every (path, message), in order (none: it reads).
    fn check(name: &str, doc: &Value, expected: &[(&str, String)]) {
        let actual: Vec<(String, String)> = match parse_raw(doc, read_config) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.into_iter().map(|e| (e.path, e.message)).collect(),
        };
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(path, message)| ((*path).to_owned(), message.clone()))
            .collect();
        assert_eq!(actual, expected, "case `{name}`");
    }

    /// A named document and every (path, message) it must be refused with (none: it reads).
    type Case<'a> = (&'a str, Value, Vec<(&'a str, String)>);

    fn known(names: &[&str]) -> String {
        let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        format!("expected one of {}", quoted.join(", "))
    }

    fn unknown(member: &str, names: &[&str]) -> String {
        format!("unknown field `{member}`, {}", known(names))
    }

    fn msg(text: &str) -> String {
        text.to_owned()
    }

    #[test]
    fn structural_mistakes_name_their_field() {
        let int = |n: &str| {
            format!(
                "invalid value: {n}, expected an integer from 0 to {}",
                u64::MAX
            )
        };
        let long = "x".repeat(50);
        // `MAX_NESTING` levels of `any` below the route's own requirement, the last holding `roles`.
        let deep = (1..MAX_NESTING).fold(
            json!({ "roles": ["a"] }),
            |inner, _| json!({ "any": [inner] }),
        );
        let too_deep = json!({ "all": [deep.clone()] });
        let deep_path = format!(
            "routes[0].any[0].all[0]{}",
            ".any[0]".repeat(MAX_NESTING - 1)
        );
        #[rustfmt::skip]
        let cases: Vec<Case<'_>> = vec![
            ("base", base(), vec![]),
            ("as a JSON string", Value::String(base().to_string()), vec![]),
            ("a string holding mistakes", Value::String(set("/verbose", json!(1)).to_string()), vec![("verbose", unknown("verbose", CONFIG_FIELDS))]),
            ("a string holding a list", Value::String("[1]".into()), vec![("", msg("not a JSON object"))]),
            ("a string holding duplicates", Value::String(r#"{"realm": "a", "realm": "b"}"#.into()), vec![("", msg("duplicate member \"realm\""))]),
            ("not an object", json!(5), vec![("", msg("invalid type: a number, expected an object"))]),
            ("null", Value::Null, vec![("", msg("invalid type: null, expected an object"))]),
            // Unknown members, at every level.
            ("unknown at the top", set("/verbose", json!(true)), vec![("verbose", unknown("verbose", CONFIG_FIELDS))]),
            ("unknown in an issuer", set("/issuers/0/jwks_url", json!("https://x")), vec![("issuers[0].jwks_url", unknown("jwks_url", ISSUER_FIELDS))]),
            ("unknown in assertion", set("/assertion/ttl", json!(5)), vec![("assertion.ttl", unknown("ttl", &["header", "issuer", "audience", "ttl_seconds", "signing_key_secret", "previous_signing_key_secret"]))]),
            ("unknown in a route", set("/routes/0/role", json!(["a"])), vec![("routes[0].role", unknown("role", ROUTE_FIELDS))]),
            ("unknown in a nested requirement", set("/routes/0/any/0/role", json!(["a"])), vec![("routes[0].any[0].role", unknown("role", REQUIREMENT_FIELDS))]),
            ("unknown in a need set", set("/routes/0/scopes", json!({ "every": ["a"] })), vec![("routes[0].scopes.every", msg("unknown field `every`, expected `all` or `any`"))]),
            ("unknown in a claim rule", set("/routes/0/claims", json!([{ "claim": "a", "exist": true }])), vec![("routes[0].claims[0].exist", unknown("exist", &["claim", "equals", "one_of", "contains", "prefix", "exists"]))]),
            ("unknown in default", set("/default", json!({ "path": "/" })), vec![("default.path", unknown("path", DEFAULT_FIELDS))]),
            ("unknown in cache", set("/cache", json!({ "size": 1 })), vec![("cache.size", unknown("size", &["max_entries", "max_bytes", "max_ttl_seconds"]))]),
            ("unknown in cors", set("/cors", json!({ "allowed_origins": [], "origins": [] })), vec![("cors.origins", unknown("origins", &["allowed_origins", "allowed_methods", "allowed_headers", "expose_headers", "max_age_seconds", "allow_credentials"]))]),
            ("unknown in csrf", set("/csrf", json!({ "all": true })), vec![("csrf.all", msg("unknown field `all`, expected `allowed_origins` or `all_requests`"))]),
            ("unknown in remote_keys", set("/remote_keys", json!({ "ttl": 1 })), vec![("remote_keys.ttl", unknown("ttl", &["min_ttl_seconds", "max_ttl_seconds", "kid_cooldown_seconds", "stale_if_error_seconds", "error_backoff_seconds", "timeout_ms", "max_bytes", "allow_loopback_http"]))]),
            ("unknown in paths", set("/paths", json!({ "matrix": true })), vec![("paths.matrix", msg("unknown field `matrix`, expected `allow_matrix_parameters` or `case_insensitive`"))]),
            ("a long unknown name is cut in the message", set(&format!("/{long}"), json!(1)), vec![(long.as_str(), unknown(&format!("{}…", "x".repeat(40)), CONFIG_FIELDS))]),
            // Missing members.
            ("issuers missing", with(&[("/issuers", None)]), vec![("", msg("missing field `issuers`"))]),
            ("assertion missing", with(&[("/assertion", None)]), vec![("", msg("missing field `assertion`"))]),
            ("issuer fields missing", set("/issuers/0", json!({})), vec![("issuers[0]", msg("missing field `issuer`")), ("issuers[0]", msg("missing field `audiences`")), ("issuers[0]", msg("missing field `algorithms`"))]),
            ("assertion key missing", with(&[("/assertion/signing_key_secret", None)]), vec![("assertion", msg("missing field `signing_key_secret`"))]),
            ("route path missing", set("/routes/0", json!({ "auth": "none" })), vec![("routes[0]", msg("missing field `path`"))]),
            ("claim missing", set("/routes/0/claims", json!([{ "exists": true }])), vec![("routes[0].claims[0]", msg("missing field `claim`"))]),
            ("cors origins missing", set("/cors", json!({})), vec![("cors", msg("missing field `allowed_origins`"))]),
            ("routes may be left out", with(&[("/routes", None)]), vec![]),
            // Wrong types.
            ("audiences a string", set("/issuers/0/audiences", json!("api")), vec![("issuers[0].audiences", msg("invalid type: a string, expected a list of strings"))]),
            ("an audience a number", set("/issuers/0/audiences", json!(["api", 1, true])), vec![("issuers[0].audiences[1]", msg("invalid type: a number, expected a string")), ("issuers[0].audiences[2]", msg("invalid type: a boolean, expected a string"))]),
            ("issuers an object", set("/issuers", json!({})), vec![("issuers", msg("invalid type: an object, expected a list of issuers"))]),
            ("an issuer a list", set("/issuers", json!([[]])), vec![("issuers[0]", msg("invalid type: a list, expected an object"))]),
            ("leeway a string", set("/leeway_seconds", json!("30")), vec![("leeway_seconds", format!("invalid type: a string, expected an integer from 0 to {}", u64::MAX))]),
            ("forward_token a string", set("/forward_token", json!("yes")), vec![("forward_token", msg("invalid type: a string, expected a boolean"))]),
            ("auth a number", set("/routes/0/auth", json!(1)), vec![("routes[0].auth", msg("invalid type: a number, expected one of `none`, `optional`, `required`"))]),
            ("auth unknown", set("/routes/0/auth", json!("maybe")), vec![("routes[0].auth", msg("unknown variant `maybe`, expected one of `none`, `optional`, `required`"))]),
            ("decision_log refusals", set("/decision_log", json!("refusals")), vec![]),
            ("decision_log unknown", set("/decision_log", json!("forwards")), vec![("decision_log", msg("unknown variant `forwards`, expected `all` or `refusals`"))]),
            ("decision_log a boolean", set("/decision_log", json!(false)), vec![("decision_log", msg("invalid type: a boolean, expected one of `all`, `refusals`"))]),
            ("scopes a string", set("/routes/0/scopes", json!("read")), vec![("routes[0].scopes", msg("invalid type: a string, expected a list of names (all required) or { all = [...], any = [...] }"))]),
            ("a scope a number", set("/routes/0/scopes", json!({ "any": [1] })), vec![("routes[0].scopes.any[0]", msg("invalid type: a number, expected a string"))]),
            ("bind to a number", set("/routes/0/bind", json!({ "tenant": 1 })), vec![("routes[0].bind.tenant", msg("invalid type: a number, expected a string"))]),
            ("bind a list", set("/routes/0/bind", json!([])), vec![("routes[0].bind", msg("invalid type: a list, expected an object of parameter names and claim paths"))]),
            ("any an object", set("/routes/0/any", json!({})), vec![("routes[0].any", msg("invalid type: an object, expected a list of requirements"))]),
            ("claims an object", set("/routes/0/claims", json!({})), vec![("routes[0].claims", msg("invalid type: an object, expected a list of claim rules"))]),
            ("one_of a string", set("/routes/0/claims", json!([{ "claim": "a", "one_of": "x" }])), vec![("routes[0].claims[0].one_of", msg("invalid type: a string, expected a list of values"))]),
            ("claim values may be anything", set("/routes/0/claims", json!([{ "claim": "a", "one_of": [1, "x", null, [], {}] }, { "claim": "b", "equals": { "x": [1] } }])), vec![]),
            // Integers.
            ("negative", set("/leeway_seconds", json!(-1)), vec![("leeway_seconds", int("-1"))]),
            ("fractional", set("/assertion/ttl_seconds", json!(1.5)), vec![("assertion.ttl_seconds", int("1.5"))]),
            ("whole but written as a fraction", set("/issuers/0/max_age_seconds", json!(1.0)), vec![("issuers[0].max_age_seconds", int("1.0"))]),
            ("huge", set("/cache", json!({ "max_ttl_seconds": 1e30 })), vec![("cache.max_ttl_seconds", int("1e+30"))]),
            ("just past u64", Value::String(r#"{"issuers": [], "assertion": {"issuer": "", "audience": "", "signing_key_secret": ""}, "leeway_seconds": 18446744073709551616}"#.into()), vec![("leeway_seconds", int("1.8446744073709552e+19"))]),
            ("the largest u64", set("/leeway_seconds", json!(u64::MAX)), vec![]),
            ("usize", set("/remote_keys", json!({ "max_bytes": -5 })), vec![("remote_keys.max_bytes", format!("invalid value: -5, expected an integer from 0 to {}", usize::MAX))]),
            // null: an option left out; refused where a value (or a list, a switch) is expected.
            ("null options", with(&[("/realm", Some(Value::Null)), ("/cache", Some(Value::Null)), ("/default", Some(Value::Null)), ("/issuers/0/typ", Some(Value::Null)), ("/issuers/0/jwks", Some(Value::Null)), ("/routes/0/auth", Some(Value::Null)), ("/routes/0/any", Some(Value::Null))]), vec![]),
            ("null inside an option", set("/remote_keys", json!({ "timeout_ms": null, "max_bytes": null })), vec![]),
            ("null switch", set("/forward_token", Value::Null), vec![("forward_token", msg("invalid type: null, expected a boolean"))]),
            ("null list", set("/routes", Value::Null), vec![("routes", msg("invalid type: null, expected a list of routes"))]),
            ("null required", set("/issuers/0/issuer", Value::Null), vec![("issuers[0].issuer", msg("invalid type: null, expected a string"))]),
            ("null list with a default", set("/issuers/0/required_claims", Value::Null), vec![("issuers[0].required_claims", msg("invalid type: null, expected a list of strings"))]),
            // Nesting.
            ("nested as deep as allowed", set("/routes/0/any", json!([deep])), vec![]),
            ("nested deeper", set("/routes/0/any", json!([too_deep])), vec![(deep_path.as_str(), format!("`any` / `all` nest deeper than {MAX_NESTING}"))]),
            // Every mistake at once, unknown members of an object first.
            ("several mistakes", with(&[
                ("/verbose", Some(json!(1))),
                ("/leeway_seconds", Some(json!(-3))),
                ("/issuers/0/audiences", Some(json!("api"))),
                ("/issuers/0/algorithms", None),
                ("/assertion/ttl_seconds", Some(json!("60"))),
                ("/routes/0/any/0/roles", Some(json!(7))),
                ("/routes/0/method", Some(json!("GET"))),
                ("/cors", Some(json!({ "allowed_origins": "*" }))),
            ]), vec![
                ("verbose", unknown("verbose", CONFIG_FIELDS)),
                ("leeway_seconds", int("-3")),
                ("issuers[0].audiences", msg("invalid type: a string, expected a list of strings")),
                ("issuers[0]", msg("missing field `algorithms`")),
                ("assertion.ttl_seconds", format!("invalid type: a string, expected an integer from 0 to {}", u64::MAX)),
                ("routes[0].method", unknown("method", ROUTE_FIELDS)),
                ("routes[0].any[0].roles", msg("invalid type: a number, expected a list of names (all required) or { all = [...], any = [...] }")),
                ("cors.allowed_origins", msg("invalid type: a string, expected a list of strings")),
            ]),
        ];
        for (name, doc, expected) in &cases {
            check(name, doc, expected);
        }
    }

    #[test]
    fn the_verifier_part_reads_with_the_same_paths() {
        let doc = json!({ "issuers": [{ "issuer": "i", "audiences": [1], "algorithms": [] }], "cache": { "max_entries": -1 }, "routes": [] });
        let errors: Vec<(String, String)> = match parse_raw(&doc, read_verifier_config) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.into_iter().map(|e| (e.path, e.message)).collect(),
        };
        let expected = [
            ("routes", unknown("routes", VERIFIER_FIELDS)),
            (
                "cache.max_entries",
                format!(
                    "invalid value: -1, expected an integer from 0 to {}",
                    usize::MAX
                ),
            ),
            (
                "issuers[0].audiences[0]",
                msg("invalid type: a number, expected a string"),
            ),
        ]
        .map(|(path, message)| (path.to_owned(), message));
        assert_eq!(errors, expected);
    }

    #[test]
    fn remote_settings_read_alone_as_in_the_configuration() {
        let read = |doc: Value| {
            let mut w = Walk::new();
            let settings = read_remote_settings(&mut w, "remote_keys", &doc);
            w.finish(settings)
                .map_err(|errors| errors.into_iter().map(|e| e.path).collect::<Vec<_>>())
        };
        let settings =
            read(json!({ "kid_cooldown_seconds": 5, "allow_loopback_http": true })).unwrap();
        assert_eq!(settings.kid_cooldown, 5);
        assert!(settings.allow_loopback_http);
        assert_eq!(settings.min_ttl, RemoteSettings::default().min_ttl);
        assert_eq!(
            read(json!({ "kid_cooldown_seconds": 0, "timeout_ms": 1 })).unwrap_err(),
            ["remote_keys.kid_cooldown_seconds", "remote_keys.timeout_ms"]
        );
        assert_eq!(read(json!({ "ttl": 1 })).unwrap_err(), ["remote_keys.ttl"]);
        assert!(realm_is_quotable("edge-auth origin"));
        assert!(!realm_is_quotable("a\"b"));
    }
}
