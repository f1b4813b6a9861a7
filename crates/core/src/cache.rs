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

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use crate::claims::UnixTime;
use crate::verifier::VerifiedToken;

#[derive(Debug)]
struct Entry {
    verified: Arc<VerifiedToken>,
    expires_at: u64,
}

/// How many trailing bytes of a token its hash covers.
const HASHED_TAIL: usize = 48;

/// Hashes only the last [`HASHED_TAIL`] bytes of what it is given, with a per-cache random SipHash key.
///
/// A token ends with its signature, so the tail already tells tokens apart; hashing all of a 1 KiB token
/// four times per first sight (two lookups, two inserts) was a measurable part of it in wasm. Equality is
/// still decided on the whole token string, so two tokens sharing a tail only share a bucket. Only
/// verified tokens are ever inserted, and their signatures differ, so such sharing cannot be forced.
#[derive(Debug, Clone)]
struct TailHash(RandomState);

impl BuildHasher for TailHash {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

struct TailHasher(std::collections::hash_map::DefaultHasher);

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        let tail = bytes
            .get(bytes.len().saturating_sub(HASHED_TAIL)..)
            .unwrap_or(bytes);
        self.0.write(tail);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

/// A two-generation bounded cache keyed by the whole token string.
#[derive(Debug)]
pub struct TokenCache {
    young: HashMap<Box<str>, Entry, TailHash>,
    old: HashMap<Box<str>, Entry, TailHash>,
    capacity: usize,
    max_ttl: u64,
}

impl TokenCache {
    /// At most `2 × capacity` entries, each kept at most `max_ttl_seconds`.
    pub fn new(capacity: usize, max_ttl_seconds: u64) -> TokenCache {
        let hash = TailHash(RandomState::new());
        TokenCache {
            young: HashMap::with_hasher(hash.clone()),
            old: HashMap::with_hasher(hash),
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
            let empty = HashMap::with_hasher(self.young.hasher().clone());
            self.old = std::mem::replace(&mut self.young, empty);
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
