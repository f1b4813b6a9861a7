//! `edge-auth-webcrypto`: the WebCrypto signature backend (wasm32 only; empty elsewhere).
//!
//! The core never awaits and never depends on JS: a verification's asymmetric checks
//! ([`Pending::checks`]) run here, outside the core, and their outcomes go back through
//! [`Pending::verify_signature`] with [`Outcomes`], a backend that only looks them up. HS* and ES256K
//! stay in Rust (HMAC is cheaper than a round trip to JS; secp256k1 is not in WebCrypto).
//!
//! `crypto.subtle` is found on the global object, which every runtime edge-auth ships to has: Workers,
//! browsers, Node ≥ 20, Deno and Bun. Imported `CryptoKey`s are kept per (RFC 7638 thumbprint,
//! algorithm, usage): a stable identity, so a key is imported once however many sets hold it. The JS
//! package also generates its RSA, ECDSA and Ed25519 keys here ([`WebCrypto::generate`]): an RSA prime
//! search in wasm takes seconds.
//!
//! An embedder may hand in another object with `SubtleCrypto`'s methods ([`use_subtle`]): the JS
//! package's Node entry does, with `node:crypto` doing public-key verification synchronously (what
//! `jose` uses in Node), and every other call passed on to `crypto.subtle` (`js/node-crypto.js`). The
//! key handles it returns are opaque here: they only go back to the same object.
#![forbid(unsafe_code)]
#![cfg(target_arch = "wasm32")]

#[cfg(feature = "request-abort")]
mod abort;
mod promise;
mod slots;

use std::cell::RefCell;
use std::collections::HashMap;

use edge_auth_core::{
    Algorithm, Key, KeyFamily, Pairing, Pending, RustCrypto, SignatureBackend, SignatureCheck,
    SignatureError, SigningKey,
};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Crypto, CryptoKey, SubtleCrypto};

// `crypto.getRandomValues` straight into wasm memory (a `&mut [u8]` arrives as a view of it; nothing in
// wasm runs, so nothing can grow the memory, during the call). The `getrandom` crate's `js` back end
// first works out at run time whether it is in Node or a browser (its glue imports `process`,
// `versions`, `require`, `msCrypto`...), then fills a JS array and copies it in: dropping it took about
// 2 KiB off the gzip of the Worker and of the JS package each.
#[wasm_bindgen(inline_js = "export function fill_random(bytes) { crypto.getRandomValues(bytes); }")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn fill_random(bytes: &mut [u8]) -> Result<(), JsValue>;
}

/// Fills `bytes` from the runtime's CSPRNG (`globalThis.crypto.getRandomValues`, which every runtime
/// edge-auth ships to has), in chunks of at most 65 536 bytes (its limit): the Worker's and the JS
/// package's randomness (`jti`s, the token cache's seed, revocation epochs, keys generated in Rust).
pub fn random_bytes(bytes: &mut [u8]) -> Result<(), String> {
    for chunk in bytes.chunks_mut(65_536) {
        fill_random(chunk)
            .map_err(|e| format!("no randomness: crypto.getRandomValues: {}", describe(&e)))?;
    }
    Ok(())
}

#[cfg(feature = "request-abort")]
pub use abort::{cancelled_requests, AbortWatch};
pub use promise::{open_awaits, Settled};

/// A readable reason from what a WebCrypto promise rejected with: a string, or an `Error`'s (or
/// `DOMException`'s) name and message.
pub fn describe(error: &JsValue) -> String {
    if let Some(text) = error.as_string() {
        return text;
    }
    let field = |name: &str| {
        Reflect::get(error, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    match (field("name"), field("message")) {
        (name, message) if name.is_empty() => message,
        (name, message) if message.is_empty() => name,
        (name, message) => format!("{name}: {message}"),
    }
}

/// Whether WebCrypto checks (and signs) this algorithm; the others run in Rust.
pub fn uses_webcrypto(alg: Algorithm) -> bool {
    !alg.is_symmetric() && alg != Algorithm::Es256k
}

/// What an imported key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Usage {
    Verify,
    Sign,
}

/// Imported keys with their operation parameters, per (thumbprint, algorithm, usage).
type Imported = HashMap<(String, Algorithm, Usage), (CryptoKey, Object)>;

/// The WebCrypto backend of one isolate (or one JS verifier): `crypto.subtle`, looked up once, and the
/// keys imported into it.
pub struct WebCrypto {
    subtle: SubtleCrypto,
    imported: RefCell<Imported>,
    /// Signing keys whose private part was shown to match the public part by verifying their first
    /// signature (the keys the core could not check: [`Pairing::Unchecked`]), per (thumbprint, alg).
    paired: RefCell<std::collections::HashSet<(String, Algorithm)>>,
}

impl std::fmt::Debug for WebCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebCrypto")
            .field("imported", &self.imported.borrow().len())
            .finish_non_exhaustive()
    }
}

/// The outcomes of the WebCrypto checks of one verification, by key identity; [`SignatureBackend`]
/// for the core, which runs the other algorithms in Rust.
#[derive(Debug, Default)]
pub struct Outcomes(Vec<(String, Algorithm, bool)>);

impl SignatureBackend for Outcomes {
    fn verify(&self, check: &SignatureCheck<'_>) -> Result<(), SignatureError> {
        if !uses_webcrypto(check.alg) {
            return RustCrypto.verify(check);
        }
        let Some(id) = check.key.thumbprint() else {
            return Err(SignatureError::Invalid);
        };
        match self
            .0
            .iter()
            .find(|(key, alg, _)| key == id && *alg == check.alg)
        {
            Some((_, _, true)) => Ok(()),
            // Not checked, failed or refused by WebCrypto: fail closed.
            Some((_, _, false)) | None => Err(SignatureError::Invalid),
        }
    }
}

fn object(pairs: &[(&str, JsValue)]) -> Result<Object, JsValue> {
    let object = Object::new();
    for (name, value) in pairs {
        Reflect::set(&object, &JsValue::from_str(name), value)?;
    }
    Ok(object)
}

/// The WebCrypto import and operation parameters for a JWS algorithm (`None`: not a WebCrypto one).
fn params(alg: Algorithm) -> Result<Option<(Object, Object)>, JsValue> {
    let s = |v: &str| JsValue::from_str(v);
    let hash = |name: &str| s(name);
    let sha = match alg {
        Algorithm::Rs256 | Algorithm::Ps256 | Algorithm::Es256 => "SHA-256",
        Algorithm::Rs384 | Algorithm::Ps384 | Algorithm::Es384 => "SHA-384",
        Algorithm::Rs512 | Algorithm::Ps512 | Algorithm::Es512 => "SHA-512",
        Algorithm::EdDsa => "",
        Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512 | Algorithm::Es256k => {
            return Ok(None)
        }
    };
    let salt = |bits: u32| JsValue::from(bits / 8);
    Ok(Some(match (alg, alg.family()) {
        (Algorithm::Rs256 | Algorithm::Rs384 | Algorithm::Rs512, _) => (
            object(&[("name", s("RSASSA-PKCS1-v1_5")), ("hash", hash(sha))])?,
            object(&[("name", s("RSASSA-PKCS1-v1_5"))])?,
        ),
        (Algorithm::Ps256, _) => pss(sha, salt(256))?,
        (Algorithm::Ps384, _) => pss(sha, salt(384))?,
        (Algorithm::Ps512, _) => pss(sha, salt(512))?,
        (_, KeyFamily::Ec(curve)) => (
            object(&[("name", s("ECDSA")), ("namedCurve", s(curve.name()))])?,
            object(&[("name", s("ECDSA")), ("hash", hash(sha))])?,
        ),
        (_, KeyFamily::Ed25519) => (
            object(&[("name", s("Ed25519"))])?,
            object(&[("name", s("Ed25519"))])?,
        ),
        (_, KeyFamily::Rsa | KeyFamily::Oct) => return Ok(None),
    }))
}

/// RSA-PSS with MGF1 over the same hash and a salt as long as the hash (RFC 7518 §3.5).
fn pss(sha: &str, salt: JsValue) -> Result<(Object, Object), JsValue> {
    let s = |v: &str| JsValue::from_str(v);
    Ok((
        object(&[("name", s("RSA-PSS")), ("hash", s(sha))])?,
        object(&[("name", s("RSA-PSS")), ("saltLength", salt)])?,
    ))
}

thread_local! {
    /// The object [`use_subtle`] handed in, if any.
    static PROVIDER: RefCell<Option<SubtleCrypto>> = const { RefCell::new(None) };
}

/// Every [`WebCrypto`] made afterwards in this wasm instance calls `subtle` instead of
/// `globalThis.crypto.subtle`. `subtle` must answer `importKey`, `verify`, `sign`, `generateKey` and
/// `exportKey` as `SubtleCrypto` does (promises of the same results); what it returns from `importKey`
/// is only ever handed back to it.
pub fn use_subtle(subtle: JsValue) {
    // `unchecked_into`: a provider is any object with those methods (web-sys calls them by name), not
    // necessarily an instance of the runtime's `SubtleCrypto` class.
    PROVIDER.with(|provider| *provider.borrow_mut() = Some(subtle.unchecked_into()));
}

impl WebCrypto {
    /// `globalThis.crypto.subtle`, or the provider given to [`use_subtle`].
    pub fn new() -> Result<WebCrypto, JsValue> {
        let subtle = match PROVIDER.with(|provider| provider.borrow().clone()) {
            Some(subtle) => subtle,
            None => Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))?
                .dyn_into::<Crypto>()
                .map_err(|_| JsValue::from_str("this runtime has no globalThis.crypto"))?
                .subtle(),
        };
        Ok(WebCrypto {
            subtle,
            imported: RefCell::new(HashMap::new()),
            paired: RefCell::new(std::collections::HashSet::new()),
        })
    }

    /// Forgets every imported key (the Worker calls it when an issuer's key set changed, which bounds
    /// the map; imports are keyed by thumbprint, so nothing stale could be used anyway).
    pub fn clear(&self) {
        self.imported.borrow_mut().clear();
    }

    /// Imports a JWK (public or private) once per (thumbprint, algorithm, usage), non-extractable. `jwk`
    /// is only called on the first import (serializing an RSA modulus is not free).
    async fn key(
        &self,
        jwk: impl FnOnce() -> serde_json::Map<String, serde_json::Value>,
        thumbprint: &str,
        alg: Algorithm,
        usage: Usage,
    ) -> Result<(CryptoKey, Object), JsValue> {
        let id = (thumbprint.to_owned(), alg, usage);
        if let Some(found) = self.imported.borrow().get(&id) {
            return Ok(found.clone());
        }
        let (import, operation) =
            params(alg)?.ok_or_else(|| JsValue::from_str("not a WebCrypto algorithm"))?;
        let mut jwk = jwk();
        // WebCrypto checks `alg` against the import algorithm; key selection already did (and knows
        // `Ed25519` as a name for EdDSA, which WebCrypto's JWK import does not).
        for member in ["alg", "kid", "use"] {
            jwk.remove(member);
        }
        let jwk: Object =
            js_sys::JSON::parse(&serde_json::Value::Object(jwk).to_string())?.dyn_into()?;
        let usages = js_sys::Array::of1(&JsValue::from_str(match usage {
            Usage::Verify => "verify",
            Usage::Sign => "sign",
        }));
        let imported = Settled::new(
            &self
                .subtle
                .import_key_with_object("jwk", &jwk, &import, false, &usages)?,
        )
        .await?;
        if !imported.is_object() {
            return Err(JsValue::from_str("importKey did not give a key"));
        }
        // A `CryptoKey`, or a provider's own handle (see `use_subtle`): opaque, handed back as it is.
        let imported: CryptoKey = imported.unchecked_into();
        let entry = (imported, operation);
        self.imported.borrow_mut().insert(id, entry.clone());
        Ok(entry)
    }

    async fn verify_one(&self, check: &SignatureCheck<'_>) -> Result<bool, JsValue> {
        let key: &Key = check.key;
        let thumbprint = key
            .thumbprint()
            .ok_or_else(|| JsValue::from_str("an asymmetric key has a thumbprint"))?;
        let (crypto_key, operation) = self
            .key(|| key.to_jwk(), thumbprint, check.alg, Usage::Verify)
            .await?;
        let signature = Uint8Array::from(check.signature);
        let data = Uint8Array::from(check.signing_input);
        let promise = self
            .subtle
            .verify_with_object_and_buffer_source_and_buffer_source(
                &operation,
                &crypto_key,
                &signature,
                &data,
            )?;
        Ok(Settled::new(&promise).await?.as_bool() == Some(true))
    }

    /// Runs a verification's WebCrypto checks, first passing key first, and returns their outcomes for
    /// [`Pending::verify_signature`]. A WebCrypto failure (import or verify) counts as "does not
    /// verify": fail closed.
    pub async fn check(&self, pending: &Pending<'_, '_>) -> Outcomes {
        self.check_all(pending.checks()).await
    }

    /// [`check`](Self::check) for any verification's checks (a signature-only one,
    /// [`PendingSignature::checks`](edge_auth_core::PendingSignature::checks), too).
    pub async fn check_all<'a>(
        &self,
        checks: impl Iterator<Item = SignatureCheck<'a>>,
    ) -> Outcomes {
        let mut outcomes = Vec::new();
        for check in checks {
            if !uses_webcrypto(check.alg) || check.expected_len() != Some(check.signature.len()) {
                // HS* and ES256K run in Rust; wrong lengths are refused by the core before any backend.
                continue;
            }
            let Some(id) = check.key.thumbprint() else {
                continue;
            };
            let ok = self.verify_one(&check).await.unwrap_or(false);
            outcomes.push((id.to_owned(), check.alg, ok));
            if ok {
                break;
            }
        }
        Outcomes(outcomes)
    }

    /// Generates a new key pair for `alg` (a WebCrypto algorithm: RS*, PS* with a 2048-bit modulus and
    /// the exponent 65537, ES256/384/512, EdDSA) and returns its private JWK members only (`kty`,
    /// `crv`, `n`, `e`, `x`, `y`, `d`, `p`, `q`, `dp`, `dq`, `qi`): the caller loads it with
    /// [`SigningKey::from_json`], which checks it like any other key. Key generation in wasm (RSA prime
    /// search above all) would take seconds; WebCrypto does it natively.
    pub async fn generate(
        &self,
        alg: Algorithm,
    ) -> Result<serde_json::Map<String, serde_json::Value>, JsValue> {
        let s = |v: &str| JsValue::from_str(v);
        let (import, _) =
            params(alg)?.ok_or_else(|| JsValue::from_str("not a WebCrypto algorithm"))?;
        if matches!(alg.family(), KeyFamily::Rsa) {
            Reflect::set(&import, &s("modulusLength"), &JsValue::from(2048))?;
            let exponent = Uint8Array::from(&[1u8, 0, 1][..]);
            Reflect::set(&import, &s("publicExponent"), &exponent)?;
        }
        let usages = js_sys::Array::of2(&s("sign"), &s("verify"));
        let pair = Settled::new(
            &self
                .subtle
                .generate_key_with_object(&import, true, &usages)?,
        )
        .await?;
        let private: CryptoKey = Reflect::get(&pair, &s("privateKey"))?.dyn_into()?;
        let exported = Settled::new(&self.subtle.export_key("jwk", &private)?).await?;
        let text: String = js_sys::JSON::stringify(&exported)?.into();
        let mut jwk: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).map_err(|e| JsValue::from_str(&e.to_string()))?;
        // `alg`, `key_ops` and `ext` are WebCrypto's own (`Ed25519` is not a JWS alg name).
        jwk.retain(|name, _| {
            matches!(
                name.as_str(),
                "kty" | "crv" | "n" | "e" | "x" | "y" | "d" | "p" | "q" | "dp" | "dq" | "qi"
            )
        });
        Ok(jwk)
    }

    /// Signs `input` with `key` through WebCrypto (its algorithm must be a WebCrypto one); the raw JWS
    /// signature (R‖S for ECDSA).
    pub async fn sign(&self, key: &SigningKey, input: &[u8]) -> Result<Vec<u8>, JsValue> {
        let thumbprint = key
            .public_key()
            .thumbprint()
            .ok_or_else(|| JsValue::from_str("an HMAC key signs in Rust"))?;
        let (crypto_key, operation) = self
            .key(
                || key.to_private_jwk(),
                thumbprint,
                key.algorithm(),
                Usage::Sign,
            )
            .await?;
        let data = Uint8Array::from(input);
        let promise =
            self.subtle
                .sign_with_object_and_buffer_source(&operation, &crypto_key, &data)?;
        let signature = Uint8Array::new(&Settled::new(&promise).await?).to_vec();
        if key.pairing() == Pairing::Unchecked {
            self.check_pairing(key, thumbprint, input, &signature)
                .await?;
        }
        Ok(signature)
    }

    /// For a key the core could not check (RSA, P-384, P-521 without their Rust backends): its first
    /// signature must verify with its public key, or the key is refused (and forgotten) before any
    /// signature of it leaves. WebCrypto's JWK import does not promise that check.
    async fn check_pairing(
        &self,
        key: &SigningKey,
        thumbprint: &str,
        input: &[u8],
        signature: &[u8],
    ) -> Result<(), JsValue> {
        let id = (thumbprint.to_owned(), key.algorithm());
        if self.paired.borrow().contains(&id) {
            return Ok(());
        }
        let check = SignatureCheck {
            alg: key.algorithm(),
            key: key.public_key(),
            signing_input: input,
            signature,
        };
        if self.verify_one(&check).await.unwrap_or(false) {
            self.paired.borrow_mut().insert(id);
            Ok(())
        } else {
            self.imported.borrow_mut().remove(&(
                thumbprint.to_owned(),
                key.algorithm(),
                Usage::Sign,
            ));
            Err(JsValue::from_str(
                "the private part does not match the public part (its signature does not verify)",
            ))
        }
    }
}
