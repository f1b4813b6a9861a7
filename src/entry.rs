//! The `#[event(fetch)]` handler (wasm32 only). It translates: request → [`gate::plan`] → verification
//! (cache, then the core with WebCrypto for asymmetric signatures) → forward or refuse. Decisions live
//! in the core, [`crate::gate`] and [`crate::http`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use edge_auth_core::{
    attach_signature, Algorithm, ConfigErrors, GateConfig, Key, KeyFamily, RustCrypto,
    SecretSource, SignatureBackend, SignatureCheck, SignatureError, TokenCache, UnixTime,
    VerifiedToken, VerifyError,
};
use js_sys::{Object, Reflect, Uint8Array};
use sha2::{Digest, Sha256};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CryptoKey, SubtleCrypto, WorkerGlobalScope};
use worker::{
    console_error, console_log, event, Context, Date, Env, Fetch, Headers, Method, Request,
    RequestInit, RequestRedirect, Response, Url,
};

use crate::gate::{self, Forward, Plan, RequestHead};
use crate::http::Refusal;
use crate::promise::Settled;

/// What one isolate keeps between requests: the compiled config (or why it failed), the verified-token
/// cache and the imported WebCrypto keys.
pub(crate) struct Isolate {
    pub(crate) config: Result<Rc<GateConfig>, ()>,
    cache: TokenCache,
    /// Imported verification keys and their verify parameters, per (key, algorithm).
    crypto_keys: HashMap<(usize, Algorithm), (CryptoKey, Object)>,
    /// The assertion signing key, imported into WebCrypto once (EdDSA and ES256).
    signing_key: Option<CryptoKey>,
}

impl Isolate {
    pub(crate) fn new(config: Result<GateConfig, ()>) -> Isolate {
        let cache = match &config {
            Ok(c) => TokenCache::new(c.cache.max_entries, c.cache.max_ttl_seconds),
            Err(()) => TokenCache::new(1, 0),
        };
        Isolate {
            config: config.map(Rc::new),
            cache,
            crypto_keys: HashMap::new(),
            signing_key: None,
        }
    }
}

thread_local! {
    static ISOLATE: RefCell<Option<Rc<RefCell<Isolate>>>> = const { RefCell::new(None) };
}

struct EnvSecrets<'a>(&'a Env);

impl SecretSource for EnvSecrets<'_> {
    fn secret(&self, name: &str) -> Option<String> {
        self.0.secret(name).ok().map(|s| s.to_string())
    }
}

fn load_config(env: &Env) -> Result<GateConfig, ConfigErrors> {
    // `[vars.EDGE_AUTH]` arrives as an object; `--var EDGE_AUTH:'{…}'` or a dashboard variable as a string.
    let value = match env.object_var::<serde_json::Value>("EDGE_AUTH") {
        Ok(value) => value,
        Err(_) => match env.var("EDGE_AUTH") {
            Ok(text) => serde_json::Value::String(text.to_string()),
            Err(_) => {
                return Err(ConfigErrors(vec![edge_auth_core::ConfigError {
                    path: String::new(),
                    message: "the EDGE_AUTH variable is not set".into(),
                }]))
            }
        },
    };
    GateConfig::from_value(&value, &EnvSecrets(env))
}

fn isolate(env: &Env) -> Rc<RefCell<Isolate>> {
    ISOLATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some(isolate) = slot.as_ref() {
            return Rc::clone(isolate);
        }
        let config = load_config(env).map_err(|errors| {
            // Logged once per isolate, with field paths; never the config itself.
            for error in &errors.0 {
                console_error!(
                    "{}",
                    serde_json::json!({"event": "config_error", "error": error.to_string()})
                );
            }
        });
        let isolate = Rc::new(RefCell::new(Isolate::new(config)));
        *slot = Some(Rc::clone(&isolate));
        isolate
    })
}

pub(crate) fn now() -> UnixTime {
    UnixTime(Date::now().as_millis() / 1000)
}

fn problem(refusal: &Refusal, realm: &str) -> worker::Result<Response> {
    let http = refusal.to_http(realm);
    let headers = Headers::new();
    headers.set("content-type", "application/problem+json")?;
    headers.set("cache-control", "no-store")?;
    if let Some(www) = &http.www_authenticate {
        headers.set("www-authenticate", www)?;
    }
    if http.status == 503 {
        headers.set("retry-after", "30")?;
    }
    Ok(Response::ok(http.body)?
        .with_status(http.status)
        .with_headers(headers))
}

/// One structured log line per decision. Never the token; the subject only as a short hash.
fn log_decision(
    started: f64,
    route: Option<usize>,
    decision: &str,
    code: Option<&str>,
    verified: Option<&VerifiedToken>,
    cache: Option<&str>,
) {
    let sub_hash = verified
        .and_then(|v| v.registered().sub.as_deref())
        .map(|sub| hex16(&Sha256::digest(sub.as_bytes())));
    console_log!(
        "{}",
        serde_json::json!({
            "event": "decision",
            "route": route,
            "decision": decision,
            "code": code,
            "issuer": verified.and_then(|v| v.registered().iss.as_deref()),
            "sub_hash": sub_hash,
            "cache": cache,
            "latency_ms": Date::now().as_millis() as f64 - started,
        })
    );
}

fn hex16(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    match handle(req, &env).await {
        Ok(response) => Ok(response),
        Err(error) => {
            // A runtime failure never escapes as an exception page: a generic problem, details logged.
            console_error!(
                "{}",
                serde_json::json!({"event": "internal_error", "error": error.to_string()})
            );
            problem(&Refusal::Internal, "edge-auth")
        }
    }
}

async fn handle(req: Request, env: &Env) -> worker::Result<Response> {
    let started = Date::now().as_millis() as f64;
    let isolate = isolate(env);
    let Ok(config) = isolate.borrow().config.clone() else {
        log_decision(started, None, "refuse", Some("config_invalid"), None, None);
        return problem(&Refusal::ConfigInvalid, "edge-auth");
    };
    let url = req.url()?;
    let method = req.method().to_string();
    let headers = req.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let (authorization, cookie) = (header("authorization"), header("cookie"));
    let (origin, referer, sec_fetch_site) = (
        header("origin"),
        header("referer"),
        header("sec-fetch-site"),
    );
    let (cors_method, cors_headers) = (
        header("access-control-request-method"),
        header("access-control-request-headers"),
    );
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let head = RequestHead {
        method: &method,
        url: url.as_str(),
        path: url.path(),
        host: &host,
        authorization: authorization.as_deref(),
        cookie: cookie.as_deref(),
        origin: origin.as_deref(),
        referer: referer.as_deref(),
        sec_fetch_site: sec_fetch_site.as_deref(),
        cors_method: cors_method.as_deref(),
        cors_headers: cors_headers.as_deref(),
    };
    let response = decide(&req, env, &isolate, &config, &url, &head, started).await?;
    let extra = gate::cors_response_headers(&config, &head);
    if extra.is_empty() {
        Ok(response)
    } else {
        with_headers(response, &extra)
    }
}

/// Appends headers to a response (its headers may be immutable: the response is rebuilt around them).
fn with_headers(response: Response, extra: &[(&'static str, String)]) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in response.headers().entries() {
        headers.append(&name, &value)?;
    }
    for (name, value) in extra {
        if *name == "vary" {
            headers.append(name, value)?;
        } else {
            headers.set(name, value)?;
        }
    }
    Ok(response.with_headers(headers))
}

async fn decide(
    req: &Request,
    env: &Env,
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    url: &Url,
    head: &RequestHead<'_>,
    started: f64,
) -> worker::Result<Response> {
    match gate::plan(config, head) {
        Plan::ServeJwks => {
            let headers = Headers::new();
            headers.set("content-type", "application/jwk-set+json")?;
            headers.set("cache-control", "public, max-age=300")?;
            log_decision(started, None, "jwks", None, None, None);
            Ok(Response::ok(config.assertion.jwks_json.clone())?.with_headers(headers))
        }
        Plan::Preflight(extra) => {
            let headers = Headers::new();
            for (name, value) in &extra {
                headers.set(name, value)?;
            }
            log_decision(started, None, "preflight", None, None, None);
            Ok(Response::empty()?.with_status(204).with_headers(headers))
        }
        Plan::Refuse(refusal) => {
            log_decision(started, None, "refuse", Some(refusal.code()), None, None);
            problem(&refusal, &config.realm)
        }
        Plan::ForwardAnonymous { route, path } => {
            log_decision(started, route, "forward_anonymous", None, None, None);
            forward(req, env, config, url, gate::forward_anonymous(path)).await
        }
        Plan::Verify {
            token,
            route,
            params,
            path,
        } => {
            let now = now();
            let (result, cache) = verify(isolate, config, &token, now).await;
            let verified = match result.map_err(Refusal::Token).and_then(|verified| {
                gate::authorize(config, route, &params, &verified).map(|()| verified)
            }) {
                Ok(verified) => verified,
                Err(refusal) => {
                    log_decision(
                        started,
                        route,
                        "refuse",
                        Some(refusal.code()),
                        None,
                        Some(cache),
                    );
                    return problem(&refusal, &config.realm);
                }
            };
            let mut jti = [0u8; 16];
            let input = getrandom::getrandom(&mut jti)
                .ok()
                .and_then(|()| gate::assertion_input(config, head, &verified, &token, now, jti));
            let Some(input) = input else {
                log_decision(
                    started,
                    route,
                    "refuse",
                    Some("internal_error"),
                    Some(&verified),
                    Some(cache),
                );
                return problem(&Refusal::ConfigInvalid, &config.realm);
            };
            let assertion = sign_assertion(isolate, config, input).await;
            let instructions = gate::forward_verified(config, head, path, assertion);
            log_decision(
                started,
                route,
                "forward",
                None,
                Some(&verified),
                Some(cache),
            );
            forward(req, env, config, url, instructions).await
        }
    }
}

/// Verification with the cache in front; returns whether the cache answered.
pub(crate) async fn verify(
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    token: &str,
    now: UnixTime,
) -> (Result<Arc<VerifiedToken>, VerifyError>, &'static str) {
    let cached = isolate.borrow_mut().cache.get(token, now);
    if let Some(hit) = cached {
        return (config.verifier.recheck(&hit, now).map(|()| hit), "hit");
    }
    let result = verify_uncached(isolate, config, token, now).await;
    let result = result.map(|verified| isolate.borrow_mut().cache.insert(token, verified, now));
    (result, "miss")
}

async fn verify_uncached(
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    token: &str,
    now: UnixTime,
) -> Result<VerifiedToken, VerifyError> {
    let pending = config.verifier.begin(token)?;
    let mut outcomes = Vec::new();
    for check in pending.checks() {
        if !uses_webcrypto(check.alg) || check.expected_len() != Some(check.signature.len()) {
            // HS* and ES256K run in Rust; wrong lengths are refused by the core before any backend.
            continue;
        }
        // A WebCrypto failure (import or verify) counts as "does not verify": fail closed.
        let ok = webcrypto_verify(isolate, &check).await.unwrap_or(false);
        outcomes.push((std::ptr::from_ref(check.key) as usize, check.alg, ok));
        if ok {
            break;
        }
    }
    pending
        .verify_signature(&Outcomes(outcomes))?
        .check_claims(now)
}

/// WebCrypto (native code) for everything it has; HMAC stays in Rust (cheaper than a JS round trip) and
/// secp256k1 is not in WebCrypto.
fn uses_webcrypto(alg: Algorithm) -> bool {
    !alg.is_symmetric() && alg != Algorithm::Es256k
}

/// Outcomes of the WebCrypto checks, handed back to the core by key identity; other checks run in Rust.
struct Outcomes(Vec<(usize, Algorithm, bool)>);

impl SignatureBackend for Outcomes {
    fn verify(&self, check: &SignatureCheck<'_>) -> Result<(), SignatureError> {
        if !uses_webcrypto(check.alg) {
            return RustCrypto.verify(check);
        }
        let address = std::ptr::from_ref(check.key) as usize;
        match self
            .0
            .iter()
            .find(|(key, alg, _)| *key == address && *alg == check.alg)
        {
            Some((_, _, true)) => Ok(()),
            _ => Err(SignatureError::Invalid),
        }
    }
}

thread_local! {
    static SUBTLE: std::cell::OnceCell<SubtleCrypto> = const { std::cell::OnceCell::new() };
}

/// `crypto.subtle`, looked up once per isolate.
fn subtle() -> Result<SubtleCrypto, JsValue> {
    if let Some(subtle) = SUBTLE.with(|s| s.get().cloned()) {
        return Ok(subtle);
    }
    let global: WorkerGlobalScope = js_sys::global().unchecked_into();
    let subtle = global.crypto()?.subtle();
    SUBTLE.with(|s| s.set(subtle.clone()).ok());
    Ok(subtle)
}

fn object(pairs: &[(&str, JsValue)]) -> Result<Object, JsValue> {
    let object = Object::new();
    for (name, value) in pairs {
        Reflect::set(&object, &JsValue::from_str(name), value)?;
    }
    Ok(object)
}

/// The WebCrypto import and verify parameters for a JWS algorithm.
fn webcrypto_params(alg: Algorithm) -> Result<(Object, Object), JsValue> {
    let s = |v: &str| JsValue::from_str(v);
    let hash = |bits: u32| s(&format!("SHA-{bits}"));
    let bits = match alg {
        Algorithm::Rs256 | Algorithm::Ps256 | Algorithm::Es256 => 256,
        Algorithm::Rs384 | Algorithm::Ps384 | Algorithm::Es384 => 384,
        _ => 512,
    };
    Ok(match alg.family() {
        KeyFamily::Rsa if matches!(alg, Algorithm::Rs256 | Algorithm::Rs384 | Algorithm::Rs512) => {
            (
                object(&[("name", s("RSASSA-PKCS1-v1_5")), ("hash", hash(bits))])?,
                object(&[("name", s("RSASSA-PKCS1-v1_5"))])?,
            )
        }
        KeyFamily::Rsa => (
            object(&[("name", s("RSA-PSS")), ("hash", hash(bits))])?,
            object(&[
                ("name", s("RSA-PSS")),
                ("saltLength", JsValue::from(bits / 8)),
            ])?,
        ),
        KeyFamily::Ec(curve) => (
            object(&[("name", s("ECDSA")), ("namedCurve", s(curve.name()))])?,
            object(&[("name", s("ECDSA")), ("hash", hash(bits))])?,
        ),
        KeyFamily::Ed25519 => (
            object(&[("name", s("Ed25519"))])?,
            object(&[("name", s("Ed25519"))])?,
        ),
        KeyFamily::Oct => return Err(s("HMAC stays in Rust")),
    })
}

/// Imports a JWK into WebCrypto, non-extractable, for one usage.
async fn import_jwk(
    mut jwk: serde_json::Map<String, serde_json::Value>,
    import: &Object,
    usage: &str,
) -> Result<CryptoKey, JsValue> {
    // WebCrypto checks `alg` against the import algorithm; our key selection already did (and knows
    // `Ed25519` as a name for EdDSA, which WebCrypto's JWK import does not).
    for member in ["alg", "kid", "use"] {
        jwk.remove(member);
    }
    let jwk: Object =
        js_sys::JSON::parse(&serde_json::Value::Object(jwk).to_string())?.dyn_into()?;
    let usages = js_sys::Array::of1(&JsValue::from_str(usage));
    Settled::new(&subtle()?.import_key_with_object("jwk", &jwk, import, false, &usages)?)
        .await?
        .dyn_into()
}

/// Imports a key once per (key, algorithm) and keeps it, with its verify parameters, for the life of
/// the isolate.
async fn crypto_key(
    isolate: &Rc<RefCell<Isolate>>,
    key: &Key,
    alg: Algorithm,
) -> Result<(CryptoKey, Object), JsValue> {
    let slot = (std::ptr::from_ref(key) as usize, alg);
    if let Some(found) = isolate.borrow().crypto_keys.get(&slot) {
        return Ok(found.clone());
    }
    let (import, params) = webcrypto_params(alg)?;
    let imported = import_jwk(key.to_jwk(), &import, "verify").await?;
    isolate
        .borrow_mut()
        .crypto_keys
        .insert(slot, (imported.clone(), params.clone()));
    Ok((imported, params))
}

async fn webcrypto_verify(
    isolate: &Rc<RefCell<Isolate>>,
    check: &SignatureCheck<'_>,
) -> Result<bool, JsValue> {
    let (key, params) = crypto_key(isolate, check.key, check.alg).await?;
    let signature = Uint8Array::from(check.signature);
    let data = Uint8Array::from(check.signing_input);
    let promise = subtle()?
        .verify_with_object_and_buffer_source_and_buffer_source(&params, &key, &signature, &data)?;
    Ok(Settled::new(&promise).await?.as_bool() == Some(true))
}

/// Signs the assertion with WebCrypto (EdDSA, ES256: native code, imported once per isolate); HS256,
/// and any WebCrypto failure, sign in Rust.
pub(crate) async fn sign_assertion(
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    input: String,
) -> String {
    match webcrypto_sign(isolate, config, &input).await {
        Ok(signature) => attach_signature(input, &signature),
        Err(_) => gate::sign_in_rust(config, input),
    }
}

async fn webcrypto_sign(
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    input: &str,
) -> Result<Vec<u8>, JsValue> {
    let s = |v: &str| JsValue::from_str(v);
    let key = &config.assertion.signing_key;
    let (import, params) = match key.algorithm() {
        Algorithm::EdDsa => (
            object(&[("name", s("Ed25519"))])?,
            object(&[("name", s("Ed25519"))])?,
        ),
        Algorithm::Es256 => (
            object(&[("name", s("ECDSA")), ("namedCurve", s("P-256"))])?,
            object(&[("name", s("ECDSA")), ("hash", s("SHA-256"))])?,
        ),
        _ => return Err(s("signed in Rust")),
    };
    let cached = isolate.borrow().signing_key.clone();
    let crypto_key = match cached {
        Some(found) => found,
        None => {
            let imported = import_jwk(key.to_private_jwk(), &import, "sign").await?;
            isolate.borrow_mut().signing_key = Some(imported.clone());
            imported
        }
    };
    let data = Uint8Array::from(input.as_bytes());
    let signature =
        Settled::new(&subtle()?.sign_with_object_and_buffer_source(&params, &crypto_key, &data)?)
            .await?;
    Ok(Uint8Array::new(&signature).to_vec())
}

/// Forwards to the origin (`ORIGIN`, or the request's own URL) with the inbound assertion headers
/// removed, the instructed header changes, the method and the streamed body.
async fn forward(
    req: &Request,
    env: &Env,
    config: &GateConfig,
    url: &Url,
    how: Forward,
) -> worker::Result<Response> {
    let mut target = match env.var("ORIGIN") {
        Ok(origin) => {
            let mut target = Url::parse(&origin.to_string())?;
            target.set_query(url.query());
            target
        }
        Err(_) => url.clone(),
    };
    // The origin gets the normalized path the rules matched, not the one received.
    target.set_path(&how.path);
    let headers = Headers::new();
    for (name, value) in req.headers().entries() {
        headers.append(&name, &value)?;
    }
    // Headers are case-insensitive: one delete removes every inbound copy, whatever its casing.
    headers.delete(&config.assertion.header)?;
    if how.remove_authorization {
        headers.delete("authorization")?;
    }
    match how.cookie {
        Some(Some(cookie)) => headers.set("cookie", &cookie)?,
        Some(None) => headers.delete("cookie")?,
        None => {}
    }
    if let Some(assertion) = &how.assertion {
        headers.set(&config.assertion.header, assertion)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(req.method().to_string()))
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    if let Some(body) = req.inner().body() {
        init.with_body(Some(JsValue::from(body)));
    }
    let outbound = Request::new_with_init(target.as_str(), &init)?;
    match Fetch::Request(outbound).send().await {
        Ok(response) => Ok(response),
        Err(error) => {
            console_error!(
                "{}",
                serde_json::json!({"event": "origin_error", "error": error.to_string()})
            );
            problem(&Refusal::OriginUnreachable, &config.realm)
        }
    }
}
