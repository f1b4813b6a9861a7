//! A bounded cache of verified tokens for one isolate: a repeated token skips parsing and crypto.
//!
//! - Only [`VerifiedToken`]s go in; a token that failed is never cached.
//! - Bounded: two generations of at most `capacity` entries and half of `max_bytes` each (an O(1)
//!   approximation of LRU: a hit in the old generation moves the entry to the young one; when the young
//!   one is full it becomes the old one and the previous old one is dropped). Bytes are counted with
//!   [`VerifiedToken::held_bytes`], an over-estimate of what an entry holds, with its share of the hash
//!   table. A count alone does not bound memory: a cached token holds from about 3 KiB to half a MiB
//!   (an 8 KiB token of one-member objects: `tests/cache_memory.rs`), and a Worker's isolate has 128 MB
//!   for everything. An entry over half of `max_bytes` is not kept.
//! - Freed a little at a time, never a generation in one request. The generation a flip drops is
//!   unreachable at once and freed over the next insertions: at least [`FREED_PER_PUT`] entries each,
//!   and as many more as keep it smaller than the young generation's room (in entries and in bytes), so
//!   it is gone before the next flip and one insertion frees about what it adds. [`TokenCache::clear`]
//!   only makes entries unreachable (each remembers the clear count it was inserted under); they leave
//!   with the flips. Freeing a whole generation at once (up to 100 000 verified tokens with their claims)
//!   landed on the one request that filled the young generation: a latency spike, and in a Worker a risk
//!   to that request's CPU limit. Held at most: `max_bytes` counted in the two generations, and up to
//!   half as much again in the dropped one while it is freed.
//! - An entry lives until the token's `exp`, `max_ttl` after insertion, or the end of the usable life of
//!   the key set that verified it (remote keys: its freshness plus `stale_if_error`), whichever is first:
//!   a cached verification never outlives the keys that could verify the token again.
//! - The caller re-checks time-based claims on every hit ([`Verifier::recheck`](crate::Verifier::recheck)),
//!   and calls [`TokenCache::clear`] whenever an issuer's keys change. A verification that started
//!   before a `clear` is not inserted after it: [`TokenCache::generation`] is read before verifying and
//!   handed to [`TokenCache::insert`], which drops the entry when a `clear` came in between (a token
//!   verified under a key set that a concurrent refetch replaced must not outlive that set).
//!
//! The cache reads no clock and draws no randomness: `now` and the hash seed are arguments, as
//! everywhere in the core (on wasm32, std's `RandomState` has no OS source of randomness).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use siphasher::sip::SipHasher13;

use crate::claims::UnixTime;
use crate::verifier::VerifiedToken;

#[derive(Debug)]
struct Entry {
    verified: Arc<VerifiedToken>,
    expires_at: u64,
    /// What the entry holds, over-estimated: its key, the verification, its slot in the table.
    bytes: usize,
    /// The cache's clear count when inserted: an entry from before the last `clear` is never found.
    cleared: u64,
}

/// How many trailing bytes of a token its hash covers.
const HASHED_TAIL: usize = 48;

/// Hashes only the last [`HASHED_TAIL`] bytes of what it is given, with SipHash-1-3 under the per-cache
/// random key the adapter seeds the cache with.
///
/// A token ends with its signature, so the tail already tells tokens apart; hashing all of a 1 KiB token
/// four times per first sight (two lookups, two inserts) was a measurable part of it in wasm. Equality is
/// still decided on the whole token string, so two tokens sharing a tail only share a bucket. Only
/// verified tokens are ever inserted, and their signatures differ, so such sharing cannot be forced.
#[derive(Clone)]
struct TailHash {
    k0: u64,
    k1: u64,
}

impl std::fmt::Debug for TailHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TailHash(..)")
    }
}

impl BuildHasher for TailHash {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(SipHasher13::new_with_keys(self.k0, self.k1))
    }
}

struct TailHasher(SipHasher13);

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

/// The bytes a cache holds unless told otherwise ([`TokenCache::with_max_bytes`]): 16 MiB.
pub const DEFAULT_MAX_BYTES: usize = 16 << 20;

/// How many entries of the generation the last flip dropped each insertion frees at least (more when the
/// young generation would otherwise fill, by count or by bytes, before it is gone).
pub const FREED_PER_PUT: usize = 4;

/// A two-generation bounded cache keyed by the whole token string.
#[derive(Debug)]
pub struct TokenCache {
    young: HashMap<Box<str>, Entry, TailHash>,
    old: HashMap<Box<str>, Entry, TailHash>,
    /// The generation the last flip dropped, no longer looked up, freed [`FREED_PER_PUT`] entries per
    /// insertion.
    retiring: std::collections::hash_map::IntoIter<Box<str>, Entry>,
    capacity: usize,
    /// The bytes each generation may hold (half of `max_bytes`).
    generation_bytes: usize,
    young_bytes: usize,
    old_bytes: usize,
    /// The bytes counted for what `retiring` still holds.
    retiring_bytes: usize,
    max_ttl: u64,
    /// Bumped by every [`clear`](Self::clear).
    generation: u64,
}

/// What [`TokenCache::generation`] returns: the cache's state before a verification started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheGeneration(u64);

impl TokenCache {
    /// At most `2 × capacity` entries, each kept at most `max_ttl_seconds`. `seed` keys the hash (16
    /// random bytes from the adapter: `crypto.getRandomValues` in the Worker and the JS package, the OS
    /// elsewhere), so that bucket sharing cannot be planned from outside.
    pub fn new(capacity: usize, max_ttl_seconds: u64, seed: [u8; 16]) -> TokenCache {
        let (k0, k1) = seed.split_at(8);
        let word = |half: &[u8]| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(half);
            u64::from_le_bytes(bytes)
        };
        let hash = TailHash {
            k0: word(k0),
            k1: word(k1),
        };
        TokenCache {
            young: HashMap::with_hasher(hash.clone()),
            old: HashMap::with_hasher(hash.clone()),
            retiring: HashMap::with_hasher(hash).into_iter(),
            capacity: capacity.max(1),
            generation_bytes: DEFAULT_MAX_BYTES / 2,
            young_bytes: 0,
            old_bytes: 0,
            retiring_bytes: 0,
            max_ttl: max_ttl_seconds,
            generation: 0,
        }
    }

    /// Bounds the bytes held (both generations, counted with [`VerifiedToken::held_bytes`]) to
    /// `max_bytes` instead of [`DEFAULT_MAX_BYTES`].
    #[must_use]
    pub fn with_max_bytes(mut self, max_bytes: usize) -> TokenCache {
        self.generation_bytes = max_bytes / 2;
        self
    }

    /// The bytes the cache's entries hold, over-estimated as [`VerifiedToken::held_bytes`] does (not
    /// counting a dropped generation while it is freed).
    pub fn held_bytes(&self) -> usize {
        self.young_bytes.saturating_add(self.old_bytes)
    }

    /// The cache's generation, read before verifying a token that is then handed to
    /// [`insert`](Self::insert).
    pub fn generation(&self) -> CacheGeneration {
        CacheGeneration(self.generation)
    }

    /// The cached verification of exactly this token string, if still fresh at `now`.
    pub fn get(&mut self, token: &str, now: UnixTime) -> Option<Arc<VerifiedToken>> {
        if let Some(entry) = self.young.get(token) {
            if entry.expires_at > now.0 && entry.cleared == self.generation {
                return Some(Arc::clone(&entry.verified));
            }
            if let Some(gone) = self.young.remove(token) {
                self.young_bytes = self.young_bytes.saturating_sub(gone.bytes);
            }
            return None;
        }
        let (key, entry) = self.old.remove_entry(token)?;
        self.old_bytes = self.old_bytes.saturating_sub(entry.bytes);
        if entry.expires_at <= now.0 || entry.cleared != self.generation {
            return None;
        }
        let verified = Arc::clone(&entry.verified);
        self.put(key, entry);
        Some(verified)
    }

    /// Caches a verification. Tokens already expired (by `exp` alone) at `now` are not kept, nor a
    /// verification whose key set was selected (at `since`) before the last [`clear`](Self::clear).
    /// `keys_until`: when the key set that verified it stops being usable (`None`: never, for keys
    /// from the configuration).
    pub fn insert(
        &mut self,
        token: &str,
        verified: VerifiedToken,
        now: UnixTime,
        since: CacheGeneration,
        keys_until: Option<u64>,
    ) -> Arc<VerifiedToken> {
        let by_ttl = now
            .0
            .saturating_add(self.max_ttl)
            .min(keys_until.unwrap_or(u64::MAX));
        let expires_at = match verified.registered().exp {
            Some(exp) => u64::try_from(exp).unwrap_or(0).min(by_ttl),
            None => by_ttl,
        };
        let bytes = verified
            .held_bytes(token.len())
            .saturating_add(token.len() + crate::heap::PER_ALLOCATION)
            // The table's slot and control byte, with room for its load factor and power-of-two size.
            .saturating_add(3 * (std::mem::size_of::<(Box<str>, Entry)>() + 1));
        let verified = Arc::new(verified);
        if expires_at > now.0 && since.0 == self.generation && bytes <= self.generation_bytes {
            if let Some(gone) = self.old.remove(token) {
                self.old_bytes = self.old_bytes.saturating_sub(gone.bytes);
            }
            self.put(
                token.into(),
                Entry {
                    verified: Arc::clone(&verified),
                    expires_at,
                    cleared: self.generation,
                    bytes,
                },
            );
        }
        verified
    }

    fn put(&mut self, key: Box<str>, entry: Entry) {
        self.free_some(entry.bytes);
        if self.young.len() >= self.capacity
            || self.young_bytes.saturating_add(entry.bytes) > self.generation_bytes
        {
            // Whatever of the last dropped generation `free_some` left (nothing at a flip by count;
            // less than this entry's bytes at a flip by bytes) is freed here, before the next is retired.
            self.free_retiring(usize::MAX);
            // Sized for the generation that just filled: growing by doubling would rehash up to half
            // of it in one insertion.
            let empty =
                HashMap::with_capacity_and_hasher(self.young.len(), self.young.hasher().clone());
            let young = std::mem::replace(&mut self.young, empty);
            let dropped = std::mem::replace(&mut self.old, young);
            self.retiring_bytes = self.old_bytes;
            self.retiring = dropped.into_iter();
            self.old_bytes = std::mem::take(&mut self.young_bytes);
        }
        self.young_bytes = self.young_bytes.saturating_add(entry.bytes);
        if let Some(replaced) = self.young.insert(key, entry) {
            self.young_bytes = self.young_bytes.saturating_sub(replaced.bytes);
        }
    }

    /// Frees [`FREED_PER_PUT`] entries of the last dropped generation, and more if it would otherwise
    /// outlast the young generation's room once `incoming` bytes are added: in entries, or in bytes.
    /// So a flip never finds much of it left, and what one insertion frees stays about what it adds
    /// (a few entries, or its own entry's bytes).
    fn free_some(&mut self, incoming: usize) {
        let room_entries = self.capacity.saturating_sub(self.young.len() + 1);
        let room_bytes = self
            .generation_bytes
            .saturating_sub(self.young_bytes.saturating_add(incoming));
        self.free_retiring(FREED_PER_PUT);
        while self.retiring.len() > room_entries || self.retiring_bytes > room_bytes {
            if !self.free_retiring(1) {
                return;
            }
        }
    }

    /// Frees up to `count` retired entries; whether any were left to free. Once all are freed, the
    /// table they were in goes too.
    fn free_retiring(&mut self, count: usize) -> bool {
        for _ in 0..count {
            match self.retiring.next() {
                Some((_, entry)) => {
                    self.retiring_bytes = self.retiring_bytes.saturating_sub(entry.bytes);
                }
                None => {
                    self.retiring_bytes = 0;
                    // An exhausted iterator still holds its table: replaced by one without (an empty
                    // map allocates nothing).
                    self.retiring = HashMap::with_hasher(self.young.hasher().clone()).into_iter();
                    return false;
                }
            }
        }
        true
    }

    /// Drops everything (call when an issuer's keys change); verifications in progress will not be
    /// inserted. The entries are unreachable at once, and freed as the generations flip.
    pub fn clear(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// The entries a lookup can find (expired ones included until looked up or flipped out).
    pub fn len(&self) -> usize {
        self.young
            .values()
            .chain(self.old.values())
            .filter(|entry| entry.cleared == self.generation)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(cache: &TokenCache, token: &str) -> u64 {
        cache.young.hasher().hash_one(token)
    }

    #[test]
    fn the_seed_keys_the_hash() {
        let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1pcy1sb25nZXItdGhhbi00OA";
        let a = TokenCache::new(4, 60, [1; 16]);
        let b = TokenCache::new(4, 60, [2; 16]);
        let a_again = TokenCache::new(4, 60, [1; 16]);
        assert_ne!(hash_of(&a, token), hash_of(&b, token));
        assert_eq!(hash_of(&a, token), hash_of(&a_again, token));
        // Only the tail is hashed: a different head with the same 48-byte tail shares the hash.
        let other_head = format!("x{token}");
        assert_eq!(hash_of(&a, token), hash_of(&a, &other_head));
    }
}
