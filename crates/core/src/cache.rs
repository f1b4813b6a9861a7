//! A bounded cache of verified tokens for one isolate: a repeated token skips parsing and crypto.
//!
//! - Only [`VerifiedToken`]s go in; a token that failed is never cached.
//! - Bounded: two generations of at most `capacity` entries each (an O(1) approximation of LRU: a hit in
//!   the old generation moves the entry to the young one; when the young one is full it becomes the old
//!   one and the previous old one is dropped).
//! - An entry lives until the token's `exp` or `max_ttl` after insertion, whichever is first.
//! - The caller re-checks time-based claims on every hit ([`Verifier::recheck`](crate::Verifier::recheck)),
//!   and calls [`TokenCache::clear`] whenever an issuer's keys change.
//!
//! The cache reads no clock: `now` is an argument, as everywhere in the core.

use std::collections::HashMap;
use std::sync::Arc;

use crate::claims::UnixTime;
use crate::verifier::VerifiedToken;

#[derive(Debug)]
struct Entry {
    verified: Arc<VerifiedToken>,
    expires_at: u64,
}

/// A two-generation bounded cache keyed by the whole token string.
#[derive(Debug)]
pub struct TokenCache {
    young: HashMap<Box<str>, Entry>,
    old: HashMap<Box<str>, Entry>,
    capacity: usize,
    max_ttl: u64,
}

impl TokenCache {
    /// At most `2 × capacity` entries, each kept at most `max_ttl_seconds`.
    pub fn new(capacity: usize, max_ttl_seconds: u64) -> TokenCache {
        TokenCache {
            young: HashMap::new(),
            old: HashMap::new(),
            capacity: capacity.max(1),
            max_ttl: max_ttl_seconds,
        }
    }

    /// The cached verification of exactly this token string, if still fresh at `now`.
    pub fn get(&mut self, token: &str, now: UnixTime) -> Option<Arc<VerifiedToken>> {
        if let Some(entry) = self.young.get(token) {
            if entry.expires_at > now.0 {
                return Some(Arc::clone(&entry.verified));
            }
            self.young.remove(token);
            return None;
        }
        let (key, entry) = self.old.remove_entry(token)?;
        if entry.expires_at <= now.0 {
            return None;
        }
        let verified = Arc::clone(&entry.verified);
        self.put(key, entry);
        Some(verified)
    }

    /// Caches a verification. Tokens already expired (by `exp` alone) at `now` are not kept.
    pub fn insert(
        &mut self,
        token: &str,
        verified: VerifiedToken,
        now: UnixTime,
    ) -> Arc<VerifiedToken> {
        let by_ttl = now.0.saturating_add(self.max_ttl);
        let expires_at = match verified.registered().exp {
            Some(exp) => u64::try_from(exp).unwrap_or(0).min(by_ttl),
            None => by_ttl,
        };
        let verified = Arc::new(verified);
        if expires_at > now.0 {
            self.old.remove(token);
            self.put(
                token.into(),
                Entry {
                    verified: Arc::clone(&verified),
                    expires_at,
                },
            );
        }
        verified
    }

    fn put(&mut self, key: Box<str>, entry: Entry) {
        if self.young.len() >= self.capacity {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, entry);
    }

    /// Drops everything (call when an issuer's keys change).
    pub fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
    }

    pub fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
