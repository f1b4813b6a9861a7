//! Signing: a [`SigningKey`]'s signatures in Rust (jwt-compact's algorithms, plus ES384/ES512 from
//! [`crate::backend`]), and minting compact JWS tokens (the CLI, tests, the signed assertion).

#[cfg(feature = "ed25519")]
use jwt_compact::alg::Ed25519;
#[cfg(feature = "p256")]
use jwt_compact::alg::Es256;
#[cfg(feature = "rsa")]
use jwt_compact::alg::Rsa;
use jwt_compact::alg::{Es256k, Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key};
use jwt_compact::{Algorithm as JwtAlgorithm, AlgorithmSignature};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::alg::Algorithm;
use crate::b64;
#[cfg(feature = "p384")]
use crate::backend::Es384;
#[cfg(feature = "p521")]
use crate::backend::Es512;
use crate::jwk::{PrivateKey, SigningKey};

impl SigningKey {
    /// The signature of an HMAC key (HS256, HS384, HS512); `None` for any other key. What the Worker
    /// and the JS package sign assertions with in Rust (their other keys sign through WebCrypto): the
    /// rest of [`sign`](Self::sign), ES256K's RFC 6979 nonces above all, then stays out of their builds.
    pub fn sign_hmac(&self, signing_input: &[u8]) -> Option<Vec<u8>> {
        let PrivateKey::Hmac(k) = &self.private else {
            return None;
        };
        let (k, msg) = (k.as_slice(), signing_input);
        match self.alg {
            Algorithm::Hs256 => Some(bytes(Hs256, &Hs256Key::new(k), msg)),
            Algorithm::Hs384 => Some(bytes(Hs384, &Hs384Key::new(k), msg)),
            Algorithm::Hs512 => Some(bytes(Hs512, &Hs512Key::new(k), msg)),
            _ => None,
        }
    }

    /// Signs `signing_input` with this key's algorithm and returns the raw JWS signature bytes. In a
    /// build without the key's backend (`rsa`, `p256`, `p384`, `p521`, `ed25519`) the signature is empty: it never
    /// verifies, and such builds sign those algorithms through WebCrypto.
    pub fn sign(&self, signing_input: &[u8]) -> Vec<u8> {
        // `assemble` pairs every key with an algorithm of its own family, so `sign` always has a match;
        // the empty fallback could never verify anyway.
        sign(self, signing_input).unwrap_or_default()
    }
}

/// One jwt-compact algorithm's raw signature.
fn bytes<A: JwtAlgorithm>(alg: A, key: &A::SigningKey, msg: &[u8]) -> Vec<u8> {
    alg.sign(key, msg).as_bytes().into_owned()
}

/// Signs `signing_input` with `key` (its one algorithm).
fn sign(key: &SigningKey, signing_input: &[u8]) -> Option<Vec<u8>> {
    if let PrivateKey::Hmac(_) = key.private {
        return key.sign_hmac(signing_input);
    }
    let msg = signing_input;
    Some(match (key.alg, &key.private) {
        #[cfg(feature = "rsa")]
        (Algorithm::Rs256, PrivateKey::Rsa(k)) => bytes(Rsa::rs256(), &k.rust, msg),
        #[cfg(feature = "rsa")]
        (Algorithm::Rs384, PrivateKey::Rsa(k)) => bytes(Rsa::rs384(), &k.rust, msg),
        #[cfg(feature = "rsa")]
        (Algorithm::Rs512, PrivateKey::Rsa(k)) => bytes(Rsa::rs512(), &k.rust, msg),
        #[cfg(feature = "rsa")]
        (Algorithm::Ps256, PrivateKey::Rsa(k)) => bytes(Rsa::ps256(), &k.rust, msg),
        #[cfg(feature = "rsa")]
        (Algorithm::Ps384, PrivateKey::Rsa(k)) => bytes(Rsa::ps384(), &k.rust, msg),
        #[cfg(feature = "rsa")]
        (Algorithm::Ps512, PrivateKey::Rsa(k)) => bytes(Rsa::ps512(), &k.rust, msg),
        #[cfg(feature = "p256")]
        (Algorithm::Es256, PrivateKey::P256(k)) => bytes(Es256, &k.rust, msg),
        #[cfg(feature = "p384")]
        (Algorithm::Es384, PrivateKey::P384(k)) => bytes(Es384, &k.rust, msg),
        #[cfg(feature = "p521")]
        (Algorithm::Es512, PrivateKey::P521(k)) => bytes(Es512, &k.rust, msg),
        (Algorithm::Es256k, PrivateKey::K256(k)) => bytes(Es256k::<Sha256>::default(), k, msg),
        #[cfg(feature = "ed25519")]
        (Algorithm::EdDsa, PrivateKey::Ed25519(k)) => bytes(Ed25519, &k.rust, msg),
        // `SigningKey::assemble` only pairs an algorithm with a key of its family; a build without the
        // `rsa`, `p256`, `p384`, `p521` or `ed25519` backend signs those algorithms through WebCrypto.
        _ => return None,
    })
}

/// Header options for [`mint`].
#[derive(Debug, Clone, Default)]
pub struct MintOptions<'a> {
    /// `kid`; defaults to the key's own `kid`.
    pub kid: Option<&'a str>,
    pub typ: Option<&'a str>,
}

/// Signs `claims` (any JSON object) into a compact JWS with `{alg, typ?, kid?}`.
pub fn mint(key: &SigningKey, claims: &Map<String, Value>, options: &MintOptions<'_>) -> String {
    let input = signing_input(key, claims, options);
    let signature = key.sign(input.as_bytes());
    attach_signature(input, &signature)
}

/// `BASE64URL(header) '.' BASE64URL(claims)` for `key`: what an external signer (WebCrypto in the Worker)
/// signs. [`attach_signature`] completes the token.
pub fn signing_input(
    key: &SigningKey,
    claims: &Map<String, Value>,
    options: &MintOptions<'_>,
) -> String {
    let mut header = Map::new();
    header.insert("alg".into(), Value::String(key.algorithm().name().into()));
    if let Some(typ) = options.typ {
        header.insert("typ".into(), Value::String(typ.into()));
    }
    if let Some(kid) = options.kid.or(key.kid()) {
        header.insert("kid".into(), Value::String(kid.into()));
    }
    let encode_json = |map: &Map<String, Value>| {
        // A `Map` of `Value`s always serialises.
        b64::encode(Value::Object(map.clone()).to_string().as_bytes())
    };
    format!("{}.{}", encode_json(&header), encode_json(claims))
}

/// Appends the JWS signature (raw bytes: R‖S for ECDSA) to a signing input.
pub fn attach_signature(mut signing_input: String, signature: &[u8]) -> String {
    signing_input.push('.');
    signing_input.push_str(&b64::encode_public(signature));
    signing_input
}
