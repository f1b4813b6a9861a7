//! `RawVerifier`, behind `createVerifier`: the verifier part of `EDGE_AUTH` (issuers, leeway, remote
//! keys, cache) compiled once, then `verify(token, now)`.

use std::collections::HashMap;
use std::rc::Rc;

use edge_auth_core::VerifierConfig;
use js_sys::Promise;
use serde_json::Value;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{config, Failure};
use crate::host::{verification_time, Host};
use crate::state::Engine;
use crate::verify::{identity, verify};

/// A configuration given by JS: JSON text of an object (`is_text` false: `JSON.stringify` of the
/// object JS was given), or the text JS was given as it is (`is_text` true), which the configuration
/// code parses itself and reports with line and column.
pub(crate) fn config_value(text: String, is_text: bool) -> Result<Value, Failure> {
    if is_text {
        return Ok(Value::String(text));
    }
    serde_json::from_str(&text).map_err(|e| config("EDGE_AUTH", e))
}

/// Secrets by name, as Workers secrets are: strings. `text` is JSON text of an object.
pub(crate) fn secrets(text: &str) -> Result<HashMap<String, String>, Failure> {
    let value: Value = serde_json::from_str(text).map_err(|e| config("secrets", e))?;
    let Value::Object(map) = value else {
        return Err(config("secrets", "must be an object of names and strings"));
    };
    let mut out = HashMap::with_capacity(map.len());
    for (name, value) in map {
        match value {
            Value::String(text) => {
                out.insert(name, text);
            }
            // Undefined members are dropped by JSON.stringify; null is the same absence.
            Value::Null => {}
            // Never the value: it is a secret.
            _ => return Err(config(&format!("secrets.{name}"), "must be a string")),
        }
    }
    Ok(out)
}

/// A compiled verifier (`createVerifier`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct RawVerifier {
    engine: Rc<Engine<VerifierConfig>>,
}

#[wasm_bindgen]
impl RawVerifier {
    /// Compiles the configuration; throws a `config_invalid` failure naming every mistake.
    #[wasm_bindgen(constructor)]
    pub fn new(
        config: String,
        is_text: bool,
        secrets_json: &str,
        host: Host,
    ) -> Result<RawVerifier, JsValue> {
        let value = config_value(config, is_text)?;
        let secrets = secrets(secrets_json)?;
        let compiled = VerifierConfig::from_value(&value, &secrets).map_err(Failure::from)?;
        let cache = compiled.cache;
        let engine = Engine::new(compiled, cache, host)?;
        Ok(RawVerifier {
            engine: Rc::new(engine),
        })
    }

    /// Verifies `token` at `now_seconds` (the wall clock when not a number ≥ 0): a promise of the JSON
    /// text of `{ header, claims, issuer, scopes, roles }`, or rejected with a token failure.
    pub fn verify(&self, token: String, now_seconds: f64) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let now = verification_time(now_seconds);
            let verified = verify(&engine, &token, now).await?;
            Ok(JsValue::from_str(&identity(&verified).to_json()))
        })
    }
}
