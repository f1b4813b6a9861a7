//! `RawAssertionVerifier`, behind `createAssertionVerifier`: the origin's side. The core's
//! [`AssertionVerifier`] rules (the edge's keys, issuer, audience, `typ: edge-auth+jwt`, `iat`/`exp`/
//! `jti`, then the `htm`/`htu`/`ath` binding against the actual request), with the signature checked by
//! WebCrypto through the same verification code as every verifier of the package, and the keys given
//! inline or fetched from the edge's JWKS URL under the same remote-key rules (`remote_keys`, read by
//! the same code as `EDGE_AUTH.remote_keys`). A route's requirement (scopes, roles) is the core's
//! [`Requirement`]; a refusal is rendered by the gate's one mapping ([`Refusal::to_http`]), so an origin
//! answers exactly as the Worker does.

use std::rc::Rc;

use edge_auth_core::{
    check_url, read_remote_settings, realm_is_quotable, AssertionVerifier, Binding, CacheSettings,
    Caller, KeySet, NeedSet, RemoteSettings, RemoteSource, Requirement, VerifiedToken, Walk,
    DEFAULT_ASSERTION_LEEWAY,
};
use edge_auth_gate::{extract_token, Refusal};
use js_sys::Promise;
use serde_json::{json, Value};
use std::sync::Arc;
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
    /// The `realm` of the refusals' `WWW-Authenticate` (default `edge-auth`, as the Worker's).
    realm: Option<String>,
    /// The remote-key rules for `jwks_uri` (the Worker's `remote_keys`).
    remote_keys: Option<RemoteSettings>,
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
                "realm",
                "remote_keys",
            ],
        )?;
        let jwks = m.optional(w, "jwks", Walk::any);
        let jwks_uri = m.optional(w, "jwks_uri", Walk::string);
        let issuer = m.required(w, "issuer", Walk::string);
        let audience = m.required(w, "audience", Walk::string);
        let leeway_seconds = m.optional(w, "leeway_seconds", Walk::uint);
        let header = m.optional(w, "header", Walk::string);
        let realm = m.optional(w, "realm", Walk::string);
        let remote_keys = m.optional(w, "remote_keys", read_remote_settings);
        Some(Options {
            jwks: jwks?,
            jwks_uri: jwks_uri?,
            issuer: issuer?,
            audience: audience?,
            leeway_seconds: leeway_seconds?,
            header: header?,
            realm: realm?,
            remote_keys: remote_keys?,
        })
    }
}

/// An origin's assertion verifier.
#[wasm_bindgen]
#[derive(Debug)]
pub struct RawAssertionVerifier {
    engine: Rc<Engine<AssertionKeys>>,
    header: String,
    realm: Rc<str>,
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
        let realm = options.realm.unwrap_or_else(|| "edge-auth".to_owned());
        if !realm_is_quotable(&realm) {
            return Err(config("realm", "must be printable ASCII without `\"` or `\\`").into());
        }
        if options.jwks.is_some() && options.remote_keys.is_some() {
            return Err(config("remote_keys", "only with `jwks_uri`").into());
        }
        let settings = options.remote_keys.unwrap_or_default();
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
                check_url(&uri, settings.allow_loopback_http).map_err(|e| config("jwks_uri", e))?;
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
            settings,
        };
        // Every assertion is new (its `jti`): nothing to cache.
        let no_cache = CacheSettings {
            max_entries: 1,
            max_bytes: edge_auth_core::DEFAULT_MAX_BYTES,
            max_ttl_seconds: 0,
        };
        Ok(RawAssertionVerifier {
            engine: Rc::new(Engine::new(keys, no_cache, host)?),
            header,
            realm: realm.into(),
        })
    }

    /// The header the assertion comes in, lower-cased.
    #[wasm_bindgen(getter)]
    pub fn header(&self) -> String {
        self.header.clone()
    }

    /// Verifies the request's assertion (`assertion`: the header's value) against the request it came
    /// with — `method`, the public `url` it is bound to, and `authorization` (when it carries a bearer
    /// token, `ath` must be its hash) — then the route's requirement: every scope of `scopes` and every
    /// role of `roles`. A promise of the JSON text of `{ "identity": { header, claims, issuer, scopes,
    /// roles } }` (`issuer`: the caller's token issuer, `src_iss`), or of `{ "refuse": { status,
    /// headers, body, code, message, retryAfter? } }`: the answer the Worker gives for the same refusal
    /// (the gate's mapping) with the error the package throws for it (this crate's mapping). Rejects
    /// only for what is not a refusal (a runtime without WebCrypto).
    #[allow(
        clippy::too_many_arguments,
        reason = "the raw wasm-bindgen boundary: flat arguments, no JSON round trip per request"
    )]
    pub fn authorize(
        &self,
        assertion: Option<String>,
        method: String,
        url: String,
        authorization: Option<String>,
        now_seconds: f64,
        scopes: Vec<String>,
        roles: Vec<String>,
    ) -> Promise {
        let engine = Rc::clone(&self.engine);
        let realm = Rc::clone(&self.realm);
        future_to_promise(async move {
            let request = Request {
                assertion,
                method,
                url,
                authorization,
            };
            let checked = check(&engine, request, now_seconds)
                .await
                .and_then(|verified| {
                    let requirement = Requirement {
                        scopes: NeedSet {
                            all: scopes,
                            any: Vec::new(),
                        },
                        roles: NeedSet {
                            all: roles,
                            any: Vec::new(),
                        },
                        ..Requirement::default()
                    };
                    let caller = Caller {
                        scopes: verified.scopes(),
                        roles: verified.roles(),
                        claims: verified.claims(),
                    };
                    requirement
                        .check(&caller)
                        .map_err(|unmet| Failure::Refused(Refusal::Forbidden(unmet)))?;
                    Ok(verified)
                });
            let answer = match checked {
                Ok(verified) => {
                    // An assertion's identity names the token's original issuer (`src_iss`).
                    let mut identity = identity(&verified);
                    if let Some(source) = verified.claims().get("src_iss").and_then(Value::as_str) {
                        identity.issuer = Some(source);
                    }
                    format!("{{\"identity\":{}}}", identity.to_json())
                }
                Err(failure) => match refusal(&failure, &realm) {
                    Some(refuse) => json!({ "refuse": refuse }).to_string(),
                    None => return Err(failure.into()),
                },
            };
            Ok(JsValue::from_str(&answer))
        })
    }
}

/// What an origin received.
struct Request {
    assertion: Option<String>,
    method: String,
    url: String,
    authorization: Option<String>,
}

/// The assertion verified, then its binding to the request.
async fn check(
    engine: &Rc<Engine<AssertionKeys>>,
    request: Request,
    now_seconds: f64,
) -> Result<Arc<VerifiedToken>, Failure> {
    let Some(assertion) = request.assertion else {
        return Err(Failure::Refused(Refusal::TokenMissing));
    };
    let access_token = extract_token(request.authorization.as_deref(), None, None)
        .map_err(Failure::Refused)?
        .map(|found| found.token);
    let verified = verify(engine, &assertion, verification_time(now_seconds)).await?;
    let binding = Binding {
        method: &request.method,
        url: &request.url,
        access_token: access_token.as_deref(),
    };
    AssertionVerifier::check_binding(&verified, &binding).map_err(Failure::from)?;
    Ok(verified)
}

/// A refused request as the origin answers it: status, headers and problem body from the gate's one
/// mapping ([`Refusal::to_http`]: the Worker's answer), and the code, message and `retryAfter` of the
/// error the package throws for it. `None` for a failure that is no refusal.
fn refusal(failure: &Failure, realm: &str) -> Option<Value> {
    let (refusal, retry_after) = match failure {
        Failure::Token {
            error, retry_after, ..
        } => (Refusal::Token(error.clone()), *retry_after),
        Failure::Refused(refusal) => (refusal.clone(), None),
        Failure::Config(_) | Failure::Argument(_) | Failure::Runtime(_) => return None,
    };
    let http = refusal.to_http(realm);
    let (_, code, message, retry_after_error) = failure.parts();
    let mut refuse = json!({
        "status": http.status,
        "headers": http.headers(retry_after),
        "body": http.body,
        "code": code,
        "message": message,
    });
    if let (Some(seconds), Some(object)) = (retry_after_error, refuse.as_object_mut()) {
        object.insert("retryAfter".into(), seconds.into());
    }
    Some(refuse)
}
