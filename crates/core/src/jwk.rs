//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037): strict parsing into verification [`Key`]s and
//! [`SigningKey`]s. Weak or malformed keys are refused here, at load time, never at request time.

use core::fmt;

#[cfg(feature = "rsa")]
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::alg::{is_encryption_alg, AlgSet, Algorithm, Curve, KeyFamily};
use crate::b64;
use crate::curve;
use crate::error::KeyError;
use crate::json;

/// Smallest RSA modulus accepted (RFC 7518 §3.3, §3.5).
pub const RSA_MIN_BITS: usize = 2048;
/// Largest RSA modulus accepted: bigger keys only cost CPU time.
pub const RSA_MAX_BITS: usize = 8192;

/// A public (or, for HMAC, secret) verification key.
pub(crate) enum PublicKey {
    Hmac(Zeroizing<Vec<u8>>),
    Rsa(RsaPublic),
    P256(EcPublic<P256Backend>),
    P384(EcPublic<P384Backend>),
    P521(EcPublic<P521Backend>),
    K256(k256::ecdsa::VerifyingKey),
    Ed25519(EdPublic),
}

/// Stands in for a backend's key type in a build without that backend (feature `rsa`, `p384` or
/// `p521` off: the Worker and the JS package, which use WebCrypto for these algorithms). The key is
/// still validated as strictly at load; only the Rust signature code is left out.
#[cfg(any(
    not(feature = "p256"),
    not(feature = "p384"),
    not(feature = "p521"),
    not(feature = "ed25519")
))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoBackend;

#[cfg(feature = "p256")]
pub(crate) type P256Backend = p256::ecdsa::VerifyingKey;
#[cfg(not(feature = "p256"))]
pub(crate) type P256Backend = NoBackend;
#[cfg(feature = "ed25519")]
pub(crate) type Ed25519Backend = ed25519_dalek::VerifyingKey;
#[cfg(not(feature = "ed25519"))]
pub(crate) type Ed25519Backend = NoBackend;

#[cfg(feature = "p384")]
pub(crate) type P384Backend = p384::ecdsa::VerifyingKey;
#[cfg(not(feature = "p384"))]
pub(crate) type P384Backend = NoBackend;
#[cfg(feature = "p521")]
pub(crate) type P521Backend = p521::ecdsa::VerifyingKey;
#[cfg(not(feature = "p521"))]
pub(crate) type P521Backend = NoBackend;

/// An RSA public key: `n` and `e` big-endian without leading zeros (their RFC 7638 form), and the
/// `rsa` crate's key when the build has that backend.
#[derive(Clone)]
pub(crate) struct RsaPublic {
    n: Vec<u8>,
    e: Vec<u8>,
    #[cfg(feature = "rsa")]
    pub(crate) rust: RsaPublicKey,
}

impl RsaPublic {
    fn bits(&self) -> usize {
        bit_len(&self.n)
    }

    /// The modulus length in bytes (= the signature length).
    fn size(&self) -> usize {
        self.n.len()
    }
}

/// A P-384 or P-521 public key: its SEC1 uncompressed point (checked on the curve by
/// [`curve::on_weierstrass_curve`]) and the curve crate's key when the build has that backend.
#[derive(Clone)]
pub(crate) struct EcPublic<K> {
    point: Vec<u8>,
    // Only the signature backends read it; a build without `p256`, `p384` and `p521` has none.
    #[cfg_attr(
        not(any(feature = "p256", feature = "p384", feature = "p521")),
        allow(dead_code)
    )]
    pub(crate) rust: K,
}

/// An Ed25519 public key: its 32-byte encoding (checked by [`curve::ed25519_public_ok`]) and
/// `ed25519-dalek`'s key when the build has that backend.
#[derive(Clone)]
pub(crate) struct EdPublic {
    x: [u8; 32],
    // Only the signature backend reads it.
    #[cfg_attr(not(feature = "ed25519"), allow(dead_code))]
    pub(crate) rust: Ed25519Backend,
}

/// The number of significant bits of a big-endian number without leading zero bytes.
fn bit_len(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(first) => bytes.len() * 8 - first.leading_zeros() as usize,
    }
}

/// A big-endian number without its leading zero bytes.
fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

impl PublicKey {
    fn describe(&self) -> String {
        match self {
            PublicKey::Hmac(k) => format!("an oct key of {} bytes", k.len()),
            PublicKey::Rsa(k) => format!("an RSA key of {} bits", k.bits()),
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
                ("e", b64::encode(&k.e)),
                ("kty", "RSA".to_owned()),
                ("n", b64::encode(&k.n)),
            ],
            PublicKey::P256(k) => ec(Curve::P256, &k.point),
            PublicKey::P384(k) => ec(Curve::P384, &k.point),
            PublicKey::P521(k) => ec(Curve::P521, &k.point),
            PublicKey::K256(k) => ec(Curve::Secp256k1, k.to_encoded_point(false).as_bytes()),
            PublicKey::Ed25519(k) => vec![
                ("crv", "Ed25519".to_owned()),
                ("kty", "OKP".to_owned()),
                ("x", b64::encode(&k.x)),
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

fn rsa_public(jwk: &Jwk<'_>) -> Result<RsaPublic, KeyError> {
    let n = strip_zeros(jwk.bytes("n")?);
    let e = strip_zeros(jwk.bytes("e")?);
    let bits = bit_len(&n);
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
    let odd = |v: &[u8]| v.last().is_some_and(|b| b & 1 == 1);
    // Odd, at least 3, at most 32 bits (what the `rsa` crate and WebCrypto implementations accept).
    if !odd(&e) || matches!(e.as_slice(), [0..=2]) || bit_len(&e) > 32 {
        return Err(KeyError::RsaBadExponent);
    }
    if !odd(&n) {
        return Err(KeyError::RsaInvalid);
    }
    if roca_fingerprint(&n) {
        return Err(KeyError::RsaRoca);
    }
    #[cfg(feature = "rsa")]
    let rust = RsaPublicKey::new_with_max_size(
        BigUint::from_bytes_be(&n),
        BigUint::from_bytes_be(&e),
        RSA_MAX_BITS,
    )
    .map_err(|_| KeyError::RsaInvalid)?;
    Ok(RsaPublic {
        n,
        e,
        #[cfg(feature = "rsa")]
        rust,
    })
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
    // P-384 and P-521 are checked here in every build; with their backend, the crate checks again.
    if curve::on_weierstrass_curve(curve, &x, &y) == Some(false) {
        return Err(off_curve);
    }
    Ok(match curve {
        Curve::P256 => PublicKey::P256(EcPublic {
            #[cfg(feature = "p256")]
            rust: p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| off_curve)?,
            #[cfg(not(feature = "p256"))]
            rust: NoBackend,
            point,
        }),
        Curve::P384 => PublicKey::P384(EcPublic {
            #[cfg(feature = "p384")]
            rust: p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| off_curve)?,
            #[cfg(not(feature = "p384"))]
            rust: NoBackend,
            point,
        }),
        Curve::P521 => PublicKey::P521(EcPublic {
            #[cfg(feature = "p521")]
            rust: p521::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| off_curve)?,
            #[cfg(not(feature = "p521"))]
            rust: NoBackend,
            point,
        }),
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

fn ed25519_public(jwk: &Jwk<'_>) -> Result<EdPublic, KeyError> {
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
    // Checked here in every build; with the backend, `ed25519-dalek` checks again.
    if !curve::ed25519_public_ok(&x) {
        return Err(KeyError::WeakEd25519);
    }
    #[cfg(feature = "ed25519")]
    let rust = {
        let key = ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|_| KeyError::WeakEd25519)?;
        if key.is_weak() {
            return Err(KeyError::WeakEd25519);
        }
        key
    };
    #[cfg(not(feature = "ed25519"))]
    let rust = NoBackend;
    Ok(EdPublic { x, rust })
}

/// A private key: minting tokens (CLI, tests) and signing assertions.
#[allow(
    clippy::large_enum_variant,
    reason = "which variant is largest depends on the backends built (with `ed25519` but not `p384`/`p521`, \
              as edge-auth-origin builds the core, Ed25519's is far the largest); a key is made once at \
              load time and lives behind its `SigningKey`, so its size costs nothing per request"
)]
pub(crate) enum PrivateKey {
    Hmac(Zeroizing<Vec<u8>>),
    Rsa(Box<RsaPrivate>),
    P256(EcPrivate<P256Signer>),
    P384(EcPrivate<P384Signer>),
    P521(EcPrivate<P521Signer>),
    K256(k256::ecdsa::SigningKey),
    Ed25519(EdPrivate),
}

#[cfg(feature = "p256")]
pub(crate) type P256Signer = p256::ecdsa::SigningKey;
#[cfg(not(feature = "p256"))]
pub(crate) type P256Signer = NoBackend;
#[cfg(feature = "ed25519")]
pub(crate) type Ed25519Signer = ed25519_dalek::SigningKey;
#[cfg(not(feature = "ed25519"))]
pub(crate) type Ed25519Signer = NoBackend;

/// An Ed25519 private key: the 32-byte seed `d`, the public key, and `ed25519-dalek`'s key when the
/// build has that backend.
pub(crate) struct EdPrivate {
    d: Zeroizing<Vec<u8>>,
    public: EdPublic,
    #[cfg_attr(not(feature = "ed25519"), allow(dead_code))]
    pub(crate) rust: Ed25519Signer,
}

#[cfg(feature = "p384")]
pub(crate) type P384Signer = p384::ecdsa::SigningKey;
#[cfg(not(feature = "p384"))]
pub(crate) type P384Signer = NoBackend;
#[cfg(feature = "p521")]
pub(crate) type P521Signer = p521::ecdsa::SigningKey;
#[cfg(not(feature = "p521"))]
pub(crate) type P521Signer = NoBackend;

/// An RSA private key: its public part and the private members, big-endian without leading zeros
/// (`d`, `p`, `q`, `dp`, `dq`, `qi`), and the `rsa` crate's key when the build has that backend.
pub(crate) struct RsaPrivate {
    public: RsaPublic,
    members: Vec<(&'static str, Zeroizing<Vec<u8>>)>,
    #[cfg(feature = "rsa")]
    pub(crate) rust: RsaPrivateKey,
}

impl RsaPrivate {
    fn member(&self, name: &str) -> &[u8] {
        self.members
            .iter()
            .find(|(member, _)| *member == name)
            .map(|(_, value)| value.as_slice())
            .unwrap_or_default()
    }
}

/// A P-384 or P-521 private key: `d` (fixed length), the public point, and the curve crate's key when
/// the build has that backend.
pub(crate) struct EcPrivate<K> {
    d: Zeroizing<Vec<u8>>,
    point: Vec<u8>,
    // Only the signature backends read it; a build without `p256`, `p384` and `p521` has none.
    #[cfg_attr(
        not(any(feature = "p256", feature = "p384", feature = "p521")),
        allow(dead_code)
    )]
    pub(crate) rust: K,
}

/// The RSA private members a JWK carries (RFC 7518 §6.3.2), in JWK order.
#[cfg(not(feature = "rsa"))]
const RSA_PRIVATE_MEMBERS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

/// A private JWK with the one algorithm it signs with.
pub struct SigningKey {
    pub(crate) private: PrivateKey,
    pub(crate) alg: Algorithm,
    public: Key,
    pairing: Pairing,
}

/// Whether the private part of a [`SigningKey`] is known to match its public part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pairing {
    /// Checked at load (every key a build with the algorithm's Rust backend loads or generates).
    Checked,
    /// Not checkable without the algorithm's backend (RSA, P-384, P-521 in the Worker's and the JS
    /// package's builds): whoever signs with it must check its first signature against the public key
    /// (the WebCrypto backend does) and refuse the key if it does not verify.
    Unchecked,
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
            "OKP" => PrivateKey::Ed25519(ed25519_private(&jwk)?),
            other => {
                return Err(KeyError::UnsupportedKeyType {
                    kty: other.to_owned(),
                })
            }
        };
        let pairing = private.pairing();
        let mut key = SigningKey::assemble(private, kid, declared, alg)?;
        key.pairing = pairing;
        Ok(key)
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
            pairing: Pairing::Checked,
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
            KeyFamily::Rsa => PrivateKey::Rsa(Box::new(generate_rsa(alg, rng)?)),
            KeyFamily::Ec(Curve::P256) => PrivateKey::P256(generate_p256(alg, rng)?),
            KeyFamily::Ec(Curve::P384) => PrivateKey::P384(generate_p384(alg, rng)?),
            KeyFamily::Ec(Curve::P521) => PrivateKey::P521(generate_p521(alg, rng)?),
            KeyFamily::Ec(Curve::Secp256k1) => {
                PrivateKey::K256(k256::ecdsa::SigningKey::random(rng))
            }
            KeyFamily::Ed25519 => PrivateKey::Ed25519(generate_ed25519(alg, rng)?),
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

    /// Whether the private part is known to match the public part (see [`Pairing`]).
    pub fn pairing(&self) -> Pairing {
        self.pairing
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
            PrivateKey::Rsa(k) => k.member("d").to_vec(),
            PrivateKey::P256(k) => k.d.to_vec(),
            PrivateKey::P384(k) => k.d.to_vec(),
            PrivateKey::P521(k) => k.d.to_vec(),
            PrivateKey::K256(k) => k.to_bytes().to_vec(),
            PrivateKey::Ed25519(k) => k.d.to_vec(),
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
                for (name, value) in &k.members {
                    put(name, value);
                }
            }
            PrivateKey::P256(k) => put("d", &k.d),
            PrivateKey::P384(k) => put("d", &k.d),
            PrivateKey::P521(k) => put("d", &k.d),
            PrivateKey::K256(k) => put("d", &k.to_bytes()),
            PrivateKey::Ed25519(k) => put("d", &k.d),
        }
        map
    }
}

impl PrivateKey {
    fn public(&self) -> PublicKey {
        match self {
            PrivateKey::Hmac(k) => PublicKey::Hmac(k.clone()),
            PrivateKey::Rsa(k) => PublicKey::Rsa(k.public.clone()),
            PrivateKey::P256(k) => PublicKey::P256(EcPublic {
                point: k.point.clone(),
                #[cfg(feature = "p256")]
                rust: *k.rust.verifying_key(),
                #[cfg(not(feature = "p256"))]
                rust: NoBackend,
            }),
            PrivateKey::P384(k) => PublicKey::P384(EcPublic {
                point: k.point.clone(),
                #[cfg(feature = "p384")]
                rust: *k.rust.verifying_key(),
                #[cfg(not(feature = "p384"))]
                rust: NoBackend,
            }),
            PrivateKey::P521(k) => PublicKey::P521(EcPublic {
                point: k.point.clone(),
                #[cfg(feature = "p521")]
                rust: p521::ecdsa::VerifyingKey::from(&k.rust),
                #[cfg(not(feature = "p521"))]
                rust: NoBackend,
            }),
            PrivateKey::K256(k) => PublicKey::K256(*k.verifying_key()),
            PrivateKey::Ed25519(k) => PublicKey::Ed25519(k.public.clone()),
        }
    }

    /// Whether loading checked that the private part matches the public part.
    fn pairing(&self) -> Pairing {
        match self {
            PrivateKey::Hmac(_) | PrivateKey::K256(_) => Pairing::Checked,
            PrivateKey::Rsa(_) if cfg!(feature = "rsa") => Pairing::Checked,
            PrivateKey::P256(_) if cfg!(feature = "p256") => Pairing::Checked,
            PrivateKey::P384(_) if cfg!(feature = "p384") => Pairing::Checked,
            PrivateKey::P521(_) if cfg!(feature = "p521") => Pairing::Checked,
            PrivateKey::Ed25519(_) if cfg!(feature = "ed25519") => Pairing::Checked,
            PrivateKey::Rsa(_)
            | PrivateKey::P256(_)
            | PrivateKey::P384(_)
            | PrivateKey::P521(_)
            | PrivateKey::Ed25519(_) => Pairing::Unchecked,
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

fn rsa_private(jwk: &Jwk<'_>) -> Result<RsaPrivate, KeyError> {
    if jwk.0.contains_key("oth") {
        return Err(KeyError::MultiPrimeRsa);
    }
    let public = rsa_public(jwk)?;
    if !jwk.0.contains_key("d") {
        return Err(KeyError::NotPrivate);
    }
    rsa_private_members(jwk, public)
}

/// With the `rsa` backend: the key is rebuilt from `n`, `e`, `d`, `p`, `q` and validated (`d` inverts
/// `e`, `p·q = n`), and the CRT members are the ones it computes.
#[cfg(feature = "rsa")]
fn rsa_private_members(jwk: &Jwk<'_>, public: RsaPublic) -> Result<RsaPrivate, KeyError> {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    let big = |member| jwk.secret_bytes(member).map(|b| BigUint::from_bytes_be(&b));
    let mut key = RsaPrivateKey::from_components(
        public.rust.n().clone(),
        public.rust.e().clone(),
        big("d")?,
        vec![big("p")?, big("q")?],
    )
    .map_err(|_| KeyError::KeyMismatch)?;
    key.validate().map_err(|_| KeyError::KeyMismatch)?;
    key.precompute().map_err(|_| KeyError::KeyMismatch)?;
    let bytes =
        |v: Option<&BigUint>| Zeroizing::new(v.map(BigUint::to_bytes_be).unwrap_or_default());
    let members = vec![
        ("d", bytes(Some(key.d()))),
        ("p", bytes(key.primes().first())),
        ("q", bytes(key.primes().get(1))),
        ("dp", bytes(key.dp())),
        ("dq", bytes(key.dq())),
        (
            "qi",
            Zeroizing::new(
                key.crt_coefficient()
                    .map(|qi| qi.to_bytes_be())
                    .unwrap_or_default(),
            ),
        ),
    ];
    Ok(RsaPrivate {
        public,
        members,
        rust: key,
    })
}

/// Without the `rsa` backend: every private member must be present (WebCrypto imports nothing less),
/// and whether they match the public part is left to the signer's first signature ([`Pairing`]).
#[cfg(not(feature = "rsa"))]
fn rsa_private_members(jwk: &Jwk<'_>, public: RsaPublic) -> Result<RsaPrivate, KeyError> {
    let mut members = Vec::with_capacity(RSA_PRIVATE_MEMBERS.len());
    for name in RSA_PRIVATE_MEMBERS {
        let value = Zeroizing::new(strip_zeros(jwk.secret_bytes(name)?.to_vec()));
        if value.is_empty() {
            return Err(KeyError::KeyMismatch);
        }
        members.push((name, value));
    }
    Ok(RsaPrivate { public, members })
}

#[cfg(feature = "rsa")]
fn generate_rsa(
    _alg: Algorithm,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<RsaPrivate, KeyError> {
    use rsa::traits::PublicKeyParts;
    let key = RsaPrivateKey::new(rng, RSA_MIN_BITS).map_err(|_| KeyError::RsaInvalid)?;
    let mut object = Map::new();
    let mut put = |name: &str, value: &BigUint| {
        object.insert(
            name.to_owned(),
            Value::String(b64::encode(&value.to_bytes_be())),
        );
    };
    put("n", key.n());
    put("e", key.e());
    {
        use rsa::traits::PrivateKeyParts;
        put("d", key.d());
        if let [p, q] = key.primes() {
            put("p", p);
            put("q", q);
        }
    }
    let jwk = Jwk(&object);
    rsa_private_members(&jwk, rsa_public(&jwk)?)
}

#[cfg(not(feature = "rsa"))]
fn generate_rsa(
    alg: Algorithm,
    _rng: &mut impl rand_core::CryptoRngCore,
) -> Result<RsaPrivate, KeyError> {
    Err(KeyError::NoBackend { alg })
}

#[cfg(feature = "p384")]
fn generate_p384(
    _alg: Algorithm,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<EcPrivate<P384Signer>, KeyError> {
    let rust = p384::ecdsa::SigningKey::random(rng);
    Ok(EcPrivate {
        d: Zeroizing::new(rust.to_bytes().to_vec()),
        point: rust
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        rust,
    })
}

#[cfg(not(feature = "p384"))]
fn generate_p384(
    alg: Algorithm,
    _rng: &mut impl rand_core::CryptoRngCore,
) -> Result<EcPrivate<P384Signer>, KeyError> {
    Err(KeyError::NoBackend { alg })
}

#[cfg(feature = "p521")]
fn generate_p521(
    _alg: Algorithm,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<EcPrivate<P521Signer>, KeyError> {
    let rust = p521::ecdsa::SigningKey::random(rng);
    let point = p521::ecdsa::VerifyingKey::from(&rust)
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    Ok(EcPrivate {
        d: Zeroizing::new(rust.to_bytes().to_vec()),
        point,
        rust,
    })
}

#[cfg(not(feature = "p521"))]
fn generate_p521(
    alg: Algorithm,
    _rng: &mut impl rand_core::CryptoRngCore,
) -> Result<EcPrivate<P521Signer>, KeyError> {
    Err(KeyError::NoBackend { alg })
}

#[cfg(feature = "p256")]
fn generate_p256(
    _alg: Algorithm,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<EcPrivate<P256Signer>, KeyError> {
    let rust = p256::ecdsa::SigningKey::random(rng);
    Ok(EcPrivate {
        d: Zeroizing::new(rust.to_bytes().to_vec()),
        point: rust
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        rust,
    })
}

#[cfg(not(feature = "p256"))]
fn generate_p256(
    alg: Algorithm,
    _rng: &mut impl rand_core::CryptoRngCore,
) -> Result<EcPrivate<P256Signer>, KeyError> {
    Err(KeyError::NoBackend { alg })
}

#[cfg(feature = "ed25519")]
fn generate_ed25519(
    _alg: Algorithm,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<EdPrivate, KeyError> {
    let rust = ed25519_dalek::SigningKey::generate(rng);
    let public = rust.verifying_key();
    Ok(EdPrivate {
        d: Zeroizing::new(rust.as_bytes().to_vec()),
        public: EdPublic {
            x: public.to_bytes(),
            rust: public,
        },
        rust,
    })
}

#[cfg(not(feature = "ed25519"))]
fn generate_ed25519(
    alg: Algorithm,
    _rng: &mut impl rand_core::CryptoRngCore,
) -> Result<EdPrivate, KeyError> {
    Err(KeyError::NoBackend { alg })
}

/// An Ed25519 private JWK: `x` checked as a public key, `d` a 32-byte seed; with the backend, the
/// public key derived from `d` must be `x` (without it the signer checks: [`Pairing::Unchecked`]).
fn ed25519_private(jwk: &Jwk<'_>) -> Result<EdPrivate, KeyError> {
    let public = ed25519_public(jwk)?;
    let d = private_scalar(jwk, 32)?;
    #[cfg(feature = "ed25519")]
    let rust = {
        let seed: [u8; 32] = d.as_slice().try_into().map_err(|_| KeyError::NotPrivate)?;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        if key.verifying_key() != public.rust {
            return Err(KeyError::KeyMismatch);
        }
        key
    };
    #[cfg(not(feature = "ed25519"))]
    let rust = NoBackend;
    Ok(EdPrivate { d, public, rust })
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
    // The public part first, as for a public key (so an off-curve point is named as such, whatever the
    // curve). Without their backend, P-384 and P-521 keys are then checked as far as public arithmetic
    // goes, `d` in [1, n − 1]; the signer checks the pairing ([`Pairing::Unchecked`]).
    ec_public(jwk)?;
    if curve::scalar_in_range(curve, &d) == Some(false) {
        return Err(bad_d());
    }
    Ok(match curve {
        Curve::P256 => {
            #[cfg(feature = "p256")]
            let rust = {
                let k = p256::ecdsa::SigningKey::from_slice(&d).map_err(|_| bad_d())?;
                matches(k.verifying_key().to_encoded_point(false).as_bytes())?;
                k
            };
            #[cfg(not(feature = "p256"))]
            let rust = NoBackend;
            PrivateKey::P256(EcPrivate { d, point, rust })
        }
        Curve::P384 => {
            #[cfg(feature = "p384")]
            let rust = {
                let k = p384::ecdsa::SigningKey::from_slice(&d).map_err(|_| bad_d())?;
                matches(k.verifying_key().to_encoded_point(false).as_bytes())?;
                k
            };
            #[cfg(not(feature = "p384"))]
            let rust = NoBackend;
            PrivateKey::P384(EcPrivate { d, point, rust })
        }
        Curve::P521 => {
            #[cfg(feature = "p521")]
            let rust = {
                let k = p521::ecdsa::SigningKey::from_slice(&d).map_err(|_| bad_d())?;
                matches(
                    p521::ecdsa::VerifyingKey::from(&k)
                        .to_encoded_point(false)
                        .as_bytes(),
                )?;
                k
            };
            #[cfg(not(feature = "p521"))]
            let rust = NoBackend;
            PrivateKey::P521(EcPrivate { d, point, rust })
        }
        Curve::Secp256k1 => {
            let k = k256::ecdsa::SigningKey::from_slice(&d).map_err(|_| bad_d())?;
            matches(k.verifying_key().to_encoded_point(false).as_bytes())?;
            PrivateKey::K256(k)
        }
    })
}
