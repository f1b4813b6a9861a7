//! Keys the Worker derives from its assertion signing key, once, when the configuration compiles:
//! HKDF-SHA256 (RFC 5869) with the signing key's secret bytes as input keying material, the salt
//! `edge-auth/v1`, and one `info` label per use. Each derived key is only ever used for HMAC-SHA256.
//!
//! - [`SHARED_CACHE_INFO`]: authenticates the remote-key sets the Worker shares with other isolates
//!   through the Workers Cache API (`caches.default` is shared by every Worker of a zone).
//! - [`DECISION_LOG_INFO`]: the per-deployment key of the decision log's `sub_hash`, so that a log
//!   reader cannot confirm a guessed subject (an email address, say) by hashing it.

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::jwk::SigningKey;

/// The HKDF salt of every derived key.
pub const DERIVE_SALT: &[u8] = b"edge-auth/v1";
/// `info` of the shared key-cache MAC key.
pub const SHARED_CACHE_INFO: &[u8] = b"shared-key-cache";
/// `info` of the decision-log key.
pub const DECISION_LOG_INFO: &[u8] = b"decision-log";

/// A 32-byte HMAC-SHA256 key derived with HKDF-SHA256. Its `Debug` never shows it.
#[derive(Clone)]
pub struct DerivedKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(..)")
    }
}

/// HMAC-SHA256 of `parts` joined by NUL bytes (callers keep NUL out of all parts but the last).
fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            mac.update(b"\0");
        }
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl DerivedKey {
    /// HKDF-SHA256 (RFC 5869 §2.2, §2.3) with an output of one block: `HMAC(HMAC(salt, ikm), info ‖ 1)`.
    pub fn hkdf(ikm: &[u8], salt: &[u8], info: &[u8]) -> DerivedKey {
        let prk = Zeroizing::new(hmac(salt, &[ikm]));
        let mut block = Vec::with_capacity(info.len() + 1);
        block.extend_from_slice(info);
        block.push(1);
        DerivedKey(Zeroizing::new(hmac(prk.as_slice(), &[&block])))
    }

    /// The key for `info` derived from a signing key's secret bytes (`d`, or `k` for HMAC keys).
    pub fn from_signing_key(key: &SigningKey, info: &[u8]) -> DerivedKey {
        DerivedKey::hkdf(&key.secret_bytes(), DERIVE_SALT, info)
    }

    /// HMAC-SHA256 over `parts` joined by NUL bytes.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        hmac(self.0.as_slice(), parts)
    }

    /// Whether `tag` is the MAC of `parts`, compared in constant time.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.mac(parts).as_slice().ct_eq(tag).into()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc5869_test_case_1() {
        // RFC 5869 A.1 (L = 42): our one-block output is the first 32 bytes of its OKM.
        let key = DerivedKey::hkdf(
            &unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
            &unhex("000102030405060708090a0b0c"),
            &unhex("f0f1f2f3f4f5f6f7f8f9"),
        );
        assert_eq!(
            key.0.as_slice(),
            unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf")
        );
    }

    #[test]
    fn macs_separate_parts_and_compare_whole_tags() {
        let key = DerivedKey::hkdf(b"ikm", DERIVE_SALT, SHARED_CACHE_INFO);
        let tag = key.mac(&[b"a", b"bc"]);
        assert!(key.verify(&[b"a", b"bc"], &tag));
        assert!(!key.verify(&[b"ab", b"c"], &tag));
        assert!(!key.verify(&[b"a", b"bc"], &tag[..31]));
        let other = DerivedKey::hkdf(b"ikm", DERIVE_SALT, DECISION_LOG_INFO);
        assert!(!other.verify(&[b"a", b"bc"], &tag));
        assert_eq!(format!("{key:?}"), "DerivedKey(..)");
    }
}
