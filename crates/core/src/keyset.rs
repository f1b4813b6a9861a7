//! A set of verification keys and the one rule for choosing among them. The token's `kid` is only an
//! opaque lookup key; its `alg` must be allowed and fit the key. Keys named by the token are never used.

use serde_json::Value;

use crate::alg::{AlgSet, Algorithm};
use crate::error::{KeyError, KeyLoadError, SelectError};
use crate::json;
use crate::jwk::Key;
use crate::token::{Header, Limits};

/// The most keys one set may hold.
pub const MAX_KEYS: usize = 100;

/// A key of a JWK Set that is not used for verification, and why (an encryption key, an unknown type…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    pub index: usize,
    pub kid: Option<String>,
    pub reason: KeyError,
}

/// Verification keys with the algorithms each may serve.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<Key>,
    /// Each key's position in the input (the JWKS `keys` array), for error messages.
    positions: Vec<usize>,
    skipped: Vec<SkippedKey>,
}

/// Keys whose kind RFC 7517 §5 says to ignore in a set, rather than refuse the set: encryption keys,
/// unknown key types and curves, and keys that fit none of the allowed algorithms.
/// An `alg` this verifier does not know is skipped too: such a key could never serve an allowed
/// algorithm (allowlists only name known ones), and an IdP adding, say, a post-quantum key to its JWKS
/// must not take the whole issuer down.
fn skippable(error: &KeyError) -> bool {
    matches!(
        error,
        KeyError::NotForSignatures { .. }
            | KeyError::UnsupportedKeyType { .. }
            | KeyError::UnsupportedCurve { .. }
            | KeyError::UnknownAlgorithm { .. }
            | KeyError::NoAllowedAlgorithm { .. }
    )
}

impl KeySet {
    /// A set with no keys (the placeholder of an issuer whose keys are fetched at run time).
    pub fn empty() -> KeySet {
        KeySet {
            keys: Vec::new(),
            positions: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// A set of exactly one key, from one JWK. Every problem with the key is an error.
    pub fn from_jwk_json(bytes: &[u8]) -> Result<KeySet, KeyLoadError> {
        KeySet::from_keys(vec![Key::from_json(bytes)?])
    }

    /// A JWK Set (`{"keys": [...]}`). Encryption keys and unknown key types are skipped (see
    /// [`KeySet::skipped`]); weak or malformed signature keys refuse the whole set.
    pub fn from_jwks_json(bytes: &[u8]) -> Result<KeySet, KeyLoadError> {
        let object = json::parse_object(bytes).map_err(KeyError::Json)?;
        let Some(Value::Array(entries)) = object.get("keys") else {
            return Err(KeyError::NotAKeySet.into());
        };
        if entries.len() > MAX_KEYS {
            return Err(KeyError::TooManyKeys { max: MAX_KEYS }.into());
        }
        let mut keys = Vec::with_capacity(entries.len());
        let mut skipped = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let at = |error| KeyLoadError {
                index: Some(index),
                error,
            };
            let Value::Object(object) = entry else {
                return Err(at(KeyError::Json(json::JsonError::NotObject)));
            };
            match Key::from_object(object) {
                Ok(key) => keys.push((index, key)),
                Err(reason) if skippable(&reason) => skipped.push(SkippedKey {
                    index,
                    kid: object.get("kid").and_then(Value::as_str).map(str::to_owned),
                    reason,
                }),
                Err(error) => return Err(at(error)),
            }
        }
        let set = KeySet::checked(keys, skipped)?;
        Ok(set)
    }

    /// A set of already-parsed keys.
    pub fn from_keys(keys: Vec<Key>) -> Result<KeySet, KeyLoadError> {
        KeySet::checked(keys.into_iter().enumerate().collect(), Vec::new())
    }

    fn checked(keys: Vec<(usize, Key)>, skipped: Vec<SkippedKey>) -> Result<KeySet, KeyLoadError> {
        if keys.is_empty() {
            return Err(KeyError::NoUsableKey.into());
        }
        let symmetric = keys.iter().filter(|(_, k)| k.is_symmetric()).count();
        if symmetric != 0 && symmetric != keys.len() {
            return Err(KeyError::MixedSymmetry.into());
        }
        for (i, (index, key)) in keys.iter().enumerate() {
            let Some(kid) = key.kid() else { continue };
            let clash = keys.iter().skip(i + 1).any(|(_, other)| {
                other.kid() == Some(kid)
                    && !other.algorithms().intersect(key.algorithms()).is_empty()
            });
            if clash {
                return Err(KeyLoadError {
                    index: Some(*index),
                    error: KeyError::DuplicateKid {
                        kid: kid.to_owned(),
                    },
                });
            }
        }
        let (positions, keys) = keys.into_iter().unzip();
        Ok(KeySet {
            keys,
            positions,
            skipped,
        })
    }

    /// Narrows every key to `allowed`. Keys that fit no allowed algorithm are skipped in a set of several
    /// keys, and refused when they are the only key.
    pub fn restrict(self, allowed: AlgSet) -> Result<KeySet, KeyLoadError> {
        let single = self.keys.len() == 1 && self.skipped.is_empty();
        let mut keys = Vec::with_capacity(self.keys.len());
        let mut skipped = self.skipped;
        for (index, key) in self.positions.into_iter().zip(self.keys) {
            let kid = key.kid().map(str::to_owned);
            match key.narrowed(allowed) {
                Ok(key) => keys.push((index, key)),
                Err(error) if single => return Err(error.into()),
                Err(reason) => skipped.push(SkippedKey { index, kid, reason }),
            }
        }
        KeySet::checked(keys, skipped)
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Keys of the input that are not used, and why.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// The union of the keys' own `alg` members.
    pub fn declared_algorithms(&self) -> AlgSet {
        self.keys
            .iter()
            .filter_map(Key::declared_algorithm)
            .collect()
    }

    /// The union of what the keys may verify.
    pub fn algorithms(&self) -> AlgSet {
        self.keys
            .iter()
            .fold(AlgSet::EMPTY, |acc, k| acc.union(k.algorithms()))
    }

    /// Chooses the algorithm and the candidate keys for a token header.
    ///
    /// - `alg` must be a known algorithm in `allowed` (the issuer's allowlist).
    /// - With a `kid`: the keys with that `kid` that serve `alg`; if no key has that `kid` at all, the
    ///   keys without a `kid` that serve `alg` (a key without `kid` matches any).
    /// - Without a `kid`: the keys that serve `alg`, at most `limits.max_untargeted_keys` of them.
    pub fn select(
        &self,
        header: &Header,
        allowed: AlgSet,
        limits: &Limits,
    ) -> Result<Selection, SelectError> {
        let alg = Algorithm::from_name(header.alg())
            .filter(|alg| allowed.contains(*alg))
            .ok_or_else(|| SelectError::AlgNotAllowed {
                alg: header.alg().to_owned(),
            })?;
        let serves = |key: &Key| key.algorithms().contains(alg);
        let not_found = || SelectError::KeyNotFound {
            kid: header.kid().map(str::to_owned),
            alg,
        };
        let mut candidates = Vec::new();
        if let Some(kid) = header.kid() {
            let mut named = false;
            for (i, key) in self.keys.iter().enumerate() {
                if key.kid() == Some(kid) {
                    named = true;
                    if serves(key) {
                        candidates.push(i);
                    }
                }
            }
            if named {
                return if candidates.is_empty() {
                    Err(not_found())
                } else {
                    Ok(Selection { alg, candidates })
                };
            }
        }
        for (i, key) in self.keys.iter().enumerate() {
            if serves(key) && (header.kid().is_none() || key.kid().is_none()) {
                candidates.push(i);
            }
        }
        if candidates.is_empty() {
            return Err(not_found());
        }
        if candidates.len() > limits.max_untargeted_keys {
            return Err(SelectError::KeyAmbiguous {
                kid: header.kid().map(str::to_owned),
                candidates: candidates.len(),
                max: limits.max_untargeted_keys,
            });
        }
        Ok(Selection { alg, candidates })
    }
}

/// The outcome of key selection: the algorithm, and the indexes of the keys to try, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub alg: Algorithm,
    pub candidates: Vec<usize>,
}
