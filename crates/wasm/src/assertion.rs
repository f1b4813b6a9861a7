//! `RawAssertionVerifier`, behind `createAssertionVerifier`: the origin's side. The core's
//! [`AssertionVerifier`] rules (the edge's keys, issuer, audience, `typ: edge-auth+jwt`, `iat`/`exp`/
//! `jti`, then the `htm`/`htu`/`ath` binding against the actual request), with the signature checked by
//! WebCrypto through the same verification code as every verifier of the package, and the keys given
//! inline or fetched from the edge's JWKS URL under the same remote-key rules.

use std::rc::Rc;

use edge_auth_core::{
    check_url, AssertionVerifier, Binding, CacheSettings, KeySet, RemoteSettings, RemoteSource,
    Walk, DEFAULT_ASSERTION_LEEWAY,
};
use edge_auth_gate::{extract_token, Refusal};
use js_sys::Promise;
use serde_json::Value;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{config, described, Failure};
use crate::host::{verification_time, Host};
use crate::state::{AssertionKeys, Engine};
use crate::verify::{identity, verify};

/// `createAssertionVerifier`'s options (a member left out or `null` is an option not given).
#[derive(Debug)]
struct Options {
    /// The edge's JWKS (`/.well-known/edge-auth/jwks.json`), inline…
    jwks: Option<Value>,
    /// …or fetched from this `https` URL.
    jwks_uri: Option<String>,
    /// The edge's `assertion.issuer`.
    issuer: String,
    /// The edge's `assertion.audience` (this origin).
    audience: String,
    /// Clock leeway in seconds (default 10: assertions live for seconds).
    leeway_seconds: Option<u64>,
    /// The header carrying the assertion (the edge's `assertion.header`; default `Edge-Auth-Assertion`).
    header: Option<String>,
}

impl Options {
    /// Reads the options; every mistake is named by its member.
    fn read(w: &mut Walk, path: &str, value: &Value) -> Option<Options> {
        let m = w.object(
            path,
            value,
            &[
                "jwks",
                "jwks_uri",
                "issuer",
                "audience",
                "leeway_seconds",
                "header",
            ],
        )?;
        let jwks = m.optional(w, "jwks", Walk::any);
        let jwks_uri = m.optional(w, "jwks_uri", Walk::string);
        let issuer = m.required(w, "issuer", Walk::string);
        let audience = m.required(w, "audience", Walk::string);
        let leeway_seconds = m.optional(w, "leeway_seconds", Walk::uint);
        let header = m.optional(w, "header", Walk::string);
        Some(Options {
            jwks: jwks?,
            jwks_uri: jwks_uri?,
            issuer: issuer?,
            audience: audience?,
            leeway_seconds: leeway_seconds?,
            header: header?,
        })
    }
}

/// An origin's assertion verifier.
#[wasm_bindgen]
#[derive(Debug)]
pub struct RawAssertionVerifier {
    engine: Rc<Engine<AssertionKeys>>,
    header: String,
}

#[wasm_bindgen]
impl RawAssertionVerifier {
    /// Compiles the options (JSON text); throws a `config_invalid` failure naming the mistake.
    #[wasm_bindgen(constructor)]
    pub fn new(options_json: &str, host: Host) -> Result<RawAssertionVerifier, JsValue> {
        const WHAT: &str = "createAssertionVerifier";
        let value: Value = serde_json::from_str(options_json).map_err(|e| config(WHAT, e))?;
        let mut walk = Walk::new();
        let options = Options::read(&mut walk, "", &value);
        let options = walk
            .finish(options)
            .map_err(|errors| Failure::Config(described(WHAT, errors)))?;
        let leeway = options.leeway_seconds.unwrap_or(DEFAULT_ASSERTION_LEEWAY);
        let (verifier, source) = match (options.jwks, options.jwks_uri) {
            (Some(jwks), None) => {
                let keys = KeySet::from_jwks_json(jwks.to_string().as_bytes())
                    .map_err(|e| config("jwks", e))?;
                let verifier =
                    AssertionVerifier::new(keys, options.issuer, options.audience, leeway)
                        .map_err(|e| config(&e.field, e.reason))?;
                (verifier, None)
            }
            (None, Some(uri)) => {
                check_url(&uri, false).map_err(|e| config("jwks_uri", e))?;
                let verifier = AssertionVerifier::remote(options.issuer, options.audience, leeway)
                    .map_err(|e| config(&e.field, e.reason))?;
                (verifier, Some(RemoteSource::JwksUri(uri)))
            }
            _ => return Err(config("jwks", "give exactly one of `jwks` or `jwks_uri`").into()),
        };
        let header = options
            .header
            .unwrap_or_else(|| "edge-auth-assertion".to_owned())
            .to_ascii_lowercase();
        let keys = AssertionKeys {
            verifier,
            source,
            settings: RemoteSettings::default(),
        };
        // Every assertion is new (its `jti`): nothing to cache.
        let no_cache = CacheSettings {
            max_entries: 1,
            max_ttl_seconds: 0,
        };
        Ok(RawAssertionVerifier {
            engine: Rc::new(Engine::new(keys, no_cache, host)?),
            header,
        })
    }

    /// The header the assertion comes in, lower-cased.
    #[wasm_bindgen(getter)]
    pub fn header(&self) -> String {
        self.header.clone()
    }

    /// Verifies the request's assertion (`assertion`: the header's value) against the request it came
    /// with: `method`, the public `url` it is bound to, and `authorization` (when it carries a bearer
    /// token, `ath` must be its hash). A promise of the JSON text of the identity `{ header, claims,
    /// issuer, scopes, roles }` (`issuer`: the caller's token issuer, `src_iss`).
    pub fn verify(
        &self,
        assertion: Option<String>,
        method: String,
        url: String,
        authorization: Option<String>,
        now_seconds: f64,
    ) -> Promise {
        let engine = Rc::clone(&self.engine);
        future_to_promise(async move {
            let Some(assertion) = assertion else {
                return Err(Failure::Refused(Refusal::TokenMissing).into());
            };
            let access_token = extract_token(authorization.as_deref(), None, None)
                .map_err(Failure::Refused)?
                .map(|found| found.token);
            let verified = verify(&engine, &assertion, verification_time(now_seconds)).await?;
            let binding = Binding {
                method: &method,
                url: &url,
                access_token: access_token.as_deref(),
            };
            AssertionVerifier::check_binding(&verified, &binding).map_err(Failure::from)?;
            // An assertion's identity names the token's original issuer (`src_iss`).
            let mut identity = identity(&verified);
            if let Some(source) = verified.claims().get("src_iss").and_then(Value::as_str) {
                identity.issuer = Some(source);
            }
            Ok(JsValue::from_str(&identity.to_json()))
        })
    }
}
