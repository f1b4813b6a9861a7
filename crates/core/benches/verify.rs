//! Full verification per algorithm (parse + key selection + signature + claims), natively.
//! `bash scripts/bench.sh` runs this and prints each case as a ratio to HS256 from the same run.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use edge_auth_core::{
    mint, normalize_path, Algorithm, Caller, GateConfig, IssuerPolicy, KeySet, Limits, MintOptions,
    PayloadKind, SigningKey, TokenCache, UnixTime, UntrustedToken, Verifier,
};
use serde_json::json;

const ISS: &str = "https://idp.example.com/";
const AUD: &str = "https://api.example.com";
const NOW: u64 = 1_700_000_000;

/// A realistic access token: RFC 9068 claims plus scopes and roles (~400 bytes of claims).
fn claims() -> serde_json::Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": "248289761001", "client_id": "s6BhdRkqt3",
        "iat": NOW - 30, "nbf": NOW - 30, "exp": NOW + 3600, "jti": "dbe39bf3a3ba4238a513f51d6e1691c4",
        "scope": "openid profile email orders:read orders:write",
        "roles": ["customer", "beta"], "tenant_id": "acme", "email": "alice@example.com"
    })
}

fn setup(alg: Algorithm) -> (Verifier, String) {
    let key = SigningKey::generate(alg, None, &mut rand_core::OsRng).unwrap();
    // Three keys in the set, as an IdP JWKS usually has during rotation.
    let extra: Vec<_> = (0..2)
        .map(|_| SigningKey::generate(alg, None, &mut rand_core::OsRng).unwrap())
        .collect();
    let mut keys = vec![serde_json::Value::Object(key.public_key().to_jwk())];
    keys.extend(
        extra
            .iter()
            .map(|k| serde_json::Value::Object(k.public_key().to_jwk())),
    );
    let jwks = json!({ "keys": keys }).to_string();
    let policy =
        IssuerPolicy::builder(ISS, [alg], KeySet::from_jwks_json(jwks.as_bytes()).unwrap())
            .audiences([AUD])
            .build()
            .unwrap();
    let verifier = Verifier::new(vec![policy], Limits::default()).unwrap();
    let token = mint(
        &key,
        claims().as_object().unwrap(),
        &MintOptions {
            kid: None,
            typ: Some("at+jwt"),
        },
    );
    verifier.verify(&token, UnixTime(NOW)).unwrap();
    (verifier, token)
}

fn full_verification(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    for alg in Algorithm::ALL {
        let (verifier, token) = setup(alg);
        group.bench_function(alg.name(), |b| {
            b.iter(|| verifier.verify(black_box(&token), UnixTime(NOW)).unwrap())
        });
    }
    group.finish();
}

fn parse_only(c: &mut Criterion) {
    let (_, token) = setup(Algorithm::Hs256);
    let limits = Limits::default();
    let mut group = c.benchmark_group("parse");
    group.bench_function("HS256-token", |b| {
        b.iter(|| {
            UntrustedToken::parse(black_box(&token), &limits, PayloadKind::JwtClaims).unwrap()
        })
    });
    group.finish();
}

/// A realistic rule set of 50 routes: public prefixes, per-method scope rules, role rules, tenant
/// bindings, host rules, claim conditions and nested any/all, most of them for other paths.
fn fifty_routes() -> serde_json::Value {
    let mut routes = vec![
        json!({"path": "/public/*", "auth": "none"}),
        json!({"path": "/health", "methods": ["GET", "HEAD"], "auth": "none"}),
        json!({"path": "/session/*", "auth": "optional"}),
    ];
    for i in 0..9 {
        routes.push(json!({"path": format!("/svc{i}/items/*"), "methods": ["GET"], "scopes": [format!("svc{i}:read")]}));
        routes.push(
            json!({"path": format!("/svc{i}/items/*"), "methods": ["POST", "PUT", "DELETE"],
                           "scopes": {"all": [format!("svc{i}:read"), format!("svc{i}:write")]}}),
        );
        routes.push(json!({"path": format!("/svc{i}/admin/*"), "roles": {"any": ["admin", format!("svc{i}-admin")]}}));
        routes.push(
            json!({"path": format!("/svc{i}/tenants/{{tenant}}/*"), "bind": {"tenant": "tenant_id"},
                           "claims": [{"claim": "email_verified", "exists": true}]}),
        );
        routes.push(json!({"path": format!("/svc{i}/reports/*"), "host": format!("reports{i}.example.com"),
                           "any": [{"roles": ["auditor"]}, {"all": [{"scopes": ["reports:read"]},
                                   {"claims": [{"claim": "realm_access.roles", "contains": "analyst"}]}]}]}));
    }
    // Route 48 (0-based): the one the benchmark's request matches, near the end of the table.
    routes.push(json!({"path": "/orders/{tenant}/items/*", "methods": ["GET"], "bind": {"tenant": "tenant_id"},
                       "scopes": ["orders:read"], "any": [{"roles": ["customer"]}, {"roles": ["admin"]}],
                       "claims": [{"claim": "[\"email\"]", "prefix": "alice@"}]}));
    routes.push(json!({"path": "/orders/*", "scopes": ["orders:admin"]}));
    assert_eq!(routes.len(), 50);
    serde_json::Value::Array(routes)
}

fn policy(c: &mut Criterion) {
    let key = SigningKey::generate(Algorithm::Es256, None, &mut rand_core::OsRng).unwrap();
    let edge = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng).unwrap();
    let config = json!({
        "issuers": [{"issuer": ISS, "audiences": [AUD], "algorithms": ["ES256"],
                     "jwks": {"keys": [serde_json::Value::Object(key.public_key().to_jwk())]}}],
        "assertion": {"issuer": "https://edge.example", "audience": "https://origin.example",
                      "signing_key_secret": "S"},
        "routes": fifty_routes(),
    });
    let secrets = std::collections::HashMap::from([(
        "S".to_owned(),
        serde_json::Value::Object(edge.to_private_jwk()).to_string(),
    )]);
    let config = GateConfig::from_value(&config, &secrets).unwrap();
    let token = mint(&key, claims().as_object().unwrap(), &MintOptions::default());
    let verified = config.verifier.verify(&token, UnixTime(NOW)).unwrap();
    let caller = Caller {
        scopes: verified.scopes(),
        roles: verified.roles(),
        claims: verified.claims(),
    };
    let iss = verified.registered().iss.as_deref();
    // Path normalization, the first-match scan of 50 rules, then the matched rule's requirement.
    let decide = |method: &str, host: &str, raw_path: &str| {
        let path = normalize_path(raw_path).unwrap();
        let matched = config.routes.route(method, host, &path);
        matched
            .route
            .authorize(iss, &caller, &matched.params)
            .is_ok()
    };
    assert!(decide("GET", "api.example.com", "/orders/acme/items/42"));
    assert_eq!(
        config
            .routes
            .route("GET", "api.example.com", "/orders/acme/items/42")
            .route
            .index,
        Some(48)
    );
    assert!(decide("GET", "api.example.com", "/nothing/matches/this"));
    let mut group = c.benchmark_group("policy");
    group.bench_function("50-routes-match-49th", |b| {
        b.iter(|| {
            decide(
                black_box("GET"),
                "api.example.com",
                black_box("/orders/acme/items/42"),
            )
        })
    });
    group.bench_function("50-routes-default", |b| {
        b.iter(|| {
            decide(
                black_box("GET"),
                "api.example.com",
                black_box("/nothing/matches/this"),
            )
        })
    });
    group.finish();
}

/// The verified-token cache's insertion: an ordinary one, and the one that flips full generations of
/// 10 000 entries each (the realistic claims above). The flip used to free the whole old generation in
/// that one insertion; `scripts/bench.sh` prints the ratio of the two.
fn cache(c: &mut Criterion) {
    const CAPACITY: usize = 10_000;
    let (verifier, token) = setup(Algorithm::Hs256);
    let verified = verifier.verify(&token, UnixTime(NOW)).unwrap();
    // Distinct keys of a token's length (the cache compares whole strings, hashes the tail).
    let key = |i: usize| format!("{token}{i:08}");
    // A cache whose young generation is `young` entries short of full, the old one full.
    let filled = |young: usize| {
        let mut cache = TokenCache::new(CAPACITY, 3600, [7; 16]);
        for i in 0..2 * CAPACITY - young {
            cache.insert(
                &key(i),
                verified.clone(),
                UnixTime(NOW),
                cache.generation(),
                None,
            );
        }
        cache
    };
    let new_key = key(3 * CAPACITY);
    let mut group = c.benchmark_group("cache");
    group.sample_size(20);
    for (name, short) in [("insert", 100), ("insert-flipping-10000", 0)] {
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || (filled(short), verified.clone()),
                |(cache, verified)| {
                    cache.insert(
                        &new_key,
                        verified.clone(),
                        UnixTime(NOW),
                        cache.generation(),
                        None,
                    )
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, full_verification, parse_only, policy, cache);
criterion_main!(benches);
