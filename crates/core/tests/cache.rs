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
use edge_auth_core::{Algorithm, TokenCache, UnixTime, Verifier, FREED_PER_PUT};
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

/// How many of `held` the cache has freed: each is held here once, and once by the cache until freed.
fn freed(held: &[Arc<edge_auth_core::VerifiedToken>]) -> usize {
    held.iter().filter(|v| Arc::strong_count(v) == 1).count()
}

/// Inserts `count` new tokens numbered from `from`, checking after each insertion that the cache freed
/// at most `FREED_PER_PUT` more of `watched`; returns what it inserted.
fn insert_watching(
    cache: &mut TokenCache,
    verifier: &Verifier,
    from: usize,
    count: usize,
    watched: &[Arc<edge_auth_core::VerifiedToken>],
) -> Vec<Arc<edge_auth_core::VerifiedToken>> {
    let mut inserted = Vec::new();
    for i in from..from + count {
        let before = freed(watched);
        let t = token_with(i, NOW + 300);
        let verified = verifier.verify(&t, UnixTime(NOW)).unwrap();
        inserted.push(cache.insert(&t, verified, UnixTime(NOW), cache.generation(), None));
        let after = freed(watched);
        assert!(
            after - before <= FREED_PER_PUT,
            "insertion {i} freed {} entries at once",
            after - before
        );
    }
    inserted
}

#[test]
fn a_dropped_generation_is_freed_a_few_entries_per_insertion() {
    let verifier = hs256();
    let capacity = 64;
    let mut cache = TokenCache::new(capacity, 3600, SEED);
    let first = insert_watching(&mut cache, &verifier, 0, capacity, &[]);
    let second = insert_watching(&mut cache, &verifier, capacity, capacity, &first);
    assert_eq!(freed(&first), 0, "the first generation is the old one now");
    assert_eq!(cache.len(), 2 * capacity);
    // The next insertion drops the first generation: unreachable at once, freed over the following
    // insertions, all of it before the next flip.
    let third = insert_watching(&mut cache, &verifier, 2 * capacity, 1, &first);
    let t0 = token_with(0, NOW + 300);
    assert!(cache.get(&t0, UnixTime(NOW)).is_none(), "dropped at once");
    assert!(freed(&first) <= FREED_PER_PUT);
    let rest = insert_watching(
        &mut cache,
        &verifier,
        2 * capacity + 1,
        capacity - 1,
        &first,
    );
    assert_eq!(freed(&first), capacity, "all freed before the next flip");
    assert_eq!(freed(&second), 0, "the old generation is kept");
    // `clear`: everything unreachable at once, then freed as the generations flip, a few per insertion.
    cache.clear();
    assert!(cache.is_empty());
    assert!(cache
        .get(&token_with(capacity, NOW + 300), UnixTime(NOW))
        .is_none());
    let kept: Vec<_> = second.into_iter().chain(third).chain(rest).collect();
    assert_eq!(
        freed(&kept),
        1,
        "the lookup removed the entry it found unreachable"
    );
    let after = insert_watching(&mut cache, &verifier, 3 * capacity, capacity, &kept);
    assert_eq!(
        freed(&kept),
        capacity,
        "the old generation at the clear is freed after one flip"
    );
    insert_watching(
        &mut cache,
        &verifier,
        4 * capacity,
        capacity / FREED_PER_PUT + 1,
        &kept,
    );
    assert_eq!(freed(&kept), 2 * capacity, "the young one after two");
    assert_eq!(cache.len(), capacity + capacity / FREED_PER_PUT + 1);
    assert_eq!(
        freed(&after),
        0,
        "what was inserted after the clear is kept"
    );
}

#[test]
fn a_clear_makes_every_entry_unreachable_young_and_old() {
    let verifier = hs256();
    let mut cache = TokenCache::new(4, 3600, SEED);
    let tokens: Vec<String> = (0..6).map(|i| token_with(i, NOW + 300)).collect();
    for t in &tokens {
        let verified = verifier.verify(t, UnixTime(NOW)).unwrap();
        cache.insert(t, verified, UnixTime(NOW), cache.generation(), None);
    }
    // Tokens 0-3 are the old generation, 4 and 5 the young one (a lookup would move them).
    assert_eq!(cache.len(), 6);
    cache.clear();
    for (i, t) in tokens.iter().enumerate() {
        assert!(
            cache.get(t, UnixTime(NOW)).is_none(),
            "token {i} after clear"
        );
    }
    assert!(cache.is_empty());
}

/// Small entries fill both generations; then a run of large ones makes the young generation flip by
/// bytes every few insertions. The small ones of the dropped generation must still leave a few at a
/// time: no insertion frees more than a few entries beyond its own entry's worth of bytes.
#[test]
fn a_flip_by_bytes_frees_the_dropped_generation_gradually_too() {
    let verifier = hs256();
    let small = |i: usize| token_with(i, NOW + 300);
    let large = |i: usize| {
        let roles: Vec<String> = (0..150).map(|r| format!("role-{i}-{r}")).collect();
        token(
            key(Algorithm::Hs256),
            &json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "jti": format!("L{i}"), "roles": roles}),
        )
    };
    let counted = |t: &str| {
        verifier
            .verify(t, UnixTime(NOW))
            .unwrap()
            .held_bytes(t.len())
    };
    let (small_bytes, large_bytes) = (counted(&small(0)), counted(&large(0)));
    assert!(
        large_bytes > 8 * small_bytes,
        "{large_bytes} vs {small_bytes}"
    );
    // Room for about 200 small entries per generation, or a few large ones.
    let max_bytes = 2 * 200 * (small_bytes + 600);
    let mut cache = TokenCache::new(100_000, 3600, SEED).with_max_bytes(max_bytes);
    let mut first = Vec::new();
    let mut i = 0;
    // Fill until the first generation is the old one and a second is filling.
    while cache.len() < 300 {
        let t = small(i);
        let verified = verifier.verify(&t, UnixTime(NOW)).unwrap();
        first.push(cache.insert(&t, verified, UnixTime(NOW), cache.generation(), None));
        i += 1;
    }
    let bound = FREED_PER_PUT + 2 * large_bytes / small_bytes + 2;
    let mut most = 0;
    for n in 0..60 {
        let before = freed(&first);
        let t = large(n);
        let verified = verifier.verify(&t, UnixTime(NOW)).unwrap();
        cache.insert(&t, verified, UnixTime(NOW), cache.generation(), None);
        let at_once = freed(&first) - before;
        most = most.max(at_once);
        assert!(
            at_once <= bound,
            "large insertion {n} freed {at_once} small entries at once (bound {bound})"
        );
        assert!(cache.held_bytes() <= max_bytes);
    }
    assert_eq!(
        freed(&first),
        first.len(),
        "all small entries freed in the end"
    );
    assert!(
        most > FREED_PER_PUT,
        "the large insertions freed more than the minimum: {most}"
    );
}

#[test]
fn the_bytes_held_are_bounded_as_well_as_the_entries() {
    let verifier = hs256();
    let max_bytes = 1 << 20;
    let mut cache = TokenCache::new(100_000, 3600, SEED).with_max_bytes(max_bytes);
    // Tokens of 300 role names each: tens of KiB counted apiece, so the bytes bind long before the
    // entries do.
    let big = |i: usize| {
        let roles: Vec<String> = (0..300).map(|r| format!("role-{i}-{r}")).collect();
        token(
            key(Algorithm::Hs256),
            &json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "jti": i.to_string(), "roles": roles}),
        )
    };
    let mut most = 0;
    for i in 0..200 {
        let t = big(i);
        let verified = verifier.verify(&t, UnixTime(NOW)).unwrap();
        cache.insert(&t, verified, UnixTime(NOW), cache.generation(), None);
        assert!(
            cache.held_bytes() <= max_bytes,
            "{} bytes after {i}",
            cache.held_bytes()
        );
        assert!(cache.get(&t, UnixTime(NOW)).is_some(), "the newest is kept");
        most = most.max(cache.len());
    }
    assert!(
        (10..100).contains(&most),
        "{most} entries at most: the byte bound, not the entry bound, decided"
    );
    assert!(
        cache.get(&big(0), UnixTime(NOW)).is_none(),
        "the oldest went"
    );
    // An entry over half the bound is never kept (it would flip out everything else).
    let roles: Vec<String> = (0..700).map(|r| format!("r{r}")).collect();
    let huge = token(
        key(Algorithm::Hs256),
        &json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "roles": roles}),
    );
    let mut small = TokenCache::new(8, 3600, SEED).with_max_bytes(max_bytes / 8);
    let verified = verifier.verify(&huge, UnixTime(NOW)).unwrap();
    assert!(verified.held_bytes(huge.len()) > max_bytes / 16);
    small.insert(&huge, verified, UnixTime(NOW), small.generation(), None);
    assert!(small.get(&huge, UnixTime(NOW)).is_none());
    assert_eq!(small.held_bytes(), 0);
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
