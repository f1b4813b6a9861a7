//! Minting compact JWS tokens (for the CLI, tests and, later, the signed assertion).

use serde_json::{Map, Value};

use crate::b64;
use crate::jwk::SigningKey;

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
    signing_input.push_str(&b64::encode(signature));
    signing_input
}
