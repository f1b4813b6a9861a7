//! The JWS algorithms edge-auth knows (RFC 7518 §3, RFC 8037, RFC 8812), as a closed enum.
//!
//! The token never picks an algorithm: it names one, and the name is only looked up here and then
//! checked against the issuer's allowlist and the selected key.

use core::fmt;

/// A JWS signature algorithm. `none` is deliberately absent: it can never be represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Hs256,
    Hs384,
    Hs512,
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    Es512,
    Es256k,
    /// Ed25519 (RFC 8037 `EdDSA`; the fully-specified name `Ed25519` is accepted as an alias).
    EdDsa,
}

/// The family of key an algorithm needs. A key of another family is never tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    Oct,
    Rsa,
    Ec(Curve),
    Ed25519,
}

/// Elliptic curves for ECDSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    P256,
    P384,
    P521,
    Secp256k1,
}

impl Curve {
    /// The JWK `crv` name.
    pub const fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
            Curve::Secp256k1 => "secp256k1",
        }
    }

    /// Byte length of one coordinate (and of r and s in a JWS signature).
    pub const fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 | Curve::Secp256k1 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Curve> {
        Some(match name {
            "P-256" => Curve::P256,
            "P-384" => Curve::P384,
            "P-521" => Curve::P521,
            "secp256k1" => Curve::Secp256k1,
            _ => return None,
        })
    }
}

impl Algorithm {
    /// Every algorithm, in a fixed order (used for bit sets and for tests that must cover all).
    pub const ALL: [Algorithm; 14] = [
        Algorithm::Hs256,
        Algorithm::Hs384,
        Algorithm::Hs512,
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::Es256k,
        Algorithm::EdDsa,
    ];

    /// The registered `alg` name.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Hs256 => "HS256",
            Algorithm::Hs384 => "HS384",
            Algorithm::Hs512 => "HS512",
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::Es512 => "ES512",
            Algorithm::Es256k => "ES256K",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// Looks up an `alg` name exactly (names are case-sensitive, RFC 7515 §4.1.1). `Ed25519` (the
    /// fully-specified name from draft-ietf-jose-fully-specified-algorithms) maps to [`Algorithm::EdDsa`].
    pub fn from_name(name: &str) -> Option<Algorithm> {
        if name == "Ed25519" {
            return Some(Algorithm::EdDsa);
        }
        Algorithm::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// The key family this algorithm needs.
    pub const fn family(self) -> KeyFamily {
        match self {
            Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512 => KeyFamily::Oct,
            Algorithm::Rs256
            | Algorithm::Rs384
            | Algorithm::Rs512
            | Algorithm::Ps256
            | Algorithm::Ps384
            | Algorithm::Ps512 => KeyFamily::Rsa,
            Algorithm::Es256 => KeyFamily::Ec(Curve::P256),
            Algorithm::Es384 => KeyFamily::Ec(Curve::P384),
            Algorithm::Es512 => KeyFamily::Ec(Curve::P521),
            Algorithm::Es256k => KeyFamily::Ec(Curve::Secp256k1),
            Algorithm::EdDsa => KeyFamily::Ed25519,
        }
    }

    /// Whether this is a symmetric (HMAC) algorithm.
    pub const fn is_symmetric(self) -> bool {
        matches!(self.family(), KeyFamily::Oct)
    }

    /// For HMAC: the hash output length, which is also the minimum key length (RFC 7518 §3.2).
    pub const fn hmac_min_key_len(self) -> Option<usize> {
        match self {
            Algorithm::Hs256 => Some(32),
            Algorithm::Hs384 => Some(48),
            Algorithm::Hs512 => Some(64),
            _ => None,
        }
    }

    /// The exact signature length when it does not depend on the key (RSA's does: modulus length).
    pub const fn fixed_signature_len(self) -> Option<usize> {
        match self {
            Algorithm::Hs256 => Some(32),
            Algorithm::Hs384 => Some(48),
            Algorithm::Hs512 => Some(64),
            Algorithm::Es256 | Algorithm::Es256k => Some(64),
            Algorithm::Es384 => Some(96),
            Algorithm::Es512 => Some(132),
            Algorithm::EdDsa => Some(64),
            _ => None,
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of algorithms (an allowlist, or the algorithms a key can serve).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AlgSet(u16);

impl AlgSet {
    pub const EMPTY: AlgSet = AlgSet(0);

    pub fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    pub fn insert(&mut self, alg: Algorithm) {
        self.0 |= alg.bit();
    }

    #[must_use]
    pub fn union(self, other: AlgSet) -> AlgSet {
        AlgSet(self.0 | other.0)
    }

    #[must_use]
    pub fn intersect(self, other: AlgSet) -> AlgSet {
        AlgSet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |alg| self.contains(*alg))
    }
}

impl FromIterator<Algorithm> for AlgSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        let mut set = AlgSet::EMPTY;
        for alg in iter {
            set.insert(alg);
        }
        set
    }
}

impl fmt::Debug for AlgSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Algorithm::name))
            .finish()
    }
}

impl fmt::Display for AlgSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for alg in self.iter() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            f.write_str(alg.name())?;
        }
        Ok(())
    }
}

/// JWE key-management and content-encryption algorithm names (RFC 7518 §4, §5). A key whose `alg` is one
/// of these is an encryption key and is never used to verify.
pub(crate) fn is_encryption_alg(name: &str) -> bool {
    matches!(
        name,
        "RSA1_5"
            | "RSA-OAEP"
            | "RSA-OAEP-256"
            | "RSA-OAEP-384"
            | "RSA-OAEP-512"
            | "A128KW"
            | "A192KW"
            | "A256KW"
            | "dir"
            | "ECDH-ES"
            | "ECDH-ES+A128KW"
            | "ECDH-ES+A192KW"
            | "ECDH-ES+A256KW"
            | "A128GCMKW"
            | "A192GCMKW"
            | "A256GCMKW"
            | "PBES2-HS256+A128KW"
            | "PBES2-HS384+A192KW"
            | "PBES2-HS512+A256KW"
            | "A128CBC-HS256"
            | "A192CBC-HS384"
            | "A256CBC-HS512"
            | "A128GCM"
            | "A192GCM"
            | "A256GCM"
    )
}
