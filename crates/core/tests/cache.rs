//! The verified-token cache: bounded, expiring, and re-checked on every hit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests: a panic is a test failure"
)]

mod common;

use std::sync::Arc;

use common::*;
use edge_auth_core::{Algorithm, TokenCache, UnixTime, Verifier};
use serde_json::json;

/// Any fixed seed: these tests are about entries, not hashing.
const SEED: [u8; 16] = [7; 16];

fn hs256() -> Verifier {
    verifier_for(&[key(Algorithm::Hs256)], &[Algorithm::Hs256])
}

fn token_with(jti: usize, exp: u64) -> String {
    token(
        key(Algorithm::Hs256),
        &json!({"iss": ISS, "aud": AUD, "exp": exp, "jti": jti.to_string()}),
    )
}

#[test]
fn hit_miss_and_expiry() {
    let verifier = hs256();
    let mut cache = TokenCache::new(8, 120, SEED);
    let t = token_with(1, NOW + 300);
    assert!(cache.get(&t, UnixTime(NOW)).is_none());
    let inserted = cache.insert(
        &t,
        verifier.verify(&t, UnixTime(NOW)).unwrap(),
        UnixTime(NOW),
        cache.generation(),
        None,
    );
    let hit = cache.get(&t, UnixTime(NOW + 1)).unwrap();
    assert!(
        Arc::ptr_eq(&inserted, &hit),
        "a hit returns the cached verification"
    );
    // Any other string misses, even one that decodes to the same bytes in a lax decoder.
    assert!(cache.get(&format!("{t}="), UnixTime(NOW)).is_none());
    // max_ttl (120 s) comes before exp (300 s).
    assert!(cache.get(&t, UnixTime(NOW + 119)).is_some());
    assert!(cache.get(&t, UnixTime(NOW + 120)).is_none());
    assert!(cache.is_empty(), "an expired entry is dropped on lookup");
    // exp comes before max_ttl.
    let short = token_with(2, NOW + 30);
    cache.insert(
        &short,
        verifier.verify(&short, UnixTime(NOW)).unwrap(),
        UnixTime(NOW),
        cache.generation(),
        None,
    );
    assert!(cache.get(&short, UnixTime(NOW + 29)).is_some());
    assert!(cache.get(&short, UnixTime(NOW + 30)).is_none());
    // A token already past exp (accepted within leeway) is not cached at all.
    let late = token_with(3, NOW - 10);
    cache.insert(
        &late,
        verifier.verify(&late, UnixTime(NOW)).unwrap(),
        UnixTime(NOW),
        cache.generation(),
        None,
    );
    assert!(cache.get(&late, UnixTime(NOW)).is_none());
}

#[test]
fn bounded_with_recently_used_entries_kept() {
    let verifier = hs256();
    let capacity = 16;
    let mut cache = TokenCache::new(capacity, 3600, SEED);
    let hot = token_with(0, NOW + 300);
    cache.insert(
        &hot,
        verifier.verify(&hot, UnixTime(NOW)).unwrap(),
        UnixTime(NOW),
        cache.generation(),
        None,
    );
    for i in 1..=10 * capacity {
        let t = token_with(i, NOW + 300);
        cache.insert(
            &t,
            verifier.verify(&t, UnixTime(NOW)).unwrap(),
            UnixTime(NOW),
            cache.generation(),
            None,
        );
        assert!(
            cache.len() <= 2 * capacity,
            "bounded at {} after {i}",
            cache.len()
        );
        // The hot token is used between insertions and survives every generation flip.
        assert!(
            cache.get(&hot, UnixTime(NOW)).is_some(),
            "hot token evicted after {i}"
        );
    }
    let cold = token_with(1, NOW + 300);
    assert!(
        cache.get(&cold, UnixTime(NOW)).is_none(),
        "an old, unused entry is evicted"
    );
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn recheck_applies_time_rules_to_a_cached_token() {
    let key = key(Algorithm::Es256);
    let verifier = verifier_with(&[key], &[Algorithm::Es256], |b| b.max_age(100));
    let t = token(
        key,
        &json!({"iss": ISS, "aud": AUD, "iat": NOW, "nbf": NOW + 30, "exp": NOW + 3600}),
    );
    let mut cache = TokenCache::new(8, 3600, SEED);
    // nbf is 30 s ahead: valid within the 60 s leeway.
    cache.insert(
        &t,
        verifier.verify(&t, UnixTime(NOW)).unwrap(),
        UnixTime(NOW),
        cache.generation(),
        None,
    );
    let check = |at: u64, cache: &mut TokenCache| {
        let cached = cache.get(&t, UnixTime(at)).expect("still cached");
        verifier
            .recheck(&cached, UnixTime(at))
            .map_err(|e| e.code())
    };
    assert_eq!(check(NOW + 100, &mut cache), Ok(()));
    // Still in the cache, but older than the maximum age (100 s + 60 s leeway).
    assert_eq!(check(NOW + 161, &mut cache), Err("token_too_old"));
    // Re-checked before nbf − leeway too (a cached entry cannot predate its own insertion, but the
    // rule is the issuer's, not the cache's).
    assert_eq!(
        verifier
            .recheck(&cache.get(&t, UnixTime(NOW)).unwrap(), UnixTime(NOW - 31))
            .map_err(|e| e.code()),
        Err("token_not_yet_valid")
    );
}

#[test]
fn a_verification_that_started_before_a_clear_is_not_inserted() {
    // A token verified under a key set that a concurrent refetch replaced (and the caller cleared the
    // cache for) must not be served from the cache afterwards.
    let verifier = hs256();
    let mut cache = TokenCache::new(8, 3600, SEED);
    let t = token_with(1, NOW + 300);
    let before = cache.generation();
    let verified = verifier.verify(&t, UnixTime(NOW)).unwrap();
    cache.clear(); // the keys changed while the verification ran
    let returned = cache.insert(&t, verified, UnixTime(NOW), before, None);
    assert_eq!(
        returned.registered().exp,
        Some(i64::try_from(NOW + 300).unwrap())
    );
    assert!(cache.get(&t, UnixTime(NOW)).is_none(), "not cached");
    assert!(cache.is_empty());
    // A verification that starts after the clear is cached as usual.
    let after = cache.generation();
    assert_ne!(after, before);
    cache.insert(
        &t,
        verifier.verify(&t, UnixTime(NOW)).unwrap(),
        UnixTime(NOW),
        after,
        None,
    );
    assert!(cache.get(&t, UnixTime(NOW)).is_some());
}

#[test]
fn an_entry_never_outlives_the_key_set_that_verified_it() {
    // Remote keys usable for 12 more seconds (freshness + stale_if_error): the cached verification
    // goes with them, even though exp and max_ttl are far away; the token must then verify again
    // against whatever keys exist (or be refused with keys_unavailable).
    let verifier = hs256();
    let mut cache = TokenCache::new(8, 300, SEED);
    let t = token_with(1, NOW + 3600);
    let since = cache.generation();
    cache.insert(
        &t,
        verifier.verify(&t, UnixTime(NOW)).unwrap(),
        UnixTime(NOW),
        since,
        Some(NOW + 12),
    );
    assert!(cache.get(&t, UnixTime(NOW + 11)).is_some());
    assert!(cache.get(&t, UnixTime(NOW + 12)).is_none());
}
