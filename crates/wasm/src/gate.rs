//! `RawGate`, behind `createGate` / `gate.handle` / `withEdgeAuth`, and `explain`: the Worker's request
//! flow (`src/entry.rs`) with the gate crate deciding every step — [`gate::plan`], verification (the
//! same code as `createVerifier`), [`gate::authorize`], the assertion ([`gate::assertion_input`], signed
//! with WebCrypto for EdDSA and ES256, in Rust for HS256), the forwarding instructions, and every
//! refusal rendered by [`Refusal::to_http`] alone. JS only builds the `Response` or the forwarded
//! `Request` these instructions describe.

use std::rc::Rc;

use edge_auth_core::{
    attach_signature, AbsoluteUrl, GateConfig, SelectError, VerifiedToken, VerifyError, Walk,
};
use edge_auth_gate::{self as gate, Forward, Plan, Refusal, RequestHead, Upstream};
use edge_auth_webcrypto::uses_webcrypto;
use js_sys::Promise;
use serde_json::{json, Value};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;

use crate::error::{self, Failure};
use crate::host::{random16, verification_time, Host};
use crate::keys;
use crate::state::Engine;
use crate::verifier::{config_value, secrets};
use crate::verify::{identity, verify};

/// The parts of a request the gate reads, as `js/api.js` sends them (header values as the runtime's
/// `Headers.get` gives them: repeated headers joined with `, `; a header left out or `null` is absent).
#[derive(Debug)]
struct RequestParts {
    method: String,
    url: String,
    authorization: Option<String>,
    cookie: Option<String>,
    origin: Option<String>,
    referer: Option<String>,
    sec_fetch_site: Option<String>,
    cors_method: Option<String>,
    cors_headers: Option<String>,
}

impl RequestParts {
    fn read(w: &mut Walk, path: &str, value: &Value) -> Option<RequestParts> {
        let m = w.object(
            path,
            value,
            &[
                "method",
                "url",
                "authorization",
                "cookie",
                "origin",
                "referer",
                "sec_fetch_site",
                "cors_method",
                "cors_headers",
            ],
        )?;
        let method = m.required(w, "method", Walk::string);
        let url = m.required(w, "url", Walk::string);
        let authorization = m.optional(w, "authorization", Walk::string);
        let cookie = m.optional(w, "cookie", Walk::string);
        let origin = m.optional(w, "origin", Walk::string);
        let referer = m.optional(w, "referer", Walk::string);
        let sec_fetch_site = m.optional(w, "sec_fetch_site", Walk::string);
        let cors_method = m.optional(w, "cors_method", Walk::string);
        let cors_headers = m.optional(w, "cors_headers", Walk::string);
        Some(RequestParts {
            method: method?,
            url: url?,
            authorization: authorization?,
            cookie: cookie?,
            origin: origin?,
            referer: referer?,
            sec_fetch_site: sec_fetch_site?,
            cors_method: cors_method?,
            cors_headers: cors_headers?,
        })
    }
}

/// Reads a JSON argument with `read`: a `TypeError` naming every mistake (paths start at `what`) when it
/// does not fit.
fn argument<T>(what: &str, text: &str, read: edge_auth_core::ReadField<T>) -> Result<T, Failure> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| Failure::Argument(format!("{what}: {e}")))?;
    let mut walk = Walk::new();
    let read = read(&mut walk, what, &value);
    walk.finish(read).map_err(|errors| {
        let described: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect();
        Failure::Argument(described.join("; "))
    })
}

/// A response's headers, `[[name, value]…]`.
fn header_list(w: &mut Walk, path: &str, value: &Value) -> Option<Vec<(String, String)>> {
    w.list(
        path,
        value,
        "a list of [name, value] pairs",
        |w, path, pair| match pair {
            Value::Array(items) => match items.as_slice() {
                [name, value] => {
                    let name = w.string(&format!("{path}[0]"), name);
                    let value = w.string(&format!("{path}[1]"), value);
                    Some((name?, value?))
                }
                _ => {
                    w.error(
                        path,
                        format!(
                            "invalid length {}, expected a [name, value] pair",
                            items.len()
                        ),
                    );
                    None
                }
            },
            other => w.mismatch(path, other, "a [name, value] pair"),
        },
    )
}

/// A request as the gate sees it: its parts and its URL read the way the Worker's runtime reads it
/// (WHATWG).
struct Incoming {
    parts: RequestParts,
    url: AbsoluteUrl,
    host: String,
}

impl Incoming {
    fn parse(text: &str) -> Result<Incoming, Failure> {
        let parts = argument("the request", text, RequestParts::read)?;
        let url = AbsoluteUrl::parse(&parts.url)
            .map_err(|e| Failure::Argument(format!("the request URL: {e}")))?;
        let host = url.authority().to_owned();
        Ok(Incoming { parts, url, host })
    }

    fn head(&self) -> RequestHead<'_> {
        let p = &self.parts;
        RequestHead {
            method: &p.method,
            url: self.url.as_str(),
            path: self.url.path(),
            host: &self.host,
            authorization: p.authorization.as_deref(),
            cookie: p.cookie.as_deref(),
            origin: p.origin.as_deref(),
            referer: p.referer.as_deref(),
            sec_fetch_site: p.sec_fetch_site.as_deref(),
            cors_method: p.cors_method.as_deref(),
            cors_headers: p.cors_headers.as_deref(),
        }
    }
}

/// A compiled gate (`createGate`).
#[wasm_bindgen]
#[derive(Debug)]
pub struct RawGate {
    engine: Rc<Engine<GateConfig>>,
    /// `origin`, compiled (`None`: forward to the request's own URL).
    upstream: Option<Rc<Upstream>>,
}

/// What the gate does with a request.
enum Answer {
    /// The edge answers itself: status, headers and body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Option<String>,
    },
    /// Forward, as [`forward`] describes.
    Forward(Value),
}

fn respond(status: u16, headers: Vec<(String, String)>, body: Option<String>) -> Answer {
    Answer::Respond {
        status,
        headers,
        body,
    }
}

/// A refusal, rendered by the gate's one mapping, with its headers.
fn refuse(refusal: &Refusal, realm: &str, retry_after: Option<u64>) -> Answer {
    let http = refusal.to_http(realm);
    let headers = http
        .headers(retry_after)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    respond(http.status, headers, Some(http.body))
}

/// How to forward: the target URL, the header changes, the assertion, the caller's identity.
fn forward(
    upstream: Option<&Upstream>,
    incoming: &Incoming,
    config: &GateConfig,
    how: Forward,
    verified: Option<&VerifiedToken>,
) -> Answer {
    let target = gate::forward_url(upstream, &incoming.url, &how.path);
    let cookie = match how.cookie {
        None => json!({ "keep": true }),
        Some(value) => json!({ "keep": false, "value": value }),
    };
    Answer::Forward(json!({
        "url": target.as_str(),
        "assertion_header": config.assertion.header,
        "assertion": how.assertion,
        "remove_authorization": how.remove_authorization,
        "cookie": cookie,
        "identity": verified.map(identity),
    }))
}

/// Signs the assertion: EdDSA and ES256 with WebCrypto (the key imported once), HS256 in Rust. A
/// WebCrypto failure is answered with 500: there is no silent second signer.
async fn sign_assertion(engine: &Engine<GateConfig>, input: String) -> Result<String, ()> {
    let key = &engine.config.assertion.signing_key;
    if !uses_webcrypto(key.algorithm()) {
        // HS256, the one assertion key that is not a WebCrypto one.
        return gate::sign_in_rust(&engine.config, input).ok_or(());
    }
    let signature = engine
        .crypto
        .sign(key, input.as_bytes())
        .await
        .map_err(|_| ())?;
    Ok(attach_signature(input, &signature))
}

/// The gate's decision for one request (`src/entry.rs`'s `decide`), as instructions for JS.
async fn decide(
    engine: &Rc<Engine<GateConfig>>,
    upstream: Option<&Upstream>,
    incoming: &Incoming,
) -> Answer {
    let config = &engine.config;
    let head = incoming.head();
    match gate::plan(config, &head) {
        Plan::ServeJwks => respond(
            200,
            own(&gate::JWKS_HEADERS),
            Some(config.assertion.jwks_json.clone()),
        ),
        Plan::ServeStatus => respond(
            200,
            own(&gate::STATUS_HEADERS),
            Some(keys::status(engine).to_string()),
        ),
        Plan::Preflight(extra) => respond(
            204,
            extra
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
            None,
        ),
        Plan::Refuse(refusal) => refuse(&refusal, &config.realm, None),
        // Only with `revocation`, which this gate refuses to start with.
        Plan::BackchannelLogout | Plan::Revoke { .. } => {
            refuse(&Refusal::Internal, &config.realm, None)
        }
        Plan::ForwardAnonymous { path, .. } => {
            let how = gate::forward_anonymous(config, &head, path);
            forward(upstream, incoming, config, how, None)
        }
        Plan::Verify {
            token,
            route,
            params,
            path,
        } => {
            let now = verification_time(f64::NAN);
            let verified = match verify(engine, &token, now).await {
                Ok(verified) => verified,
                Err(Failure::Token {
                    error, retry_after, ..
                }) => return refuse(&Refusal::Token(error), &config.realm, retry_after),
                Err(
                    Failure::Refused(_)
                    | Failure::Config(_)
                    | Failure::Argument(_)
                    | Failure::Runtime(_),
                ) => return refuse(&Refusal::Internal, &config.realm, None),
            };
            if let Err(refusal) = gate::authorize(config, route, &params, &verified) {
                return refuse(&refusal, &config.realm, None);
            }
            // Neither can fail for a request the runtime parsed; if one does, it is ours (500).
            let input = random16().ok().and_then(|jti| {
                gate::assertion_input(
                    config,
                    head.method,
                    &incoming.url,
                    &path,
                    &verified,
                    &token,
                    now,
                    jti,
                )
            });
            let assertion = match input {
                Some(input) => sign_assertion(engine, input).await,
                None => Err(()),
            };
            let Ok(assertion) = assertion else {
                return refuse(&Refusal::Internal, &config.realm, None);
            };
            let how = gate::forward_verified(config, &head, path, assertion);
            forward(upstream, incoming, config, how, Some(&verified))
        }
    }
}

fn own(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// With a `cors` section the edge owns the answer's `Access-Control-*` headers (`None`: leave them).
fn with_cors(
    config: &GateConfig,
    head: &RequestHead<'_>,
    headers: Vec<(String, String)>,
) -> Option<Vec<(String, String)>> {
    gate::response_headers(config, head, headers)
}

#[wasm_bindgen]
impl RawGate {
    /// Compiles `EDGE_AUTH` with its secrets and `origin` (`ORIGIN`); throws a `config_invalid` failure
    /// naming every mistake (a bad origin too, never repeating it).
    #[wasm_bindgen(constructor)]
    pub fn new(
        config: String,
        is_text: bool,
        secrets_json: &str,
        origin: Option<String>,
        host: Host,
    ) -> Result<RawGate, JsValue> {
        let value = config_value(config, is_text)?;
        let secrets = secrets(secrets_json)?;
        let compiled = GateConfig::from_value(&value, &secrets)
            .map_err(Failure::from)
            .and_then(|compiled| match compiled.revocation {
                // Revocation lives in the Worker's Durable Object: a gate here could not check it,
                // and a gate that forwards revoked tokens must not start.
                Some(_) => Err(error::config(
                    "revocation",
                    "needs the Worker's Durable Object (`Revocations`): not available in the JS package",
                )),
                None => Ok(compiled),
            });
        let upstream = origin
            .map(|origin| Upstream::parse(&origin).map_err(|why| error::config("origin", why)))
            .transpose();
        let (compiled, upstream) = match (compiled, upstream) {
            (Ok(compiled), Ok(upstream)) => (compiled, upstream),
            (Err(Failure::Config(mut errors)), Err(Failure::Config(more))) => {
                errors.extend(more);
                return Err(Failure::Config(errors).into());
            }
            (Err(failure), _) | (_, Err(failure)) => return Err(failure.into()),
        };
        let cache = compiled.cache;
        let engine = Engine::new(compiled, cache, host)?;
        Ok(RawGate {
            engine: Rc::new(engine),
            upstream: upstream.map(Rc::new),
        })
    }

    /// What to do with a request (`request_json`: its parts): a promise of the JSON text of
    /// `{ respond: { status, headers, body } }` (refusals, preflights, the JWKS, with the edge's CORS
    /// headers) or `{ forward: { url, assertion_header, assertion, remove_authorization, cookie,
    /// identity } }`.
    pub fn handle(&self, request_json: String) -> Promise {
        let engine = Rc::clone(&self.engine);
        let upstream = self.upstream.clone();
        future_to_promise(async move {
            let incoming = Incoming::parse(&request_json)?;
            let answer = match decide(&engine, upstream.as_deref(), &incoming).await {
                Answer::Respond {
                    status,
                    headers,
                    body,
                } => {
                    // Every answer of the edge's own gets the edge's CORS headers, as in the Worker.
                    let headers = with_cors(&engine.config, &incoming.head(), headers.clone())
                        .unwrap_or(headers);
                    json!({ "respond": { "status": status, "headers": headers, "body": body } })
                }
                Answer::Forward(forward) => json!({ "forward": forward }),
            };
            Ok(JsValue::from_str(&answer.to_string()))
        })
    }

    /// The headers of an answer to a forwarded request (the origin's, or a handler's), as the edge sends
    /// it: `None` when they stay as they are (no `cors` section, or a preflight); else the list with the
    /// answer's own `Access-Control-*` headers replaced by the edge's. `headers_json`: `[[name, value]…]`.
    #[wasm_bindgen(js_name = responseHeaders)]
    pub fn response_headers(
        &self,
        request_json: &str,
        headers_json: &str,
    ) -> Result<Option<String>, JsValue> {
        let incoming = Incoming::parse(request_json)?;
        let headers = argument("the response headers", headers_json, header_list)?;
        Ok(with_cors(&self.engine.config, &incoming.head(), headers).map(|h| json!(h).to_string()))
    }
}

/// `explain`: compiles `EDGE_AUTH`, plans the request, verifies the token the plan chose (at
/// `now_seconds`, the wall clock when not a number ≥ 0), and returns the gate's [`gate::Explanation`]
/// as JSON text — the same steps `edge-auth explain` prints.
#[wasm_bindgen]
pub fn explain(
    config: String,
    is_text: bool,
    secrets_json: String,
    request_json: String,
    now_seconds: f64,
    host: Host,
) -> Promise {
    future_to_promise(async move {
        let value = config_value(config, is_text)?;
        let secrets = secrets(&secrets_json)?;
        let compiled = GateConfig::from_value(&value, &secrets).map_err(Failure::from)?;
        let cache = compiled.cache;
        let engine = Rc::new(Engine::new(compiled, cache, host)?);
        let incoming = Incoming::parse(&request_json)?;
        let head = incoming.head();
        let now = verification_time(now_seconds);
        // Verification is async (WebCrypto, remote keys): done first, then handed to the gate's
        // `explain` as the outcome of the one verification it asks for.
        let outcome = match gate::plan(&engine.config, &head) {
            Plan::Verify { token, .. } => Some(match verify(&engine, &token, now).await {
                Ok(verified) => Ok(verified),
                Err(Failure::Token { error, .. }) => Err(error),
                Err(failure) => return Err(failure.into()),
            }),
            Plan::ServeJwks
            | Plan::ServeStatus
            | Plan::Preflight(_)
            | Plan::ForwardAnonymous { .. }
            | Plan::BackchannelLogout
            | Plan::Revoke { .. }
            | Plan::Refuse(_) => None,
        };
        let explanation = gate::explain(&engine.config, &head, &mut |_| match &outcome {
            Some(Ok(verified)) => Ok(VerifiedToken::clone(verified)),
            Some(Err(error)) => Err(error.clone()),
            // The plan is deterministic: `explain` asks only when the plan above verified.
            None => Err(VerifyError::Select(SelectError::KeysUnavailable)),
        });
        let text = serde_json::to_string(&explanation)
            .map_err(|e| Failure::Runtime(format!("explain: {e}")))?;
        Ok(JsValue::from_str(&text))
    })
}
