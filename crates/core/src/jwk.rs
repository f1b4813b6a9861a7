//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037): strict parsing into verification [`Key`]s and
//! [`SigningKey`]s. Weak or malformed keys are refused here, at load time, never at request time.

use core::fmt;

use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::alg::{is_encryption_alg, AlgSet, Algorithm, Curve, KeyFamily};
use crate::b64;
use crate::error::KeyError;
use crate::json;

/// Smallest RSA modulus accepted (RFC 7518 §3.3, §3.5).
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted: bigger keys only cost CPU time.
pub const RSA_MAX_BITS: usize = 8192;

/// A public (or, for HMAC, secret) verification key.
pub(crate) enum PublicKey {
    Hmac(Zeroizing<Vec<u8>>),
    Rsa(RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    K256(k256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    fn describe(&self) -> String {
        match self {
            PublicKey::Hmac(k) => format!("an oct key of {} bytes", k.len()),
            PublicKey::Rsa(k) => format!("an RSA key of {} bits", k.n().bits()),
            PublicKey::P256(_) => "an EC P-256 key".into(),
            PublicKey::P384(_) => "an EC P-384 key".into(),
            PublicKey::P521(_) => "an EC P-521 key".into(),
            PublicKey::K256(_) => "an EC secp256k1 key".into(),
            PublicKey::Ed25519(_) => "an OKP Ed25519 key".into(),
        }
    }

    /// Algorithms the key's type (and, for HMAC, its length) can serve.
    fn type_algorithms(&self) -> AlgSet {
        let family_of = |family: KeyFamily| {
            Algorithm::ALL
                .into_iter()
                .filter(move |alg| alg.family() == family)
                .collect::<AlgSet>()
        };
        match self {
            PublicKey::Hmac(k) => Algorithm::ALL
                .into_iter()
                .filter(|alg| alg.hmac_min_key_len().is_some_and(|min| k.len() >= min))
                .collect(),
            PublicKey::Rsa(_) => family_of(KeyFamily::Rsa),
            PublicKey::P256(_) => family_of(KeyFamily::Ec(Curve::P256)),
            PublicKey::P384(_) => family_of(KeyFamily::Ec(Curve::P384)),
            PublicKey::P521(_) => family_of(KeyFamily::Ec(Curve::P521)),
            PublicKey::K256(_) => family_of(KeyFamily::Ec(Curve::Secp256k1)),
            PublicKey::Ed25519(_) => family_of(KeyFamily::Ed25519),
        }
    }

    /// The RFC 7638 members, in lexicographic order, as (name, value) pairs.
    fn thumbprint_members(&self) -> Vec<(&'static str, String)> {
        fn ec(curve: Curve, point: &[u8]) -> Vec<(&'static str, String)> {
            let len = curve.coordinate_len();
            let x = point.get(1..=len).unwrap_or_default();
            let y = point.get(1 + len..).unwrap_or_default();
            vec![
                ("crv", curve.name().to_owned()),
                ("kty", "EC".to_owned()),
                ("x", b64::encode(x)),
                ("y", b64::encode(y)),
            ]
        }
        match self {
            PublicKey::Hmac(k) => vec![("k", b64::encode(k)), ("kty", "oct".to_owned())],
            PublicKey::Rsa(k) => vec![
                ("e", b64::encode(&k.e().to_bytes_be())),
                ("kty", "RSA".to_owned()),
                ("n", b64::encode(&k.n().to_bytes_be())),
            ],
            PublicKey::P256(k) => ec(Curve::P256, k.to_encoded_point(false).as_bytes()),
            PublicKey::P384(k) => ec(Curve::P384, k.to_encoded_point(false).as_bytes()),
            PublicKey::P521(k) => ec(Curve::P521, k.to_encoded_point(false).as_bytes()),
            PublicKey::K256(k) => ec(Curve::Secp256k1, k.to_encoded_point(false).as_bytes()),
            PublicKey::Ed25519(k) => vec![
                ("crv", "Ed25519".to_owned()),
                ("kty", "OKP".to_owned()),
                ("x", b64::encode(k.as_bytes())),
            ],
        }
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url. Only computed for asymmetric keys.
    fn thumbprint(&self) -> String {
        let members = self.thumbprint_members();
        let mut canonical = String::from("{");
        for (i, (name, value)) in members.iter().enumerate() {
            if i > 0 {
                canonical.push(',');
            }
            // Names and values are fixed names or base64url: nothing needs JSON escaping.
            canonical.push_str(&format!("\"{name}\":\"{value}\""));
        }
        canonical.push('}');
        b64::encode(&Sha256::digest(canonical.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key bytes: an HMAC key is a secret.
        f.write_str(&self.describe())
    }
}

/// A verification key from a JWK, with the algorithms it may serve.
pub struct Key {
    kid: Option<String>,
    pub(crate) public: PublicKey,
    /// Algorithms this key may verify: its type's, narrowed by its own `alg`, and later by an allowlist.
    algorithms: AlgSet,
    /// The `alg` member, when the JWK has one.
    declared_alg: Option<Algorithm>,
    /// RFC 7638 thumbprint; `None` for oct keys, whose thumbprint would be a hash of the secret.
    thumbprint: Option<String>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("key", &self.public)
            .field("algorithms", &self.algorithms)
            .field("thumbprint", &self.thumbprint)
            .finish()
    }
}

impl Key {
    /// Parses one public JWK (or an `oct` secret) from JSON. Private members are refused.
    pub fn from_json(bytes: &[u8]) -> Result<Key, KeyError> {
        let object = json::parse_object(bytes).map_err(KeyError::Json)?;
        Key::from_object(&object)
    }

    /// Parses one public JWK from an already-parsed object.
    pub fn from_object(object: &Map<String, Value>) -> Result<Key, KeyError> {
        let jwk = Jwk(object);
        // Type and curve first: a key of an unknown type is skippable in a set whatever its `alg` says.
        jwk.supported_type()?;
        let declared_alg = jwk.usage("verify")?;
        let public = match jwk.kty()? {
            "oct" => PublicKey::Hmac(jwk.secret_bytes("k")?),
            "RSA" => {
                jwk.refuse_private(&["d", "p", "q", "dp", "dq", "qi", "oth"])?;
                PublicKey::Rsa(rsa_public(&jwk)?)
            }
            "EC" => {
                jwk.refuse_private(&["d"])?;
                ec_public(&jwk)?
            }
            "OKP" => {
                jwk.refuse_private(&["d"])?;
                PublicKey::Ed25519(ed25519_public(&jwk)?)
            }
            other => {
                return Err(KeyError::UnsupportedKeyType {
                    kty: other.to_owned(),
                })
            }
        };
        Key::new(jwk.string("kid")?.map(str::to_owned), public, declared_alg)
    }

    fn new(
        kid: Option<String>,
        public: PublicKey,
        declared_alg: Option<Algorithm>,
    ) -> Result<Key, KeyError> {
        let by_type = public.type_algorithms();
        let algorithms = match declared_alg {
            None => {
                if let PublicKey::Hmac(k) = &public {
                    if by_type.is_empty() {
                        return Err(KeyError::HmacTooShort {
                            len: k.len(),
                            min: 32,
                        });
                    }
                }
                by_type
            }
            Some(alg) => {
                if let (PublicKey::Hmac(k), Some(min)) = (&public, alg.hmac_min_key_len()) {
                    if k.len() < min {
                        return Err(KeyError::HmacTooShort { len: k.len(), min });
                    }
                }
                if !by_type.contains(alg) {
                    return Err(KeyError::AlgMismatch {
                        alg,
                        key: public.describe(),
                    });
                }
                [alg].into_iter().collect()
            }
        };
        let thumbprint = match public {
            PublicKey::Hmac(_) => None,
            _ => Some(public.thumbprint()),
        };
        Ok(Key {
            kid,
            public,
            algorithms,
            declared_alg,
            thumbprint,
        })
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Algorithms this key may verify.
    pub fn algorithms(&self) -> AlgSet {
        self.algorithms
    }

    /// The key's own `alg` member, if it has one.
    pub fn declared_algorithm(&self) -> Option<Algorithm> {
        self.declared_alg
    }

    /// RFC 7638 SHA-256 thumbprint (base64url). `None` for symmetric keys: it would publish a hash
    /// of the secret.
    pub fn thumbprint(&self) -> Option<&str> {
        self.thumbprint.as_deref()
    }

    pub fn is_symmetric(&self) -> bool {
        matches!(self.public, PublicKey::Hmac(_))
    }

    /// For RSA, the modulus length in bytes (= the signature length).
    pub(crate) fn rsa_len(&self) -> Option<usize> {
        match &self.public {
            PublicKey::Rsa(k) => Some(k.size()),
            _ => None,
        }
    }

    pub(crate) fn narrowed(mut self, allowed: AlgSet) -> Result<Key, KeyError> {
        let algorithms = self.algorithms.intersect(allowed);
        if algorithms.is_empty() {
            return Err(KeyError::NoAllowedAlgorithm {
                allowed: allowed.to_string(),
            });
        }
        self.algorithms = algorithms;
        Ok(self)
    }

    /// Whether `other` is the same key material (whatever its `kid`, `alg` or `use`).
    pub fn same_material(&self, other: &Key) -> bool {
        self.public.thumbprint_members() == other.public.thumbprint_members()
    }

    /// The public JWK (for an oct key this is the secret itself), with `kid`, `alg` and `use: sig`.
    pub fn to_jwk(&self) -> Map<String, Value> {
        let mut map = Map::new();
        for (name, value) in self.public.thumbprint_members() {
            map.insert(name.to_owned(), Value::String(value));
        }
        if let Some(kid) = &self.kid {
            map.insert("kid".into(), Value::String(kid.clone()));
        }
        if let Some(alg) = self.declared_alg {
            map.insert("alg".into(), Value::String(alg.name().into()));
        }
        map.insert("use".into(), Value::String("sig".into()));
        map
    }
}

/// A borrowed JWK object with typed member access.
struct Jwk<'a>(&'a Map<String, Value>);

impl<'a> Jwk<'a> {
    fn string(&self, member: &'static str) -> Result<Option<&'a str>, KeyError> {
        match self.0.get(member) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(KeyError::MemberType {
                member,
                expected: "a string",
            }),
        }
    }

    /// Refuses key types and curves this verifier does not implement.
    fn supported_type(&self) -> Result<(), KeyError> {
        match self.kty()? {
            "oct" | "RSA" => Ok(()),
            "EC" => self.curve().map(|_| ()),
            "OKP" => okp_curve(self),
            other => Err(KeyError::UnsupportedKeyType {
                kty: other.to_owned(),
            }),
        }
    }

    fn kty(&self) -> Result<&'a str, KeyError> {
        self.string("kty")?
            .ok_or(KeyError::MissingMember { member: "kty" })
    }

    fn bytes(&self, member: &'static str) -> Result<Vec<u8>, KeyError> {
        let text = self
            .string(member)?
            .ok_or(KeyError::MissingMember { member })?;
        b64::decode_secret(text).ok_or(KeyError::Base64 { member })
    }

    fn secret_bytes(&self, member: &'static str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.bytes(member).map(Zeroizing::new)
    }

    fn refuse_private(&self, members: &[&'static str]) -> Result<(), KeyError> {
        match members.iter().find(|m| self.0.contains_key(**m)) {
            Some(member) => Err(KeyError::PrivateMaterial { member }),
            None => Ok(()),
        }
    }

    /// Checks `use`, `key_ops` and `alg` for a signature operation (`verify` or `sign`); returns the key's
    /// own algorithm, if it names one.
    fn usage(&self, op: &'static str) -> Result<Option<Algorithm>, KeyError> {
        match self.string("use")? {
            None | Some("sig") => {}
            Some(other) => {
                return Err(KeyError::NotForSignatures {
                    reason: format!("use is {}", json::quoted_short(other)),
                })
            }
        }
        if let Some(ops) = self.0.get("key_ops") {
            let expected = "an array of unique strings";
            let Value::Array(ops) = ops else {
                return Err(KeyError::MemberType {
                    member: "key_ops",
                    expected,
                });
            };
            let mut seen: Vec<&str> = Vec::with_capacity(ops.len());
            for op in ops {
                let Value::String(op) = op else {
                    return Err(KeyError::MemberType {
                        member: "key_ops",
                        expected,
                    });
                };
                if seen.contains(&op.as_str()) {
                    return Err(KeyError::MemberType {
                        member: "key_ops",
                        expected,
                    });
                }
                seen.push(op);
            }
            if !seen.contains(&op) {
                return Err(KeyError::NotForSignatures {
                    reason: format!("key_ops does not include \"{op}\""),
                });
            }
        }
        match self.string("alg")? {
            None => Ok(None),
            Some(name) => match Algorithm::from_name(name) {
                Some(alg) => Ok(Some(alg)),
                None if is_encryption_alg(name) => Err(KeyError::NotForSignatures {
                    reason: format!(
                        "alg {} is an encryption algorithm",
                        json::quoted_short(name)
                    ),
                }),
                None => Err(KeyError::UnknownAlgorithm {
                    alg: name.to_owned(),
                }),
            },
        }
    }

    fn curve(&self) -> Result<Curve, KeyError> {
        let crv = self
            .string("crv")?
            .ok_or(KeyError::MissingMember { member: "crv" })?;
        Curve::from_name(crv).ok_or_else(|| KeyError::UnsupportedCurve {
            crv: crv.to_owned(),
        })
    }

    fn coordinate(&self, member: &'static str, curve: Curve) -> Result<Vec<u8>, KeyError> {
        let bytes = self.bytes(member)?;
        let expected = curve.coordinate_len();
        if bytes.len() != expected {
            return Err(KeyError::CoordinateLength {
                member,
                expected,
                found: bytes.len(),
            });
        }
        Ok(bytes)
    }
}

fn rsa_public(jwk: &Jwk<'_>) -> Result<RsaPublicKey, KeyError> {
    let n = BigUint::from_bytes_be(&jwk.bytes("n")?);
    let e = BigUint::from_bytes_be(&jwk.bytes("e")?);
    let bits = n.bits();
    if bits < RSA_MIN_BITS {
        return Err(KeyError::RsaModulusTooSmall {
            bits,
            min: RSA_MIN_BITS,
        });
    }
    if bits > RSA_MAX_BITS {
        return Err(KeyError::RsaModulusTooLarge {
            bits,
            max: RSA_MAX_BITS,
        });
    }
    let odd = |v: &BigUint| v.to_bytes_be().last().is_some_and(|b| b & 1 == 1);
    if !odd(&e) || e < BigUint::from(3u8) || e.bits() > 32 {
        return Err(KeyError::RsaBadExponent);
    }
    if !odd(&n) {
        return Err(KeyError::RsaInvalid);
    }
    if roca_fingerprint(&n.to_bytes_be()) {
        return Err(KeyError::RsaRoca);
    }
    RsaPublicKey::new_with_max_size(n, e, RSA_MAX_BITS).map_err(|_| KeyError::RsaInvalid)
}

/// The small primes of the ROCA detector (Nemec et al., "The Return of Coppersmith's Attack", CCS 2017,
/// and its reference `roca` tool) modulo which 65537 does not generate the whole multiplicative
/// group; for the detector's other primes the test holds for every modulus and tells nothing.
const ROCA_PRIMES: [u32; 17] = [
    11, 13, 17, 19, 37, 53, 61, 71, 73, 79, 97, 103, 107, 109, 127, 151, 157,
];

/// Whether an RSA modulus (big-endian) has the ROCA fingerprint (CVE-2017-15361): Infineon RSALib built
/// primes as `k·M + (65537^a mod M)` with `M` a primorial, so `n mod p` lies in the subgroup generated
/// by 65537 modulo every small prime `p`. A random modulus passes all 17 tests with a probability of
/// about 2⁻²⁸; such keys can be factored, so they are refused at load.
fn roca_fingerprint(modulus: &[u8]) -> bool {
    ROCA_PRIMES.iter().all(|&p| {
        let residue = modulus
            .iter()
            .fold(0u32, |r, &byte| (r * 256 + u32::from(byte)) % p);
        let generator = 65_537 % p;
        // Walk the subgroup 1, g, g², … (at most p − 1 steps) looking for the residue.
        let mut power = 1;
        loop {
            if power == residue {
                break true;
            }
            power = power * generator % p;
            if power == 1 {
                break false;
            }
        }
    })
}

fn sec1_uncompressed(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut point = Vec::with_capacity(1 + x.len() + y.len());
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    point
}

fn ec_public(jwk: &Jwk<'_>) -> Result<PublicKey, KeyError> {
    let curve = jwk.curve()?;
    let x = jwk.coordinate("x", curve)?;
    let y = jwk.coordinate("y", curve)?;
    let point = sec1_uncompressed(&x, &y);
    let off_curve = KeyError::PointNotOnCurve { crv: curve.name() };
    Ok(match curve {
        Curve::P256 => PublicKey::P256(
            p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| off_curve)?,
        ),
        Curve::P384 => PublicKey::P384(
            p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| off_curve)?,
        ),
        Curve::P521 => PublicKey::P521(
            p521::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| off_curve)?,
        ),
        Curve::Secp256k1 => PublicKey::K256(
            k256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| off_curve)?,
        ),
    })
}

fn okp_curve(jwk: &Jwk<'_>) -> Result<(), KeyError> {
    match jwk.string("crv")? {
        Some("Ed25519") => Ok(()),
        Some(crv @ ("X25519" | "X448")) => Err(KeyError::NotForSignatures {
            reason: format!("{crv} is a key-agreement curve"),
        }),
        Some(crv) => Err(KeyError::UnsupportedCurve {
            crv: crv.to_owned(),
        }),
        None => Err(KeyError::MissingMember { member: "crv" }),
    }
}

fn ed25519_public(jwk: &Jwk<'_>) -> Result<ed25519_dalek::VerifyingKey, KeyError> {
    okp_curve(jwk)?;
    let x = jwk.bytes("x")?;
    let x: [u8; 32] = x
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::CoordinateLength {
            member: "x",
            expected: 32,
            found: x.len(),
        })?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|_| KeyError::WeakEd25519)?;
    if key.is_weak() {
        return Err(KeyError::WeakEd25519);
    }
    Ok(key)
}

/// A private key: minting tokens (CLI, tests) and signing assertions.
pub(crate) enum PrivateKey {
    Hmac(Zeroizing<Vec<u8>>),
    Rsa(Box<RsaPrivateKey>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    K256(k256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A private JWK with the one algorithm it signs with.
pub struct SigningKey {
    pub(crate) private: PrivateKey,
    pub(crate) alg: Algorithm,
    public: Key,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a private JWK. The algorithm is the key's `alg`, else `alg`, else the natural one for the
    /// key type (HS256, RS256, the curve's ES*, EdDSA).
    pub fn from_json(bytes: &[u8], alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
        let object = json::parse_object(bytes).map_err(KeyError::Json)?;
        let jwk = Jwk(&object);
        jwk.supported_type()?;
        let declared = jwk.usage("sign")?;
        let kid = jwk.string("kid")?.map(str::to_owned);
        let private = match jwk.kty()? {
            "oct" => PrivateKey::Hmac(jwk.secret_bytes("k")?),
            "RSA" => PrivateKey::Rsa(Box::new(rsa_private(&jwk)?)),
            "EC" => ec_private(&jwk)?,
            "OKP" => {
                let public = ed25519_public(&jwk)?;
                let d = private_scalar(&jwk, 32)?;
                let d: [u8; 32] = d.as_slice().try_into().map_err(|_| KeyError::NotPrivate)?;
                let key = ed25519_dalek::SigningKey::from_bytes(&d);
                if key.verifying_key() != public {
                    return Err(KeyError::KeyMismatch);
                }
                PrivateKey::Ed25519(key)
            }
            other => {
                return Err(KeyError::UnsupportedKeyType {
                    kty: other.to_owned(),
                })
            }
        };
        SigningKey::assemble(private, kid, declared, alg)
    }

    fn assemble(
        private: PrivateKey,
        kid: Option<String>,
        declared: Option<Algorithm>,
        requested: Option<Algorithm>,
    ) -> Result<SigningKey, KeyError> {
        let public = private.public();
        let alg = match (declared, requested) {
            (Some(declared), Some(requested)) if declared != requested => {
                return Err(KeyError::AlgMismatch {
                    alg: requested,
                    key: format!("a key whose alg is {declared}"),
                })
            }
            (Some(alg), _) | (None, Some(alg)) => alg,
            (None, None) => {
                public
                    .type_algorithms()
                    .iter()
                    .next()
                    .ok_or(KeyError::HmacTooShort {
                        len: private.hmac_len(),
                        min: 32,
                    })?
            }
        };
        let public = Key::new(kid, public, Some(alg))?;
        Ok(SigningKey {
            private,
            alg,
            public,
        })
    }

    /// Generates a new key for `alg` (RSA: 2048 bits; HMAC: the hash length). The `kid` is the RFC 7638
    /// thumbprint unless one is given.
    pub fn generate(
        alg: Algorithm,
        kid: Option<String>,
        rng: &mut impl rand_core::CryptoRngCore,
    ) -> Result<SigningKey, KeyError> {
        let private = match alg.family() {
            KeyFamily::Oct => {
                let mut k = Zeroizing::new(vec![0u8; alg.hmac_min_key_len().unwrap_or(64)]);
                rng.fill_bytes(&mut k);
                PrivateKey::Hmac(k)
            }
            KeyFamily::Rsa => PrivateKey::Rsa(Box::new(
                RsaPrivateKey::new(rng, RSA_MIN_BITS).map_err(|_| KeyError::RsaInvalid)?,
            )),
            KeyFamily::Ec(Curve::P256) => PrivateKey::P256(p256::ecdsa::SigningKey::random(rng)),
            KeyFamily::Ec(Curve::P384) => PrivateKey::P384(p384::ecdsa::SigningKey::random(rng)),
            KeyFamily::Ec(Curve::P521) => PrivateKey::P521(p521::ecdsa::SigningKey::random(rng)),
            KeyFamily::Ec(Curve::Secp256k1) => {
                PrivateKey::K256(k256::ecdsa::SigningKey::random(rng))
            }
            KeyFamily::Ed25519 => PrivateKey::Ed25519(ed25519_dalek::SigningKey::generate(rng)),
        };
        let mut key = SigningKey::assemble(private, kid, Some(alg), None)?;
        if key.public.kid.is_none() {
            key.public.kid = Some(match &key.public.thumbprint {
                Some(thumbprint) => thumbprint.clone(),
                // HMAC: a random kid, never derived from the secret.
                None => {
                    let mut kid = [0u8; 16];
                    rng.fill_bytes(&mut kid);
                    b64::encode(&kid)
                }
            });
        }
        Ok(key)
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Replaces the `kid` with the RFC 7638 thumbprint (asymmetric keys; an oct key keeps its own `kid`,
    /// since its thumbprint would be a hash of the secret).
    #[must_use]
    pub fn with_thumbprint_kid(mut self) -> SigningKey {
        if let Some(thumbprint) = &self.public.thumbprint {
            self.public.kid = Some(thumbprint.clone());
        }
        self
    }

    pub fn kid(&self) -> Option<&str> {
        self.public.kid()
    }

    /// The verification key matching this signing key.
    pub fn public_key(&self) -> &Key {
        &self.public
    }

    /// The key's secret bytes: `k` of an HMAC key, else the private scalar or exponent `d` (big-endian,
    /// as in the JWK). Only for deriving other keys from it ([`crate::DerivedKey`]).
    pub(crate) fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(match &self.private {
            PrivateKey::Hmac(k) => k.to_vec(),
            PrivateKey::Rsa(k) => {
                use rsa::traits::PrivateKeyParts;
                k.d().to_bytes_be()
            }
            PrivateKey::P256(k) => k.to_bytes().to_vec(),
            PrivateKey::P384(k) => k.to_bytes().to_vec(),
            PrivateKey::P521(k) => k.to_bytes().to_vec(),
            PrivateKey::K256(k) => k.to_bytes().to_vec(),
            PrivateKey::Ed25519(k) => k.as_bytes().to_vec(),
        })
    }

    /// The private JWK (with `kid`, `alg`, `use: sig`).
    pub fn to_private_jwk(&self) -> Map<String, Value> {
        let mut map = self.public.to_jwk();
        let mut put = |name: &str, bytes: &[u8]| {
            map.insert(name.to_owned(), Value::String(b64::encode(bytes)));
        };
        match &self.private {
            PrivateKey::Hmac(_) => {}
            PrivateKey::Rsa(k) => {
                use rsa::traits::PrivateKeyParts;
                put("d", &k.d().to_bytes_be());
                if let [p, q] = k.primes() {
                    put("p", &p.to_bytes_be());
                    put("q", &q.to_bytes_be());
                }
                if let (Some(dp), Some(dq)) = (k.dp(), k.dq()) {
                    put("dp", &dp.to_bytes_be());
                    put("dq", &dq.to_bytes_be());
                }
                if let Some(qi) = k.crt_coefficient() {
                    put("qi", &qi.to_bytes_be());
                }
            }
            PrivateKey::P256(k) => put("d", &k.to_bytes()),
            PrivateKey::P384(k) => put("d", &k.to_bytes()),
            PrivateKey::P521(k) => put("d", &k.to_bytes()),
            PrivateKey::K256(k) => put("d", &k.to_bytes()),
            PrivateKey::Ed25519(k) => put("d", k.as_bytes()),
        }
        map
    }
}

impl PrivateKey {
    fn public(&self) -> PublicKey {
        match self {
            PrivateKey::Hmac(k) => PublicKey::Hmac(k.clone()),
            PrivateKey::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            PrivateKey::P256(k) => PublicKey::P256(*k.verifying_key()),
            PrivateKey::P384(k) => PublicKey::P384(*k.verifying_key()),
            PrivateKey::P521(k) => PublicKey::P521(p521::ecdsa::VerifyingKey::from(k)),
            PrivateKey::K256(k) => PublicKey::K256(*k.verifying_key()),
            PrivateKey::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
        }
    }

    fn hmac_len(&self) -> usize {
        match self {
            PrivateKey::Hmac(k) => k.len(),
            _ => 0,
        }
    }
}

fn private_scalar(jwk: &Jwk<'_>, len: usize) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if !jwk.0.contains_key("d") {
        return Err(KeyError::NotPrivate);
    }
    let d = jwk.secret_bytes("d")?;
    if d.len() != len {
        return Err(KeyError::CoordinateLength {
            member: "d",
            expected: len,
            found: d.len(),
        });
    }
    Ok(d)
}

fn rsa_private(jwk: &Jwk<'_>) -> Result<RsaPrivateKey, KeyError> {
    if jwk.0.contains_key("oth") {
        return Err(KeyError::MultiPrimeRsa);
    }
    let public = rsa_public(jwk)?;
    if !jwk.0.contains_key("d") {
        return Err(KeyError::NotPrivate);
    }
    let big = |member| jwk.secret_bytes(member).map(|b| BigUint::from_bytes_be(&b));
    let key = RsaPrivateKey::from_components(
        public.n().clone(),
        public.e().clone(),
        big("d")?,
        vec![big("p")?, big("q")?],
    )
    .map_err(|_| KeyError::KeyMismatch)?;
    key.validate().map_err(|_| KeyError::KeyMismatch)?;
    Ok(key)
}

fn ec_private(jwk: &Jwk<'_>) -> Result<PrivateKey, KeyError> {
    let curve = jwk.curve()?;
    let x = jwk.coordinate("x", curve)?;
    let y = jwk.coordinate("y", curve)?;
    let d = private_scalar(jwk, curve.coordinate_len())?;
    let point = sec1_uncompressed(&x, &y);
    let bad_d = || KeyError::KeyMismatch;
    let matches = |derived: &[u8]| {
        if derived == point.as_slice() {
            Ok(())
        } else {
            Err(KeyError::KeyMismatch)
        }
    };
    Ok(match curve {
        Curve::P256 => {
            let k = p256::ecdsa::SigningKey::from_slice(&d).map_err(|_| bad_d())?;
            matches(k.verifying_key().to_encoded_point(false).as_bytes())?;
            PrivateKey::P256(k)
        }
        Curve::P384 => {
            let k = p384::ecdsa::SigningKey::from_slice(&d).map_err(|_| bad_d())?;
            matches(k.verifying_key().to_encoded_point(false).as_bytes())?;
            PrivateKey::P384(k)
        }
        Curve::P521 => {
            let k = p521::ecdsa::SigningKey::from_slice(&d).map_err(|_| bad_d())?;
            matches(
                p521::ecdsa::VerifyingKey::from(&k)
                    .to_encoded_point(false)
                    .as_bytes(),
            )?;
            PrivateKey::P521(k)
        }
        Curve::Secp256k1 => {
            let k = k256::ecdsa::SigningKey::from_slice(&d).map_err(|_| bad_d())?;
            matches(k.verifying_key().to_encoded_point(false).as_bytes())?;
            PrivateKey::K256(k)
        }
    })
}
