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
    let signing_input = format!("{}.{}", encode_json(&header), encode_json(claims));
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64::encode(&signature))
}
