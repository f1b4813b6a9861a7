//! Shared fixtures for the core's integration tests: generated keys (once per process) and a raw token
//! builder that can write any header, including the malformed ones attacks need.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the fixtures"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test fixtures: a failure is a test failure"
)]

use std::sync::OnceLock;

use base64ct::{Base64UrlUnpadded, Encoding};
use edge_auth_core::{
    Algorithm, IssuerPolicy, IssuerPolicyBuilder, KeySet, Limits, SigningKey, Verifier,
};
use serde_json::{json, Value};

pub const ISS: &str = "https://idp.example.com/";
pub const AUD: &str = "https://api.example.com";
pub const NOW: u64 = 1_700_000_000;

pub fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// One generated key per algorithm, with kid = `k-<ALG>`.
pub fn key(alg: Algorithm) -> &'static SigningKey {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        Algorithm::ALL
            .iter()
            .map(|&a| {
                SigningKey::generate(a, Some(format!("k-{}", a.name())), &mut rand_core::OsRng)
                    .unwrap()
            })
            .collect()
    });
    let index = Algorithm::ALL.iter().position(|&a| a == alg).unwrap();
    &keys[index]
}

/// A second, unrelated key of the same algorithm (same kid), for "signed by someone else".
pub fn other_key(alg: Algorithm) -> SigningKey {
    SigningKey::generate(
        alg,
        Some(format!("k-{}", alg.name())),
        &mut rand_core::OsRng,
    )
    .unwrap()
}

pub fn jwks_of(keys: &[&SigningKey]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| Value::Object(k.public_key().to_jwk()))
        .collect();
    json!({ "keys": keys }).to_string()
}

/// A verifier for one issuer (`ISS`, audience `AUD`) whose keys are `keys`, allowing `algs`, with
/// `configure` applied to the policy builder.
pub fn verifier_with(
    keys: &[&SigningKey],
    algs: &[Algorithm],
    configure: impl FnOnce(IssuerPolicyBuilder) -> IssuerPolicyBuilder,
) -> Verifier {
    let set = KeySet::from_jwks_json(jwks_of(keys).as_bytes()).unwrap();
    let builder = IssuerPolicy::builder(ISS, algs.iter().copied(), set).audiences([AUD]);
    let policy = configure(builder).build().unwrap();
    Verifier::new(vec![policy], Limits::default()).unwrap()
}

/// A verifier for one issuer whose keys are `keys`, allowing `algs`.
pub fn verifier_for(keys: &[&SigningKey], algs: &[Algorithm]) -> Verifier {
    verifier_with(keys, algs, |b| b)
}

pub fn good_claims() -> Value {
    json!({ "iss": ISS, "aud": AUD, "sub": "user-1", "iat": NOW - 10, "exp": NOW + 300 })
}

/// Builds a token from literal header and payload JSON text (so duplicates and odd types survive) and
/// signs it with `key`.
pub fn raw_token(header_json: &str, payload_json: &str, key: &SigningKey) -> String {
    let signing_input = format!(
        "{}.{}",
        b64(header_json.as_bytes()),
        b64(payload_json.as_bytes())
    );
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&signature))
}

/// A token with a normal header `{"alg","kid","typ":"JWT"}` over `claims`, signed with `key`.
pub fn token(key: &SigningKey, claims: &Value) -> String {
    let header = json!({"alg": key.algorithm().name(), "kid": key.kid(), "typ": "JWT"});
    raw_token(&header.to_string(), &claims.to_string(), key)
}
