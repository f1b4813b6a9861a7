//! `EDGE_AUTH` configuration: a valid base and one named mutation per mistake, each reporting the exact
//! field path. All mistakes of one document are reported together.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests: a panic is a test failure"
)]

mod common;

use std::collections::HashMap;

use common::*;
use edge_auth_core::{
    mint, Algorithm, Auth, ConfigErrors, GateConfig, MintOptions, RevocationFail, RevocationIssuer,
    SigningKey, UnixTime, VerifierConfig,
};
use serde_json::{json, Value};

fn secrets() -> HashMap<String, String> {
    let signing = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng).unwrap();
    let previous = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng).unwrap();
    let es384 = SigningKey::generate(Algorithm::Es384, None, &mut rand_core::OsRng).unwrap();
    let hs256 = SigningKey::generate(Algorithm::Hs256, None, &mut rand_core::OsRng).unwrap();
    let hs256_other = SigningKey::generate(Algorithm::Hs256, None, &mut rand_core::OsRng).unwrap();
    let es256 = SigningKey::generate(Algorithm::Es256, None, &mut rand_core::OsRng).unwrap();
    let private = |k: &SigningKey| Value::Object(k.to_private_jwk()).to_string();
    HashMap::from([
        ("HS256_KEY".to_owned(), private(&hs256)),
        ("HS256_OTHER".to_owned(), private(&hs256_other)),
        ("ES256_KEY".to_owned(), private(&es256)),
        (
            "HS256_NO_KID".to_owned(),
            json!({"kty": "oct", "alg": "HS256", "k": b64(&[1; 32])}).to_string(),
        ),
        (
            "HS256_OTHER_NO_KID".to_owned(),
            json!({"kty": "oct", "alg": "HS256", "k": b64(&[2; 32])}).to_string(),
        ),
        ("EDGE_AUTH_SIGNING_KEY".to_owned(), private(&signing)),
        ("EDGE_AUTH_PREVIOUS_KEY".to_owned(), private(&previous)),
        ("ES384_KEY".to_owned(), private(&es384)),
        (
            "HMAC_SECRET".to_owned(),
            "a-shared-secret-that-is-at-least-32-bytes".to_owned(),
        ),
        ("SHORT_SECRET".to_owned(), "too-short".to_owned()),
        ("NOT_A_JWK".to_owned(), "hello".to_owned()),
    ])
}

fn base() -> Value {
    let jwks: Value = serde_json::from_str(&jwks_of(&[key(Algorithm::Es256)])).unwrap();
    json!({
        "leeway_seconds": 30,
        "issuers": [
            { "issuer": ISS, "audiences": [AUD], "algorithms": ["ES256"], "jwks": jwks, "typ": "at+jwt" },
            { "issuer": "https://hs.example/", "audiences": [AUD], "algorithms": ["HS256"], "hmac_secret": "HMAC_SECRET" }
        ],
        "assertion": {
            "issuer": "https://edge.example", "audience": "https://origin.example",
            "signing_key_secret": "EDGE_AUTH_SIGNING_KEY", "previous_signing_key_secret": "EDGE_AUTH_PREVIOUS_KEY"
        },
        "routes": [
            { "path": "/public/*", "auth": "none" },
            { "path": "/health", "methods": ["GET", "HEAD"], "auth": "none" },
            { "path": "/*", "auth": "required" }
        ]
    })
}

/// The ES256 issuer with its inline `jwks` replaced by a remote source (`jwks_uri` or `discovery`);
/// its issuer is made `http://` so that discovery's URL rule shows.
fn with_remote(field: &str, value: Value) -> Value {
    let mut config = base();
    let issuer = config["issuers"][0].as_object_mut().unwrap();
    issuer.remove("jwks");
    issuer.insert(field.into(), value);
    if field == "discovery" {
        issuer.insert("issuer".into(), json!("http://idp.example/"));
    }
    config
}

/// The ES256 issuer as a remote-keys issuer named `issuer`, with `field` (`discovery`) set.
fn with_remote_issuer(field: &str, issuer: &str) -> Value {
    let mut config = with_remote(field, json!(true));
    config["issuers"][0]["issuer"] = json!(issuer);
    config
}

/// The base config with these secrets in the assertion's two slots.
fn with_both(current: &str, previous: &str) -> Value {
    let mut config = base();
    config["assertion"]["signing_key_secret"] = json!(current);
    config["assertion"]["previous_signing_key_secret"] = json!(previous);
    config
}

/// `config` with `remote_keys.allow_loopback_http = true`.
fn allow_loopback(mut config: Value) -> Value {
    config["remote_keys"] = json!({ "allow_loopback_http": true });
    config
}

fn with_remote_hs() -> Value {
    let mut config = base();
    let issuer = config["issuers"][1].as_object_mut().unwrap();
    issuer.remove("hmac_secret");
    issuer.insert("jwks_uri".into(), json!("https://hs.example/jwks"));
    config
}

/// Applies `patch` (a JSON pointer and a value, or `null` to delete) to the base config.
fn with(pointer: &str, value: Option<Value>) -> Value {
    let mut config = base();
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let target = config.pointer_mut(parent).unwrap();
    match (target, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(last.to_owned(), v);
        }
        (Value::Object(map), None) => {
            map.remove(last);
        }
        (Value::Array(items), Some(v)) => items[last.parse::<usize>().unwrap()] = v,
        (Value::Array(items), None) => {
            items.remove(last.parse::<usize>().unwrap());
        }
        _ => panic!("bad pointer {pointer}"),
    }
    config
}

/// A named config and the errors it must produce: (path, message fragment).
type Case = (&'static str, Value, Vec<(&'static str, &'static str)>);

/// Compiles `config`; `expected` is the list of (path, message fragment) errors, or empty for success.
fn check(name: &str, config: &Value, expected: &[(&str, &str)]) {
    match GateConfig::from_value(config, &secrets()) {
        Ok(_) => assert!(
            expected.is_empty(),
            "case `{name}`: compiled, expected {expected:?}"
        ),
        Err(errors) => {
            let actual: Vec<(String, String)> = errors
                .0
                .iter()
                .map(|e| (e.path.clone(), e.message.clone()))
                .collect();
            assert_eq!(actual.len(), expected.len(), "case `{name}`: {actual:#?}");
            for ((path, message), (want_path, fragment)) in actual.iter().zip(expected) {
                assert_eq!(path, want_path, "case `{name}`: {message}");
                assert!(
                    message.contains(fragment),
                    "case `{name}`: {path}: {message:?} lacks {fragment:?}"
                );
            }
        }
    }
}

#[test]
fn configuration_mistakes_name_their_field() {
    let rsa_1024 = json!({"keys": [{"kty": "RSA", "n": b64(&[0xc1; 128]), "e": "AQAB"}]});
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("base", base(), vec![]),
        ("as a JSON string", Value::String(base().to_string()), vec![]),
        ("unknown top-level field", with("/verbose", Some(json!(true))), vec![("verbose", "unknown field `verbose`")]),
        ("unknown issuer field (typo)", with("/issuers/0/jwks_url", Some(json!("https://x"))), vec![("issuers[0].jwks_url", "unknown field `jwks_url`")]),
        ("wrong type", with("/leeway_seconds", Some(json!("30"))), vec![("leeway_seconds", "invalid type")]),
        ("not JSON", Value::String("{".into()), vec![("", "not valid JSON")]),
        ("duplicate member in JSON text", Value::String(r#"{"leeway_seconds": 1, "leeway_seconds": 2}"#.into()), vec![("", "duplicate member \"leeway_seconds\"")]),
        ("issuers missing", with("/issuers", None), vec![("", "missing field `issuers`")]),
        ("issuers empty", with("/issuers", Some(json!([]))), vec![("issuers", "empty list")]),
        ("audiences empty", with("/issuers/0/audiences", Some(json!([]))), vec![("issuers[0].audiences", "empty list")]),
        ("algorithm unknown", with("/issuers/0/algorithms", Some(json!(["ES256", "none"]))), vec![("issuers[0].algorithms[1]", "unknown algorithm \"none\"")]),
        ("algorithms empty", with("/issuers/0/algorithms", Some(json!([]))), vec![("issuers[0].algorithms", "empty list")]),
        ("algorithms mix HS and ES", with("/issuers/1/algorithms", Some(json!(["HS256", "ES256"]))), vec![("issuers[1].algorithms", "mixes HMAC")]),
        ("weak RSA key in jwks", with("/issuers/0/jwks", Some(rsa_1024)), vec![("issuers[0].jwks.keys[0]", "at least 2048")]),
        ("jwks without keys", with("/issuers/0/jwks", Some(json!({}))), vec![("issuers[0].jwks", "keys")]),
        ("jwks key unfit for the algorithms", with("/issuers/0/algorithms", Some(json!(["RS256"]))), vec![("issuers[0].jwks", "cannot be used with any allowed algorithm")]),
        ("neither jwks nor hmac_secret", with("/issuers/0/jwks", None), vec![("issuers[0].jwks", "missing")]),
        ("both jwks and hmac_secret", with("/issuers/0/hmac_secret", Some(json!("HMAC_SECRET"))), vec![("issuers[0].jwks", "not several")]),
        ("both jwks and jwks_uri", with("/issuers/0/jwks_uri", Some(json!("https://idp.example/jwks"))), vec![("issuers[0].jwks", "not several")]),
        ("jwks_uri over http", with_remote("jwks_uri", json!("http://idp.example/jwks")), vec![("issuers[0].jwks_uri", "only https")]),
        ("jwks_uri on loopback http", with_remote("jwks_uri", json!("http://127.0.0.1:9000/jwks")), vec![("issuers[0].jwks_uri", "remote_keys.allow_loopback_http")]),
        ("jwks_uri on loopback http, allowed", allow_loopback(with_remote("jwks_uri", json!("http://127.0.0.1:9000/jwks"))), vec![]),
        ("discovery on loopback http", with_remote_issuer("discovery", "http://127.0.0.1:9000/"), vec![("issuers[0].discovery", "remote_keys.allow_loopback_http")]),
        ("discovery on loopback http, allowed", allow_loopback(with_remote_issuer("discovery", "http://127.0.0.1:9000/")), vec![]),
        ("loopback switch does not allow other hosts", allow_loopback(with_remote("jwks_uri", json!("http://idp.example/jwks"))), vec![("issuers[0].jwks_uri", "only https")]),
        ("discovery of an http issuer", with_remote("discovery", json!(true)), vec![("issuers[0].discovery", "only https")]),
        ("remote keys for HS256", with_remote_hs(), vec![("issuers[1].algorithms", "cannot come from a URL")]),
        ("remote timeout too long", with("/remote_keys", Some(json!({"timeout_ms": 60_000}))), vec![("remote_keys.timeout_ms", "between 100 and 30000")]),
        ("remote max below min", with("/remote_keys", Some(json!({"min_ttl_seconds": 600, "max_ttl_seconds": 60}))), vec![("remote_keys.max_ttl_seconds", "between 600")]),
        ("HS key inline", with("/issuers/1/jwks", Some(json!({"keys": [{"kty": "oct", "k": b64(&[1; 32])}]}))), vec![("issuers[1].jwks", "not several")]),
        ("hmac secret missing", with("/issuers/1/hmac_secret", Some(json!("NOPE"))), vec![("issuers[1].hmac_secret", "\"NOPE\" is not set")]),
        ("hmac secret too short", with("/issuers/1/hmac_secret", Some(json!("SHORT_SECRET"))), vec![("issuers[1].hmac_secret", "at least 32")]),
        ("same issuer twice", with("/issuers/1/issuer", Some(json!(ISS))), vec![("issuers[1].issuer", "configured twice")]),
        ("leeway above the maximum", with("/leeway_seconds", Some(json!(100_000))), vec![("leeway_seconds", "maximum"), ("leeway_seconds", "maximum")]),
        ("issuer leeway above the maximum", with("/issuers/0/leeway_seconds", Some(json!(100_000))), vec![("issuers[0].leeway_seconds", "maximum")]),
        ("signing key secret missing", with("/assertion/signing_key_secret", Some(json!("NOPE"))), vec![("assertion.signing_key_secret", "\"NOPE\" is not set")]),
        ("signing key not a JWK", with("/assertion/signing_key_secret", Some(json!("NOT_A_JWK"))), vec![("assertion.signing_key_secret", "not a private JWK")]),
        ("signing key of a refused algorithm", with("/assertion/signing_key_secret", Some(json!("ES384_KEY"))), vec![("assertion.signing_key_secret", "ES384")]),
        ("previous key is the current one", with("/assertion/previous_signing_key_secret", Some(json!("EDGE_AUTH_SIGNING_KEY"))), vec![("assertion.previous_signing_key_secret", "same key")]),
        ("previous HS256 beside a current EdDSA key", with("/assertion/previous_signing_key_secret", Some(json!("HS256_KEY"))), vec![("assertion.previous_signing_key_secret", "holds a HS256 key while signing_key_secret holds a EdDSA key")]),
        ("the same HS256 key in both slots", with_both("HS256_KEY", "HS256_KEY"), vec![("assertion.previous_signing_key_secret", "same key")]),
        ("two HS256 keys without kids", with_both("HS256_NO_KID", "HS256_OTHER_NO_KID"), vec![]),
        ("previous EdDSA beside a current HS256 key", with("/assertion/signing_key_secret", Some(json!("HS256_KEY"))), vec![("assertion.previous_signing_key_secret", "both symmetric (HS256) or both asymmetric")]),
        ("paths: unknown field", with("/paths", Some(json!({"matrix": true}))), vec![("paths.matrix", "unknown field `matrix`")]),
        ("route pattern with `;`", with("/routes/0/path", Some(json!("/a;b/*"))), vec![("routes[0].path", "never holds `;`")]),
        ("assertion ttl zero", with("/assertion/ttl_seconds", Some(json!(0))), vec![("assertion.ttl_seconds", "between 1 and 300")]),
        ("assertion header is Authorization", with("/assertion/header", Some(json!("Authorization"))), vec![("assertion.header", "standard header")]),
        ("assertion header not a token", with("/assertion/header", Some(json!("X Auth"))), vec![("assertion.header", "HTTP header name")]),
        ("route path relative", with("/routes/0/path", Some(json!("public/*"))), vec![("routes[0].path", "start with `/`")]),
        ("route glob inside a segment", with("/routes/0/path", Some(json!("/a*b/c"))), vec![("routes[0].path", "`*` is a whole segment")]),
        ("route parameter malformed", with("/routes/0/path", Some(json!("/t/{a-b}/x"))), vec![("routes[0].path", "a parameter is `{name}`")]),
        ("route pattern with ..", with("/routes/0/path", Some(json!("/a/../b"))), vec![("routes[0].path", "not allowed in a pattern")]),
        ("route pattern with %2F", with("/routes/0/path", Some(json!("/a%2Fb"))), vec![("routes[0].path", "encodes `/`")]),
        ("route host with port", with("/routes/0/host", Some(json!("api.example.com:443"))), vec![("routes[0].host", "without port")]),
        ("requirement on a public route", with("/routes/0/scopes", Some(json!(["a"]))), vec![("routes[0].auth", "need auth = \"required\"")]),
        ("optional route with issuers", with("/routes/0/auth", Some(json!("optional"))), vec![]),
        ("route issuer unknown", with("/routes/2/issuers", Some(json!(["https://nope/"]))), vec![("routes[2].issuers[0]", "not one of the configured")]),
        ("scopes empty list", with("/routes/2/scopes", Some(json!([]))), vec![("routes[2].scopes", "empty")]),
        ("scopes with a space", with("/routes/2/scopes", Some(json!(["a b"]))), vec![("routes[2].scopes", "without spaces")]),
        ("scopes of a wrong shape", with("/routes/2/scopes", Some(json!("a"))), vec![("routes[2].scopes", "a list of names (all required) or { all = [...], any = [...] }")]),
        ("scopes with an unknown set", with("/routes/2/scopes", Some(json!({"every": ["a"]}))), vec![("routes[2].scopes.every", "unknown field `every`, expected `all` or `any`")]),
        ("claim without operator", with("/routes/2/claims", Some(json!([{"claim": "a"}]))), vec![("routes[2].claims[0]", "exactly one of")]),
        ("claim with two operators", with("/routes/2/claims", Some(json!([{"claim": "a", "equals": 1, "exists": true}]))), vec![("routes[2].claims[0]", "exactly one of")]),
        ("claim path malformed", with("/routes/2/claims", Some(json!([{"claim": "a..b", "exists": true}]))), vec![("routes[2].claims[0].claim", "empty name")]),
        ("nested requirement empty", with("/routes/2/any", Some(json!([{"roles": ["a"]}, {}]))), vec![("routes[2].any[1]", "empty requirement")]),
        ("nested claim mistake", with("/routes/2/all", Some(json!([{"any": [{"claims": [{"claim": "x", "one_of": []}]}]}]))), vec![("routes[2].all[0].any[0].claims[0].one_of", "empty list")]),
        ("nested unknown field", with("/routes/2/any", Some(json!([{"role": ["a"]}]))), vec![("routes[2].any[0].role", "unknown field `role`")]),
        ("bind to a missing parameter", with("/routes/2/bind", Some(json!({"tenant": "tenant_id"}))), vec![("routes[2].bind.tenant", "no parameter {tenant}")]),
        ("default rule unknown issuer", with("/default", Some(json!({"issuers": ["https://nope/"]}))), vec![("default.issuers[0]", "not one of the configured")]),
        ("scope_claims malformed", with("/issuers/0/scope_claims", Some(json!(["scope", "a["]))), vec![("issuers[0].scope_claims[1]", "without `]`")]),
        ("cors wildcard with credentials", with("/cors", Some(json!({"allowed_origins": ["*"], "allow_credentials": true}))), vec![("cors.allow_credentials", "list the origins")]),
        ("cors origin with a path", with("/cors", Some(json!({"allowed_origins": ["https://app.example/x"]}))), vec![("cors.allowed_origins[0]", "no path")]),
        ("cors max age too long", with("/cors", Some(json!({"allowed_origins": ["https://app.example"], "max_age_seconds": 100000}))), vec![("cors.max_age_seconds", "at most 86400")]),
        ("csrf origin malformed", with("/csrf", Some(json!({"allowed_origins": ["app.example"]}))), vec![("csrf.allowed_origins[0]", "an origin is")]),
        ("route auth unknown", with("/routes/0/auth", Some(json!("maybe"))), vec![("routes[0].auth", "unknown variant `maybe`")]),
        ("route methods lower-case", with("/routes/1/methods", Some(json!(["get"]))), vec![("routes[1].methods", "upper-case")]),
        ("route methods empty", with("/routes/1/methods", Some(json!([]))), vec![("routes[1].methods", "empty list")]),
        ("realm with a quote", with("/realm", Some(json!("a\"b"))), vec![("realm", "printable ASCII")]),
        ("cookie name with a space", with("/token_cookie", Some(json!("a b"))), vec![("token_cookie", "cookie name")]),
        ("cache ttl too long", with("/cache", Some(json!({"max_ttl_seconds": 86_400}))), vec![("cache.max_ttl_seconds", "at most 3600")]),
        ("cache bytes too few", with("/cache", Some(json!({"max_bytes": 1_048_575}))), vec![("cache.max_bytes", "between 1048576 (1 MiB) and 67108864 (64 MiB)")]),
        ("cache bytes too many", with("/cache", Some(json!({"max_bytes": 67_108_865}))), vec![("cache.max_bytes", "between 1048576 (1 MiB) and 67108864 (64 MiB)")]),
        ("cache bytes at the bounds", with("/cache", Some(json!({"max_entries": 1, "max_bytes": 1_048_576}))), vec![]),
        ("cache bytes not a number", with("/cache", Some(json!({"max_bytes": "16M"}))), vec![("cache.max_bytes", "invalid type: a string, expected an integer")]),
        ("token limit too small", with("/max_token_bytes", Some(json!(10))), vec![("max_token_bytes", "between 256 and 65536")]),
    ];
    for (name, config, expected) in &cases {
        check(name, config, expected);
    }
}

/// `base()` with a `revocation` table (ISS under revocation) merged with `revocation`, and ISS's
/// `backchannel_logout` when `logout` is given.
fn with_revocation(revocation: Value, logout: Option<Value>) -> Value {
    let mut config = base();
    let mut table = json!({ "issuers": [ISS] });
    for (name, value) in revocation.as_object().unwrap() {
        table[name] = value.clone();
    }
    config["revocation"] = table;
    if let Some(logout) = logout {
        config["issuers"][0]["backchannel_logout"] = logout;
    }
    config
}

#[test]
fn revocation_mistakes_name_their_field() {
    let hs = "https://hs.example/";
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("minimal", with_revocation(json!({}), None), vec![]),
        ("everything", with_revocation(json!({
            "binding": "REVOKED", "cache_seconds": 0, "fail": "open", "max_entries": 2,
            "max_token_lifetime_seconds": 3600, "logout_path": "/logout", "admin_path": "/revoke",
            "admin": { "issuers": [hs], "roles": ["revoker"] }
        }), Some(json!({ "client_id": "edge" }))), vec![]),
        ("issuers missing", with("/revocation", Some(json!({}))), vec![("revocation", "missing field `issuers`")]),
        ("issuers empty", with_revocation(json!({ "issuers": [] }), None), vec![("revocation.issuers", "empty list")]),
        ("issuer unknown", with_revocation(json!({ "issuers": [ISS, "https://nope/"] }), None), vec![("revocation.issuers[1]", "\"https://nope/\" is not one of the configured `issuers`")]),
        ("issuer twice", with_revocation(json!({ "issuers": [ISS, ISS] }), None), vec![("revocation.issuers[1]", "listed twice")]),
        ("unknown member", with_revocation(json!({ "ttl": 1 }), None), vec![("revocation.ttl", "unknown field `ttl`")]),
        ("fail unknown", with_revocation(json!({ "fail": "sometimes" }), None), vec![("revocation.fail", "closed")]),
        ("binding not a name", with_revocation(json!({ "binding": "a-b" }), None), vec![("revocation.binding", "binding name")]),
        ("cache too long", with_revocation(json!({ "cache_seconds": 301 }), None), vec![("revocation.cache_seconds", "at most 300")]),
        ("no entries", with_revocation(json!({ "max_entries": 0 }), None), vec![("revocation.max_entries", "between 1 and 100000")]),
        ("lifetime zero", with_revocation(json!({ "max_token_lifetime_seconds": 0 }), None), vec![("revocation.max_token_lifetime_seconds", "between 1 and 2592000")]),
        ("relative path", with_revocation(json!({ "logout_path": "logout" }), None), vec![("revocation.logout_path", "absolute path")]),
        ("path with query", with_revocation(json!({ "admin_path": "/revoke?x" }), None), vec![("revocation.admin_path", "absolute path")]),
        ("same paths", with_revocation(json!({ "logout_path": "/x", "admin_path": "/x" }), None), vec![("revocation.admin_path", "must differ")]),
        ("the JWKS path", with_revocation(json!({ "admin_path": "/.well-known/edge-auth/jwks.json" }), None), vec![("revocation.admin_path", "own JWKS or status path")]),
        ("admin without auth", with_revocation(json!({ "admin": { "auth": "none", "issuers": [ISS] } }), None), vec![("revocation.admin.auth", "always requires a token"), ("revocation.admin.auth", "need auth = \"required\"")]),
        ("admin without issuers", with_revocation(json!({ "admin": { "roles": ["revoker"] } }), None), vec![("revocation.admin.issuers", "missing: name the issuers")]),
        ("admin with an unknown issuer", with_revocation(json!({ "admin": { "issuers": ["https://nope/"] } }), None), vec![("revocation.admin.issuers[0]", "not one of the configured")]),
        ("admin with an unknown member", with_revocation(json!({ "admin": { "path": "/x", "issuers": [ISS] } }), None), vec![("revocation.admin.path", "unknown field `path`")]),
        ("logout without client_id", with_revocation(json!({}), Some(json!({}))), vec![("issuers[0].backchannel_logout", "missing field `client_id`")]),
        ("logout client_id empty", with_revocation(json!({}), Some(json!({ "client_id": "" }))), vec![("issuers[0].backchannel_logout.client_id", "empty")]),
        ("logout for an issuer not under revocation", with("/issuers/1/backchannel_logout", Some(json!({ "client_id": "edge" }))), vec![("issuers[1].backchannel_logout", "not in `revocation.issuers`")]),
    ];
    for (name, config, expected) in &cases {
        check(name, config, expected);
    }
}

#[test]
fn revocation_compiles_and_bounds_token_age() {
    let config = with_revocation(
        json!({ "max_token_lifetime_seconds": 3600, "admin": { "issuers": [ISS], "roles": ["revoker"] } }),
        Some(json!({ "client_id": "edge" })),
    );
    let compiled = GateConfig::from_value(&config, &secrets()).unwrap();
    let revocation = compiled.revocation.as_ref().unwrap();
    assert_eq!(revocation.binding, "EDGE_AUTH_REVOCATIONS");
    assert_eq!(revocation.cache_seconds, 5);
    assert_eq!(revocation.fail, RevocationFail::Closed);
    assert_eq!(revocation.max_entries, 10_000);
    assert_eq!(
        revocation.logout_path,
        "/.well-known/edge-auth/backchannel-logout"
    );
    assert_eq!(revocation.admin_path, "/.well-known/edge-auth/revoke");
    assert!(revocation.admin.is_some());
    assert_eq!(
        revocation.issuers,
        [RevocationIssuer {
            index: 0,
            issuer: ISS.into(),
            // The lifetime, plus the configuration's 30 s leeway, plus one second.
            keep_seconds: 3631,
            leeway_seconds: 30,
            logout_client_id: Some("edge".into()),
        }]
    );
    assert!(revocation.issuer(ISS).is_some() && revocation.issuer("https://hs.example/").is_none());
    // The issuer's tokens now need `iat` and may be at most an hour (+ leeway) old.
    let now = 1_700_000_000;
    let token = |claims: Value| {
        let key = key(Algorithm::Es256);
        let mut claims = claims;
        claims["iss"] = ISS.into();
        claims["aud"] = AUD.into();
        claims["exp"] = (now + 86_400).into();
        mint(
            key,
            claims.as_object().unwrap(),
            &MintOptions {
                typ: Some("at+jwt"),
                ..MintOptions::default()
            },
        )
    };
    let verify = |t: &str| {
        compiled
            .verifier
            .verify(t, UnixTime(now))
            .map(|_| ())
            .map_err(|e| e.code())
    };
    assert_eq!(verify(&token(json!({ "iat": now - 3600 }))), Ok(()));
    assert_eq!(
        verify(&token(json!({ "iat": now - 3631 }))),
        Err("token_too_old")
    );
    assert_eq!(verify(&token(json!({}))), Err("claim_missing"));
    // The issuer's own, shorter maximum age stays.
    let mut shorter = config.clone();
    shorter["issuers"][0]["max_age_seconds"] = 60.into();
    let compiled = GateConfig::from_value(&shorter, &secrets()).unwrap();
    assert_eq!(
        compiled.revocation.as_ref().unwrap().issuers[0].keep_seconds,
        91
    );
}

#[test]
fn several_mistakes_are_reported_together() {
    let mut config = with("/issuers/0/audiences", Some(json!([])));
    config["assertion"]["ttl_seconds"] = json!(10_000);
    config["routes"][0]["path"] = json!("nope");
    check(
        "three mistakes",
        &config,
        &[
            ("issuers[0].audiences", "empty"),
            ("assertion.ttl_seconds", "between"),
            ("routes[0].path", "start with"),
        ],
    );
}

#[test]
fn compiled_config_behaves() {
    let config = GateConfig::from_value(&base(), &secrets()).unwrap();
    // Routes: first match wins; no match = token required.
    let auth = |method: &str, path: &str| {
        let matched = config.routes.route(method, "api.example", path);
        (matched.route.index, matched.route.auth)
    };
    assert_eq!(auth("GET", "/public/x/y"), (Some(0), Auth::None));
    // `/public/*` also names `/public` itself (one handler serves both in common frameworks).
    assert_eq!(auth("GET", "/public"), (Some(0), Auth::None));
    assert_eq!(auth("GET", "/publicity"), (Some(2), Auth::Required));
    assert_eq!(auth("HEAD", "/health"), (Some(1), Auth::None));
    assert_eq!(auth("POST", "/health"), (Some(2), Auth::Required));
    assert_eq!(auth("GET", "no-slash"), (None, Auth::Required));
    // Issuers: the ES256 one (typ at+jwt) and the HMAC one from a secret.
    let es = raw_token(
        &json!({"alg": "ES256", "kid": key(Algorithm::Es256).kid(), "typ": "at+jwt"}).to_string(),
        &json!({"iss": ISS, "aud": AUD, "exp": NOW + 60}).to_string(),
        key(Algorithm::Es256),
    );
    config.verifier.verify(&es, UnixTime(NOW)).unwrap();
    let hs = SigningKey::from_json(
        json!({"kty": "oct", "k": b64(b"a-shared-secret-that-is-at-least-32-bytes")})
            .to_string()
            .as_bytes(),
        Some(Algorithm::Hs256),
    )
    .unwrap();
    let hs_claims = json!({"iss": "https://hs.example/", "aud": AUD, "exp": NOW + 60});
    let hs_token = edge_auth_core::mint(&hs, hs_claims.as_object().unwrap(), &Default::default());
    config.verifier.verify(&hs_token, UnixTime(NOW)).unwrap();
    // Assertion: header lower-cased, defaults, JWKS with the current then the previous public key.
    assert_eq!(config.assertion.header, "edge-auth-assertion");
    assert_eq!(config.assertion.settings.ttl_seconds, 60);
    let jwks: Value = serde_json::from_str(&config.assertion.jwks_json).unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"].as_str(), config.assertion.signing_key.kid());
    assert!(
        keys.iter().all(|k| k.get("d").is_none()),
        "public keys only"
    );
    assert_eq!(config.realm, "edge-auth");
    // Debug output of the compiled config holds no secret.
    let debug = format!("{config:?}");
    assert!(!debug.contains(&b64(b"a-shared-secret-that-is-at-least-32-bytes")));
    assert!(!debug.contains("a-shared-secret"));
    let private = Value::Object(config.assertion.signing_key.to_private_jwk());
    assert!(!debug.contains(private["d"].as_str().unwrap()));
}

/// Finding: an HS256 key in `previous_signing_key_secret` was published (its `k`) beside an asymmetric
/// current key. Whatever the slots hold, a configuration that compiles never publishes `k` or `d`.
#[test]
fn the_assertion_jwks_never_carries_secret_members() {
    let slots = [
        "EDGE_AUTH_SIGNING_KEY",
        "EDGE_AUTH_PREVIOUS_KEY",
        "ES256_KEY",
        "HS256_KEY",
        "HS256_OTHER",
    ];
    let mut compiled = 0;
    let mut published = 0;
    for current in slots {
        for previous in slots.iter().map(Some).chain([None]) {
            let mut config = base();
            config["assertion"]["signing_key_secret"] = json!(current);
            match previous {
                Some(previous) => {
                    config["assertion"]["previous_signing_key_secret"] = json!(previous)
                }
                None => {
                    config["assertion"]
                        .as_object_mut()
                        .unwrap()
                        .remove("previous_signing_key_secret");
                }
            }
            let Ok(config) = GateConfig::from_value(&config, &secrets()) else {
                continue;
            };
            compiled += 1;
            let jwks: Value = serde_json::from_str(&config.assertion.jwks_json).unwrap();
            for key in jwks["keys"].as_array().unwrap() {
                published += 1;
                for member in ["k", "d", "p", "q", "dp", "dq", "qi"] {
                    assert!(
                        key.get(member).is_none(),
                        "{current} + {previous:?}: {member} in {key}"
                    );
                }
                assert_ne!(key["kty"], "oct", "{current} + {previous:?}");
            }
            // Two HS256 slots (keys without a `kid` of their own) compile and publish nothing at all.
            if current.starts_with("HS256") {
                assert_eq!(jwks["keys"].as_array().unwrap().len(), 0);
            }
        }
    }
    // 3 asymmetric currents × (2 other asymmetric previous + none) + 2 HS256 currents × (1 other + none).
    assert_eq!((compiled, published), (9 + 4, 3 * (2 * 2 + 1)));
}

#[test]
fn path_rules_compile() {
    let mut config = base();
    config["paths"] = json!({"allow_matrix_parameters": true, "case_insensitive": true});
    let compiled = GateConfig::from_value(&config, &secrets()).unwrap();
    assert!(compiled.routes.paths.allow_matrix_parameters);
    assert!(compiled.routes.paths.case_insensitive);
    let defaults = GateConfig::from_value(&base(), &secrets()).unwrap();
    assert_eq!(defaults.routes.paths, edge_auth_core::PathRules::default());
}

/// Finding: shared key-cache entries were bound to the issuer only. Their key names the issuer, the
/// source URL and the issuer's whole configuration.
#[test]
fn shared_cache_keys_name_the_source_and_the_issuer_config() {
    let key_of = |config: &Value| {
        let compiled = GateConfig::from_value(config, &secrets()).unwrap();
        compiled.remote_sources[0]
            .as_ref()
            .unwrap()
            .shared_cache_key
            .clone()
    };
    let base = with_remote("jwks_uri", json!("https://idp.example/jwks"));
    let key = key_of(&base);
    assert!(
        key.starts_with("https://edge-auth-keys.invalid/v2/"),
        "{key}"
    );
    assert_eq!(key, key_of(&base), "stable");
    let mut other_url = base.clone();
    other_url["issuers"][0]["jwks_uri"] = json!("https://idp.example/other-jwks");
    let mut other_algorithms = base.clone();
    other_algorithms["issuers"][0]["algorithms"] = json!(["ES256", "RS256"]);
    let mut other_audience = base.clone();
    other_audience["issuers"][0]["audiences"] = json!(["https://other.example"]);
    for (name, config) in [
        ("url", other_url),
        ("algorithms", other_algorithms),
        ("audience", other_audience),
    ] {
        assert_ne!(key_of(&config), key, "{name}");
    }
}

/// The verifier part of `value` (what the JS package's `createVerifier` takes).
fn verifier_part(value: &Value) -> Value {
    let mut part = value.clone();
    let object = part.as_object_mut().unwrap();
    for gate_only in ["assertion", "routes"] {
        object.remove(gate_only);
    }
    part
}

fn errors_of(result: Result<(), ConfigErrors>) -> Vec<(String, String)> {
    match result {
        Ok(()) => Vec::new(),
        Err(errors) => errors.0.into_iter().map(|e| (e.path, e.message)).collect(),
    }
}

#[test]
fn the_verifier_part_compiles_with_the_same_paths_and_errors() {
    // Every mistake the verifier part can hold, compiled both ways: the same errors, in the same order.
    #[rustfmt::skip]
    let cases: Vec<(&str, Value)> = vec![
        ("base", base()),
        ("issuers empty", with("/issuers", Some(json!([])))),
        ("audiences empty", with("/issuers/0/audiences", Some(json!([])))),
        ("algorithm unknown", with("/issuers/0/algorithms", Some(json!(["ES256", "none"])))),
        ("algorithms mix HS and ES", with("/issuers/1/algorithms", Some(json!(["HS256", "ES256"])))),
        ("neither jwks nor hmac_secret", with("/issuers/0/jwks", None)),
        ("jwks_uri over http", with_remote("jwks_uri", json!("http://idp.example/jwks"))),
        ("jwks_uri on loopback http, allowed", allow_loopback(with_remote("jwks_uri", json!("http://127.0.0.1:9000/jwks")))),
        ("remote keys for HS256", with_remote_hs()),
        ("remote timeout too long", with("/remote_keys", Some(json!({"timeout_ms": 60_000})))),
        ("hmac secret missing", with("/issuers/1/hmac_secret", Some(json!("NOPE")))),
        ("same issuer twice", with("/issuers/1/issuer", Some(json!(ISS)))),
        ("leeway above the maximum", with("/leeway_seconds", Some(json!(100_000)))),
        ("scope_claims malformed", with("/issuers/0/scope_claims", Some(json!(["scope", "a["])))),
        ("cache ttl too long", with("/cache", Some(json!({"max_ttl_seconds": 86_400})))),
        ("token limit too small", with("/max_token_bytes", Some(json!(10)))),
        ("unknown issuer field", with("/issuers/0/jwks_url", Some(json!("https://x")))),
    ];
    let secrets = secrets();
    for (name, config) in &cases {
        let gate = errors_of(GateConfig::from_value(config, &secrets).map(|_| ()));
        let part = verifier_part(config);
        let verifier = errors_of(VerifierConfig::from_value(&part, &secrets).map(|_| ()));
        assert_eq!(verifier, gate, "case `{name}`");
        // As a JSON string too (a parse error then also names the line and column).
        let text = Value::String(part.to_string());
        let from_text = errors_of(VerifierConfig::from_value(&text, &secrets).map(|_| ()));
        assert_eq!(from_text.len(), gate.len(), "case `{name}` as text");
        for ((path, message), (want_path, want)) in from_text.iter().zip(&gate) {
            assert_eq!(path, want_path, "case `{name}` as text");
            assert!(
                message.starts_with(want.as_str()),
                "case `{name}` as text: {message}"
            );
        }
    }
}

#[test]
fn the_verifier_part_refuses_gate_fields_and_verifies() {
    let secrets = secrets();
    // A verifier enforces no route and signs no assertion: those members are mistakes here, each named.
    let errors = errors_of(VerifierConfig::from_value(&base(), &secrets).map(|_| ()));
    assert_eq!(errors.len(), 2, "{errors:?}");
    for ((path, message), member) in errors.iter().zip(["assertion", "routes"]) {
        assert_eq!(path, member, "{errors:?}");
        assert!(
            message.starts_with(&format!(
                "unknown field `{member}`, expected one of `leeway_seconds`"
            )),
            "{errors:?}"
        );
    }
    let config = VerifierConfig::from_value(&verifier_part(&base()), &secrets).unwrap();
    assert_eq!(config.cache.max_entries, 1024);
    assert_eq!(config.cache.max_bytes, 16 << 20);
    assert_eq!(config.remote_sources, [None, None]);
    let remote = VerifierConfig::from_value(
        &verifier_part(&with_remote("jwks_uri", json!("https://idp.example/jwks"))),
        &secrets,
    )
    .unwrap();
    assert_eq!(
        remote.remote_sources[0].as_ref().map(|r| r.source.url()),
        Some("https://idp.example/jwks")
    );
    // The HS256 issuer verifies a token signed with its secret, with the configured leeway (30 s).
    let key = SigningKey::from_json(
        json!({"kty": "oct", "k": b64(b"a-shared-secret-that-is-at-least-32-bytes")})
            .to_string()
            .as_bytes(),
        Some(Algorithm::Hs256),
    )
    .unwrap();
    let claims = json!({"iss": "https://hs.example/", "aud": AUD, "exp": 1_000});
    let token = edge_auth_core::mint(
        &key,
        claims.as_object().unwrap(),
        &edge_auth_core::MintOptions::default(),
    );
    assert!(config.verifier.verify(&token, UnixTime(1_029)).is_ok());
    assert_eq!(
        config
            .verifier
            .verify(&token, UnixTime(1_030))
            .unwrap_err()
            .code(),
        "token_expired"
    );
}

/// The shared key-cache entry's name hashes the issuer's configuration as JSON text: the same
/// configuration must keep naming the same entry across releases (a change would orphan every cached
/// set). Pinned for an issuer with every member set, and for one with only the required ones.
#[test]
fn shared_cache_keys_are_pinned() {
    let key_of = |issuer: Value| {
        let mut config = base();
        config["issuers"][0] = issuer;
        let compiled = GateConfig::from_value(&config, &secrets()).unwrap();
        compiled.remote_sources[0]
            .as_ref()
            .unwrap()
            .shared_cache_key
            .clone()
    };
    let full = json!({
        "issuer": "https://idp.example/", "audiences": ["api", "a\"b\\c\u{e9}\u{1}"],
        "algorithms": ["ES256", "RS256"], "jwks_uri": "https://idp.example/jwks?x=\"1\"",
        "typ": "at+jwt", "leeway_seconds": 5, "max_age_seconds": 3600, "require_sub": true,
        "required_claims": ["tenant", "scope"], "scope_claims": ["scp", "scope"], "role_claims": ["roles"]
    });
    let minimal = json!({
        "issuer": "https://idp.example/", "audiences": ["api"], "algorithms": ["ES256"], "discovery": true
    });
    assert_eq!(
        (key_of(full), key_of(minimal)),
        (
            "https://edge-auth-keys.invalid/v2/91a0979cc69ebe4504f9aca7ceb62236b8d1448b987e0f5aac01c94baf9bb531".to_owned(),
            "https://edge-auth-keys.invalid/v2/855101d1ba4d0a57b2268c7e936d99ab257552451d59b36a272dde6916d51fc7".to_owned()
        )
    );
}
