//! The signature check, behind a small interface.
//!
//! Parsing, key selection and claims never do cryptography themselves: they hand a [`SignatureCheck`]
//! (algorithm, key, signing input, signature) to a [`SignatureBackend`]. [`RustCrypto`] is the native
//! backend (jwt-compact's algorithms, plus ES384/ES512 added through its `Algorithm` trait); RSA,
//! ES256, ES384, ES512 and EdDSA are behind the `rsa`, `p256`, `p384`, `p521` and `ed25519` features (on
//! by default; the Worker and the JS package leave them out and check those algorithms through
//! WebCrypto). HS* and ES256K are always here. An adapter
//! that must verify asynchronously (WebCrypto in the Worker) takes the checks from
//! [`Pending::checks`](crate::Pending::checks) and runs them itself; the core never awaits.

#[cfg(feature = "ed25519")]
use jwt_compact::alg::Ed25519;
#[cfg(feature = "p256")]
use jwt_compact::alg::Es256;
#[cfg(feature = "rsa")]
use jwt_compact::alg::Rsa;
use jwt_compact::alg::{Es256k, Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key};
use jwt_compact::{Algorithm as JwtAlgorithm, AlgorithmSignature};
use sha2::Sha256;

use crate::alg::Algorithm;
use crate::error::SignatureError;
use crate::jwk::{Key, PublicKey};

/// One signature to check: what a backend receives.
#[derive(Debug, Clone, Copy)]
pub struct SignatureCheck<'a> {
    pub alg: Algorithm,
    pub key: &'a Key,
    /// `BASE64URL(header) '.' BASE64URL(payload)`.
    pub signing_input: &'a [u8],
    pub signature: &'a [u8],
}

impl SignatureCheck<'_> {
    /// The exact signature length `alg` with this key produces.
    pub fn expected_len(&self) -> Option<usize> {
        self.alg
            .fixed_signature_len()
            .or_else(|| self.key.rsa_len())
    }
}

/// Verifies signatures. Implementations must be constant-time where secrets are involved (HMAC).
pub trait SignatureBackend {
    fn verify(&self, check: &SignatureCheck<'_>) -> Result<(), SignatureError>;
}

/// Pure-Rust backend: RustCrypto through jwt-compact.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

fn run<A: JwtAlgorithm>(
    alg: A,
    key: &A::VerifyingKey,
    check: &SignatureCheck<'_>,
) -> Result<(), SignatureError> {
    // Strict ECDSA: `try_from_slice` accepts only the fixed-size R‖S form with r, s in [1, n-1].
    let signature =
        A::Signature::try_from_slice(check.signature).map_err(|_| SignatureError::Malformed)?;
    if alg.verify_signature(&signature, key, check.signing_input) {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

impl SignatureBackend for RustCrypto {
    fn verify(&self, check: &SignatureCheck<'_>) -> Result<(), SignatureError> {
        let expected = check.expected_len().ok_or(SignatureError::Invalid)?;
        if check.signature.len() != expected {
            return Err(SignatureError::Length {
                expected,
                found: check.signature.len(),
            });
        }
        match (check.alg, &check.key.public) {
            (Algorithm::Hs256, PublicKey::Hmac(k)) => {
                run(Hs256, &Hs256Key::new(k.as_slice()), check)
            }
            (Algorithm::Hs384, PublicKey::Hmac(k)) => {
                run(Hs384, &Hs384Key::new(k.as_slice()), check)
            }
            (Algorithm::Hs512, PublicKey::Hmac(k)) => {
                run(Hs512, &Hs512Key::new(k.as_slice()), check)
            }
            #[cfg(feature = "rsa")]
            (Algorithm::Rs256, PublicKey::Rsa(k)) => run(Rsa::rs256(), &k.rust, check),
            #[cfg(feature = "rsa")]
            (Algorithm::Rs384, PublicKey::Rsa(k)) => run(Rsa::rs384(), &k.rust, check),
            #[cfg(feature = "rsa")]
            (Algorithm::Rs512, PublicKey::Rsa(k)) => run(Rsa::rs512(), &k.rust, check),
            #[cfg(feature = "rsa")]
            (Algorithm::Ps256, PublicKey::Rsa(k)) => run(Rsa::ps256(), &k.rust, check),
            #[cfg(feature = "rsa")]
            (Algorithm::Ps384, PublicKey::Rsa(k)) => run(Rsa::ps384(), &k.rust, check),
            #[cfg(feature = "rsa")]
            (Algorithm::Ps512, PublicKey::Rsa(k)) => run(Rsa::ps512(), &k.rust, check),
            #[cfg(feature = "p256")]
            (Algorithm::Es256, PublicKey::P256(k)) => run(Es256, &k.rust, check),
            #[cfg(feature = "p384")]
            (Algorithm::Es384, PublicKey::P384(k)) => run(Es384, &k.rust, check),
            #[cfg(feature = "p521")]
            (Algorithm::Es512, PublicKey::P521(k)) => run(Es512, &k.rust, check),
            // Built without the backend: the adapter checks these through WebCrypto, never here.
            #[cfg(not(feature = "rsa"))]
            (
                Algorithm::Rs256
                | Algorithm::Rs384
                | Algorithm::Rs512
                | Algorithm::Ps256
                | Algorithm::Ps384
                | Algorithm::Ps512,
                PublicKey::Rsa(_),
            ) => Err(SignatureError::NoBackend { alg: check.alg }),
            #[cfg(not(feature = "p256"))]
            (Algorithm::Es256, PublicKey::P256(_)) => {
                Err(SignatureError::NoBackend { alg: check.alg })
            }
            #[cfg(not(feature = "ed25519"))]
            (Algorithm::EdDsa, PublicKey::Ed25519(_)) => {
                Err(SignatureError::NoBackend { alg: check.alg })
            }
            #[cfg(not(feature = "p384"))]
            (Algorithm::Es384, PublicKey::P384(_)) => {
                Err(SignatureError::NoBackend { alg: check.alg })
            }
            #[cfg(not(feature = "p521"))]
            (Algorithm::Es512, PublicKey::P521(_)) => {
                Err(SignatureError::NoBackend { alg: check.alg })
            }
            (Algorithm::Es256k, PublicKey::K256(k)) => run(Es256k::<Sha256>::default(), k, check),
            #[cfg(feature = "ed25519")]
            (Algorithm::EdDsa, PublicKey::Ed25519(k)) => run(Ed25519, &k.rust, check),
            // Selection never pairs an algorithm with a key of another family; fail closed if it did.
            _ => Err(SignatureError::Invalid),
        }
    }
}

#[cfg(any(feature = "p384", feature = "p521"))]
macro_rules! ecdsa_algorithm {
    ($(#[$doc:meta])* $name:ident, $sig:ident, $curve:ident, $alg:literal, $len:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        /// Fixed-size R‖S signature.
        #[derive(Debug, Clone, Copy)]
        pub struct $sig($curve::ecdsa::Signature);

        impl AlgorithmSignature for $sig {
            const LENGTH: Option<core::num::NonZeroUsize> = core::num::NonZeroUsize::new($len);

            fn try_from_slice(slice: &[u8]) -> anyhow::Result<Self> {
                // `from_slice` needs exactly 2×coordinate bytes and r, s in [1, n-1].
                $curve::ecdsa::Signature::from_slice(slice)
                    .map($sig)
                    .map_err(|err| anyhow::anyhow!(err))
            }

            fn as_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
                std::borrow::Cow::Owned(self.0.to_bytes().to_vec())
            }
        }

        impl JwtAlgorithm for $name {
            type SigningKey = $curve::ecdsa::SigningKey;
            type VerifyingKey = $curve::ecdsa::VerifyingKey;
            type Signature = $sig;

            fn name(&self) -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($alg)
            }

            fn sign(&self, key: &Self::SigningKey, message: &[u8]) -> Self::Signature {
                use $curve::ecdsa::signature::Signer;
                $sig(key.sign(message))
            }

            fn verify_signature(
                &self,
                signature: &Self::Signature,
                key: &Self::VerifyingKey,
                message: &[u8],
            ) -> bool {
                use $curve::ecdsa::signature::Verifier;
                key.verify(message, &signature.0).is_ok()
            }
        }
    };
}

#[cfg(feature = "p384")]
ecdsa_algorithm!(
    /// `ES384`: ECDSA on P-384 with SHA-384 (RFC 7518 §3.4), for jwt-compact, which lacks it.
    Es384, Es384Signature, p384, "ES384", 96
);
#[cfg(feature = "p521")]
ecdsa_algorithm!(
    /// `ES512`: ECDSA on P-521 with SHA-512 (RFC 7518 §3.4), for jwt-compact, which lacks it.
    Es512, Es512Signature, p521, "ES512", 132
);
