//! The `#[event(fetch)]` handler (wasm32 only). It translates: request → [`gate::plan`] → verification
//! (cache, then the core with WebCrypto for asymmetric signatures) → forward or refuse. Decisions live
//! in the core, [`crate::gate`] and [`crate::http`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use edge_auth_core::{
    attach_signature, Algorithm, CacheGeneration, ConfigErrors, GateConfig, Key, KeyFamily, KeySet,
    RustCrypto, SecretSource, SelectError, SignatureBackend, SignatureCheck, SignatureError,
    TokenCache, UnixTime, VerifiedToken, VerifyError,
};
use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CryptoKey, SubtleCrypto, WorkerGlobalScope};
use worker::{
    console_error, console_log, event, Context, Date, Env, Fetch, Headers, Method, Request,
    RequestInit, RequestRedirect, Response, Url,
};

use crate::gate::{self, Forward, Plan, RequestHead, Upstream};
use crate::http::Refusal;
use crate::keys::{self, RemoteMap};
use crate::promise::Settled;

/// An imported verification key, its verify parameters, and the fetched set that holds the key.
type ImportedKey = (CryptoKey, Object, Option<Arc<KeySet>>);

/// What one isolate keeps between requests: the compiled config (or why it failed), where requests go,
/// the verified-token cache and the imported WebCrypto keys.
pub(crate) struct Isolate {
    pub(crate) config: Result<Rc<GateConfig>, ()>,
    /// `ORIGIN`, compiled (`None`: forward to the request's own URL).
    upstream: Option<Upstream>,
    cache: TokenCache,
    /// Imported verification keys and their verify parameters, per (key address, algorithm). A fetched
    /// key set is held by its entries, so that its addresses cannot be reused while they are cached.
    crypto_keys: HashMap<(usize, Algorithm), ImportedKey>,
    /// Remote key sets, per issuer index.
    pub(crate) remote: RemoteMap,
    /// The assertion signing key, imported into WebCrypto once (EdDSA and ES256).
    signing_key: Option<CryptoKey>,
}

impl Isolate {
    /// `seed` keys the token cache's hash: 16 random bytes (std's `RandomState` has no randomness on
    /// wasm32, so its keys would be the same in every isolate, and tokens could be chosen to share one
    /// bucket).
    pub(crate) fn new(
        loaded: Result<(GateConfig, Option<Upstream>), ()>,
        seed: [u8; 16],
    ) -> Isolate {
        let (config, upstream) = match loaded {
            Ok((config, upstream)) => (Ok(config), upstream),
            Err(()) => (Err(()), None),
        };
        let cache = match &config {
            Ok(c) => TokenCache::new(c.cache.max_entries, c.cache.max_ttl_seconds, seed),
            Err(()) => TokenCache::new(1, 0, seed),
        };
        Isolate {
            config: config.map(Rc::new),
            upstream,
            cache,
            crypto_keys: HashMap::new(),
            remote: RemoteMap::new(),
            signing_key: None,
        }
    }

    /// An issuer's fetched keys changed: verified tokens and imported keys of the old set go.
    pub(crate) fn keys_changed(&mut self) {
        self.cache.clear();
        self.crypto_keys
            .retain(|_, (_, _, pinned)| pinned.is_none());
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

/// `ORIGIN`, if set; a value that cannot be an origin is a configuration error (logged, never echoed).
fn load_upstream(env: &Env) -> Result<Option<Upstream>, String> {
    match env.var("ORIGIN") {
        Ok(origin) => Upstream::parse(&origin.to_string())
            .map(Some)
            .map_err(|why| format!("ORIGIN: {why}")),
        Err(_) => Ok(None),
    }
}

/// The isolate's state, made on its first request. `Err`: no randomness for the cache's hash seed; the
/// request gets a 500 and the next one tries again.
fn isolate(env: &Env) -> Result<Rc<RefCell<Isolate>>, getrandom::Error> {
    ISOLATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some(isolate) = slot.as_ref() {
            return Ok(Rc::clone(isolate));
        }
        let mut seed = [0u8; 16];
        getrandom::getrandom(&mut seed)?;
        // Logged once per isolate, with field paths; never the config itself.
        let log = |error: String| {
            console_error!(
                "{}",
                serde_json::json!({"event": "config_error", "error": error})
            );
        };
        let config = load_config(env).map_err(|errors| {
            for error in &errors.0 {
                log(error.to_string());
            }
        });
        let upstream = load_upstream(env).map_err(log);
        let loaded = match (config, upstream) {
            (Ok(config), Ok(upstream)) => Ok((config, upstream)),
            _ => Err(()),
        };
        let isolate = Rc::new(RefCell::new(Isolate::new(loaded, seed)));
        *slot = Some(Rc::clone(&isolate));
        Ok(isolate)
    })
}

pub(crate) fn now() -> UnixTime {
    UnixTime(Date::now().as_millis() / 1000)
}

fn problem(refusal: &Refusal, realm: &str) -> worker::Result<Response> {
    problem_with_retry(refusal, realm, None)
}

/// A refusal; a 503 carries `Retry-After` (`retry_after` seconds, else 30).
fn problem_with_retry(
    refusal: &Refusal,
    realm: &str,
    retry_after: Option<u64>,
) -> worker::Result<Response> {
    let http = refusal.to_http(realm);
    let headers = Headers::new();
    headers.set("content-type", "application/problem+json")?;
    headers.set("cache-control", "no-store")?;
    if let Some(www) = &http.www_authenticate {
        headers.set("www-authenticate", www)?;
    }
    if http.status == 503 {
        headers.set("retry-after", &retry_after.unwrap_or(30).max(1).to_string())?;
    }
    Ok(Response::ok(http.body)?
        .with_status(http.status)
        .with_headers(headers))
}

/// One structured log line per decision. Never the token; the subject only as a keyed hash (HMAC under
/// a per-deployment key, so that a log reader cannot confirm a guessed subject). `io_wait_ms` is the
/// time from the request's arrival to the decision as `Date.now()` sees it: the Workers runtime
/// advances that clock only while the isolate awaits I/O (key fetches, WebCrypto), so it measures
/// waiting, not computation.
fn log_decision(
    config: Option<&GateConfig>,
    started: f64,
    route: Option<usize>,
    decision: &str,
    code: Option<&str>,
    verified: Option<&VerifiedToken>,
    sources: Option<&Sources>,
) {
    let sub_hash = verified
        .and_then(|v| v.registered().sub.as_deref())
        .zip(config)
        .map(|(sub, config)| {
            let tag = config.decision_log_key.mac(&[sub.as_bytes()]);
            keys::hex(tag.get(..8).unwrap_or_default())
        });
    console_log!(
        "{}",
        serde_json::json!({
            "event": "decision",
            "route": route,
            "decision": decision,
            "code": code,
            "issuer": verified.and_then(|v| v.registered().iss.as_deref()),
            "sub_hash": sub_hash,
            "cache": sources.map(|s| s.cache),
            "keys": sources.and_then(|s| s.keys),
            "io_wait_ms": Date::now().as_millis() as f64 - started,
        })
    );
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    match handle(req, &env, &ctx).await {
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

async fn handle(req: Request, env: &Env, ctx: &Context) -> worker::Result<Response> {
    let started = Date::now().as_millis() as f64;
    let isolate = match isolate(env) {
        Ok(isolate) => isolate,
        Err(error) => {
            console_error!(
                "{}",
                serde_json::json!({"event": "internal_error", "error": format!("getrandom: {error}")})
            );
            log_decision(
                None,
                started,
                None,
                "refuse",
                Some("internal_error"),
                None,
                None,
            );
            return problem(&Refusal::Internal, "edge-auth");
        }
    };
    let Ok(config) = isolate.borrow().config.clone() else {
        log_decision(
            None,
            started,
            None,
            "refuse",
            Some("config_invalid"),
            None,
            None,
        );
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
    let response = decide(&req, ctx, &isolate, &config, &url, &head, started).await?;
    match gate::response_headers(&config, &head, response.headers().entries()) {
        None => Ok(response),
        Some(list) => {
            // The response's own headers may be immutable: it is rebuilt around the new list.
            let headers = Headers::new();
            for (name, value) in &list {
                headers.append(name, value)?;
            }
            Ok(response.with_headers(headers))
        }
    }
}

async fn decide(
    req: &Request,
    ctx: &Context,
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
            log_decision(Some(config), started, None, "jwks", None, None, None);
            Ok(Response::ok(config.assertion.jwks_json.clone())?.with_headers(headers))
        }
        Plan::ServeStatus => {
            let headers = Headers::new();
            headers.set("content-type", "application/json")?;
            headers.set("cache-control", "no-store")?;
            log_decision(Some(config), started, None, "status", None, None, None);
            Ok(Response::ok(keys::status(isolate, config).to_string())?.with_headers(headers))
        }
        Plan::Preflight(extra) => {
            let headers = Headers::new();
            for (name, value) in &extra {
                headers.set(name, value)?;
            }
            log_decision(Some(config), started, None, "preflight", None, None, None);
            Ok(Response::empty()?.with_status(204).with_headers(headers))
        }
        Plan::Refuse(refusal) => {
            log_decision(
                Some(config),
                started,
                None,
                "refuse",
                Some(refusal.code()),
                None,
                None,
            );
            problem(&refusal, &config.realm)
        }
        Plan::ForwardAnonymous { route, path } => {
            log_decision(
                Some(config),
                started,
                route,
                "forward_anonymous",
                None,
                None,
                None,
            );
            let how = gate::forward_anonymous(config, head, path);
            forward(req, isolate, config, url, how).await
        }
        Plan::Verify {
            token,
            route,
            params,
            path,
        } => {
            let now = now();
            let (result, sources) = verify(isolate, config, &token, now, Some(ctx)).await;
            let verified = match result.map_err(Refusal::Token).and_then(|verified| {
                gate::authorize(config, route, &params, &verified).map(|()| verified)
            }) {
                Ok(verified) => verified,
                Err(refusal) => {
                    log_decision(
                        Some(config),
                        started,
                        route,
                        "refuse",
                        Some(refusal.code()),
                        None,
                        Some(&sources),
                    );
                    return problem_with_retry(&refusal, &config.realm, sources.retry_after);
                }
            };
            // Neither can fail for a request the runtime parsed; if one does, it is our fault (500),
            // not the configuration's.
            let mut jti = [0u8; 16];
            let input = getrandom::getrandom(&mut jti).ok().and_then(|()| {
                gate::assertion_input(config, head, &path, &verified, &token, now, jti)
            });
            let assertion = match input {
                Some(input) => sign_assertion(isolate, config, input).await,
                None => Err("no jti or htu for the assertion".to_owned()),
            };
            let assertion = match assertion {
                Ok(assertion) => assertion,
                Err(error) => {
                    console_error!(
                        "{}",
                        serde_json::json!({"event": "assertion_sign_error", "error": error})
                    );
                    log_decision(
                        Some(config),
                        started,
                        route,
                        "refuse",
                        Some(Refusal::Internal.code()),
                        Some(&verified),
                        Some(&sources),
                    );
                    return problem(&Refusal::Internal, &config.realm);
                }
            };
            let instructions = gate::forward_verified(config, head, path, assertion);
            log_decision(
                Some(config),
                started,
                route,
                "forward",
                None,
                Some(&verified),
                Some(&sources),
            );
            forward(req, isolate, config, url, instructions).await
        }
    }
}

/// How a verification went, for the decision log.
pub(crate) struct Sources {
    /// The verified-token cache: `hit` or `miss`.
    pub(crate) cache: &'static str,
    /// For remote-keys issuers: `memory`, `memory-stale`, `fetch`, `fetch-shared`, `fetch-kid`.
    pub(crate) keys: Option<&'static str>,
    /// Seconds to announce in `Retry-After` when the keys are unavailable.
    pub(crate) retry_after: Option<u64>,
}

/// Verification with the cache in front.
pub(crate) async fn verify(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    token: &str,
    now: UnixTime,
    ctx: Option<&Context>,
) -> (Result<Arc<VerifiedToken>, VerifyError>, Sources) {
    let mut sources = Sources {
        cache: "hit",
        keys: None,
        retry_after: None,
    };
    let cached = isolate.borrow_mut().cache.get(token, now);
    if let Some(hit) = cached {
        return (config.verifier.recheck(&hit, now).map(|()| hit), sources);
    }
    sources.cache = "miss";
    let result = verify_uncached(isolate, config, token, now, ctx, &mut sources).await;
    // Not cached when the keys changed after they were selected (the cache was cleared in between),
    // and never kept longer than the key set that verified it stays usable.
    let result = result.map(|(verified, keys)| {
        isolate
            .borrow_mut()
            .cache
            .insert(token, verified, now, keys.generation, keys.usable_until)
    });
    (result, sources)
}

/// The key set a verification used, as the token cache needs it.
struct KeysUsed {
    /// The cache's generation when the set was selected.
    generation: CacheGeneration,
    /// Until when the set may verify tokens (remote keys only).
    usable_until: Option<u64>,
}

async fn verify_uncached(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    token: &str,
    now: UnixTime,
    ctx: Option<&Context>,
    sources: &mut Sources,
) -> Result<(VerifiedToken, KeysUsed), VerifyError> {
    let routed = config.verifier.route(token)?;
    let remote = routed.policy().is_remote().then(|| routed.issuer_index());
    let pending = if let Some(index) = remote {
        let (mut keys, from) = match keys::keys_for(isolate, config, index, ctx).await {
            Ok(found) => found,
            Err(unavailable) => {
                sources.retry_after = Some(unavailable.retry_after);
                return Err(SelectError::KeysUnavailable.into());
            }
        };
        sources.keys = Some(from);
        // A `kid` the set does not hold may be a rotation: one bounded refetch.
        if let Some(kid) = routed.kid() {
            if !keys.keys().iter().any(|k| k.kid() == Some(kid)) {
                if let Some(fresh) = keys::refetch_for_kid(isolate, config, index).await {
                    keys = fresh;
                    sources.keys = Some("fetch-kid");
                }
            }
        }
        routed.select_from(keys)?
    } else {
        routed.select()?
    };
    // Read now, with the set in hand: a refetch that replaces it from here on clears the cache, and
    // this verification is then not inserted.
    let used = KeysUsed {
        generation: isolate.borrow().cache.generation(),
        usable_until: remote.and_then(|index| keys::usable_until(isolate, config, index)),
    };
    let pinned = pending.fetched_keys();
    let mut outcomes = Vec::new();
    for check in pending.checks() {
        if !uses_webcrypto(check.alg) || check.expected_len() != Some(check.signature.len()) {
            // HS* and ES256K run in Rust; wrong lengths are refused by the core before any backend.
            continue;
        }
        // A WebCrypto failure (import or verify) counts as "does not verify": fail closed.
        let ok = webcrypto_verify(isolate, &check, pinned.as_ref())
            .await
            .unwrap_or(false);
        outcomes.push((std::ptr::from_ref(check.key) as usize, check.alg, ok));
        if ok {
            break;
        }
    }
    let verified = pending
        .verify_signature(&Outcomes(outcomes))?
        .check_claims(now)?;
    Ok((verified, used))
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
    pinned: Option<&Arc<KeySet>>,
) -> Result<(CryptoKey, Object), JsValue> {
    let slot = (std::ptr::from_ref(key) as usize, alg);
    if let Some((found, params, _)) = isolate.borrow().crypto_keys.get(&slot) {
        return Ok((found.clone(), params.clone()));
    }
    let (import, params) = webcrypto_params(alg)?;
    let imported = import_jwk(key.to_jwk(), &import, "verify").await?;
    isolate.borrow_mut().crypto_keys.insert(
        slot,
        (imported.clone(), params.clone(), pinned.map(Arc::clone)),
    );
    Ok((imported, params))
}

async fn webcrypto_verify(
    isolate: &Rc<RefCell<Isolate>>,
    check: &SignatureCheck<'_>,
    pinned: Option<&Arc<KeySet>>,
) -> Result<bool, JsValue> {
    let (key, params) = crypto_key(isolate, check.key, check.alg, pinned).await?;
    let signature = Uint8Array::from(check.signature);
    let data = Uint8Array::from(check.signing_input);
    let promise = subtle()?
        .verify_with_object_and_buffer_source_and_buffer_source(&params, &key, &signature, &data)?;
    Ok(Settled::new(&promise).await?.as_bool() == Some(true))
}

/// Signs the assertion: EdDSA and ES256 with WebCrypto (native code, the key imported once per
/// isolate), HS256 in Rust (cheaper than a round trip to JS). A WebCrypto failure is an error the
/// caller answers with 500 and logs: there is no silent second signer.
pub(crate) async fn sign_assertion(
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    input: String,
) -> Result<String, String> {
    let key = &config.assertion.signing_key;
    let params = match key.algorithm() {
        Algorithm::EdDsa => SignParams::Ed25519,
        Algorithm::Es256 => SignParams::EcdsaP256,
        // Config admits only EdDSA, ES256 and HS256 assertion keys.
        _ => return Ok(gate::sign_in_rust(config, input)),
    };
    match webcrypto_sign(isolate, config, params, &input).await {
        Ok(signature) => Ok(attach_signature(input, &signature)),
        Err(error) => Err(format!(
            "WebCrypto {} signing failed: {}",
            key.algorithm(),
            error.as_string().unwrap_or_else(|| format!("{error:?}"))
        )),
    }
}

/// The WebCrypto algorithms assertions are signed with.
#[derive(Clone, Copy)]
enum SignParams {
    Ed25519,
    EcdsaP256,
}

async fn webcrypto_sign(
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    params: SignParams,
    input: &str,
) -> Result<Vec<u8>, JsValue> {
    let s = |v: &str| JsValue::from_str(v);
    let key = &config.assertion.signing_key;
    let (import, params) = match params {
        SignParams::Ed25519 => (
            object(&[("name", s("Ed25519"))])?,
            object(&[("name", s("Ed25519"))])?,
        ),
        SignParams::EcdsaP256 => (
            object(&[("name", s("ECDSA")), ("namedCurve", s("P-256"))])?,
            object(&[("name", s("ECDSA")), ("hash", s("SHA-256"))])?,
        ),
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

/// Forwards to the origin (`ORIGIN` with its path prefix, or the request's own URL) with the inbound
/// assertion headers removed, the instructed header changes, the method and the streamed body.
async fn forward(
    req: &Request,
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    url: &Url,
    how: Forward,
) -> worker::Result<Response> {
    // The origin gets the normalized path the rules matched, not the one received.
    let target = gate::forward_url(isolate.borrow().upstream.as_ref(), url, &how.path);
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
