//! The verified-token cache's byte bound rests on `VerifiedToken::held_bytes`, an estimate: here it is
//! checked against the bytes actually allocated (dhat counts every allocation of this test binary),
//! one cached token at a time, on ordinary tokens and on shapes chosen to make parsed claims expensive
//! per byte of token. It must never under-count (the bound would not hold) and should not over-count
//! by much (the cache would keep fewer tokens than it could).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_precision_loss,
    reason = "tests: a panic is a test failure; ratios printed as floats"
)]

mod common;

use common::*;
use edge_auth_core::{Algorithm, TokenCache, UnixTime, Verifier};
use serde_json::{json, Map, Value};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn claims(extra: &[(&str, Value)]) -> Value {
    let mut claims = json!({"iss": ISS, "aud": AUD, "sub": "248289761001", "exp": NOW + 3600});
    for (name, value) in extra {
        claims[*name] = value.clone();
    }
    claims
}

/// Bytes allocated and still held after verifying `token` and caching it (its `ath` computed, as the
/// Worker does for an assertion), and the bytes the cache counted for it.
fn measure(verifier: &Verifier, cache: &mut TokenCache, token: &str) -> (usize, usize) {
    let counted_before = cache.held_bytes();
    let before = dhat::HeapStats::get().curr_bytes;
    let verified = verifier.verify(token, UnixTime(NOW)).unwrap();
    let cached = cache.insert(token, verified, UnixTime(NOW), cache.generation(), None);
    drop(cached.ath(token));
    drop(cached);
    let after = dhat::HeapStats::get().curr_bytes;
    (after - before, cache.held_bytes() - counted_before)
}

#[test]
fn a_cached_token_holds_no_more_than_the_cache_counts() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let key = key(Algorithm::Hs256);
    // The default mapping: scopes from `scope` and `scp`, roles from `roles`.
    let verifier = verifier_for(&[key], &[Algorithm::Hs256]);
    let words = |n: usize, f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>();
    #[rustfmt::skip]
    let cases: Vec<(&str, Value)> = vec![
        ("minimal", claims(&[])),
        ("RFC 9068 access token", claims(&[("client_id", json!("s6BhdRkqt3")), ("iat", json!(NOW)),
            ("jti", json!("dbe39bf3a3ba4238a513f51d6e1691c4")), ("scope", json!("openid profile email orders:read")),
            ("roles", json!(["customer", "beta"])), ("tenant_id", json!("acme")), ("email", json!("alice@example.com"))])),
        ("150 group ids", claims(&[("groups", json!(words(150, &|i| format!("{i:08x}-aaaa-bbbb-cccc-{i:012x}"))))])),
        ("600 scopes", claims(&[("scope", json!(words(600, &|i| format!("s{i}")).join(" ")))])),
        ("700 roles", claims(&[("roles", json!(words(700, &|i| format!("r{i}"))))])),
        ("1200 integers", claims(&[("n", json!((0..1200).collect::<Vec<_>>()))])),
        ("1025 integers (a vector's capacity twice its length)", claims(&[("n", json!(vec![0; 1025]))])),
        ("1500 empty arrays", claims(&[("a", json!(vec![json!([]); 1500]))])),
        ("1200 one-element arrays", claims(&[("a", json!(vec![json!([0]); 1200]))])),
        ("700 one-member objects", claims(&[("a", json!(vec![json!({"k": 0}); 700]))])),
        ("1000 empty strings", claims(&[("a", json!(vec![""; 1000]))])),
        ("400 members", claims(&[("o", Value::Object((0..400).map(|i| (format!("k{i}"), json!(i))).collect::<Map<_, _>>()))])),
        ("nested 60 deep (120 levels of 128)", claims(&[("deep", (0..60).fold(json!(0), |inner, _| json!({"a": [inner]})))])),
    ];
    let mut cache = TokenCache::new(1000, 3600, [7; 16]);
    // The table's first allocations, not any entry's.
    measure(
        &verifier,
        &mut cache,
        &token(key, &claims(&[("warm", json!(1))])),
    );
    let mut worst = 0.0f64;
    for (name, claims) in &cases {
        let token = token(key, claims);
        assert!(
            token.len() <= 8192,
            "{name}: {} bytes, over the default token limit",
            token.len()
        );
        let (held, counted) = measure(&verifier, &mut cache, &token);
        assert!(
            held > 0 && counted > 0,
            "{name}: not cached ({held} held, {counted} counted)"
        );
        let ratio = counted as f64 / held as f64;
        println!(
            "{name:55} token {:5} B, held {held:6} B, counted {counted:6} B ({ratio:.2}×)",
            token.len()
        );
        assert!(
            counted >= held,
            "{name}: the cache counted {counted} bytes, the token holds {held}"
        );
        worst = worst.max(ratio);
    }
    assert!(
        worst <= 2.0,
        "an estimate {worst:.2}× what is held: the cache would keep too few tokens"
    );
}
