//! Full verification per algorithm (parse + key selection + signature + claims), natively.
//! `bash scripts/bench.sh` runs this and prints each case as a ratio to HS256 from the same run.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use edge_auth_core::{
    mint, Algorithm, IssuerPolicy, KeySet, Limits, MintOptions, PayloadKind, SigningKey, UnixTime,
    UntrustedToken, Verifier,
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

criterion_group!(benches, full_verification, parse_only);
criterion_main!(benches);
