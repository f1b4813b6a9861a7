//! What one isolate keeps between requests, made on its first request: the compiled configuration (or
//! the fact that it is broken), where requests go, the verified-token cache, the WebCrypto backend and
//! the remote key sets. The bottom layer of the Worker with `runtime` (the runtime's `env`, `ctx`, timers and clock, which
//! uses only `log`): every other module uses it; it uses only `runtime` and `log`.

use std::cell::RefCell;
use std::rc::Rc;

use edge_auth_core::{
    ConfigErrors, GateConfig, KeyState, RevocationView, SecretSource, TokenCache, UnixTime,
};
use edge_auth_gate::Upstream;
use edge_auth_webcrypto::WebCrypto;
use wasm_bindgen::JsValue;

use crate::runtime::Env;

/// One remote issuer's keys in this isolate.
#[derive(Default)]
pub(crate) struct RemoteIssuer {
    pub(crate) state: KeyState,
    /// The JWKS URL (from config, or found by discovery).
    pub(crate) jwks_uri: Option<String>,
}

/// One issuer's revocation state in this isolate: its copy of the object's log, and the sync in flight.
#[derive(Default)]
pub(crate) struct IssuerRevocations {
    pub(crate) view: RevocationView,
    /// Until when (ms, `Date.now()`) a sync another request started counts as running: requests that
    /// need one meanwhile wait for it. A sync that never finishes (its request was cancelled) stops
    /// counting after this.
    pub(crate) syncing_until: Option<f64>,
    /// Completed syncs, and whether the last one succeeded: what a waiting request reads.
    pub(crate) syncs: u64,
    pub(crate) last_ok: bool,
    /// Until when (ms) no new sync is tried after a failed one: requests meanwhile count the state as
    /// unreadable at once (fail fast) instead of each waiting for another call to time out.
    pub(crate) failed_until: f64,
}

/// Per-issuer state by issuer index: a short list (an isolate serves a few issuers), not a `HashMap`,
/// whose code is about 1.5 KB per value type.
pub(crate) struct ByIssuer<T>(Vec<(usize, T)>);

impl<T: Default> ByIssuer<T> {
    fn new() -> ByIssuer<T> {
        ByIssuer(Vec::new())
    }

    /// The issuer's state (made on first use).
    pub(crate) fn entry(&mut self, index: usize) -> &mut T {
        let list = &mut self.0;
        let at = match list.iter().position(|(i, _)| *i == index) {
            Some(at) => at,
            None => {
                list.push((index, T::default()));
                list.len() - 1
            }
        };
        #[allow(
            clippy::indexing_slicing,
            reason = "`at` was found in the list or pushed onto it just above"
        )]
        &mut list[at].1
    }

    /// The issuer's state, if it has one.
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.0
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, state)| state)
    }
}

pub(crate) struct Isolate {
    pub(crate) config: Result<Rc<GateConfig>, ()>,
    /// `ORIGIN`, compiled (`None`: forward to the request's own URL).
    pub(crate) upstream: Option<Upstream>,
    pub(crate) cache: TokenCache,
    /// Shared with requests in flight (it is used across awaits; the isolate's cell never is).
    pub(crate) crypto: Rc<WebCrypto>,
    /// Remote key sets, per issuer index.
    pub(crate) remote: ByIssuer<RemoteIssuer>,
    /// The revocation objects' namespace (`revocation.binding`); `None`: not configured or not bound.
    pub(crate) objects: Option<JsValue>,
    /// Revocation state, per issuer index.
    pub(crate) revocations: ByIssuer<IssuerRevocations>,
}

impl Isolate {
    /// `seed` keys the token cache's hash: 16 random bytes (std's `RandomState` has no randomness on
    /// wasm32, so its keys would be the same in every isolate, and tokens could be chosen to share one
    /// bucket).
    pub(crate) fn new(
        loaded: Result<(GateConfig, Option<Upstream>), ()>,
        seed: [u8; 16],
        crypto: WebCrypto,
    ) -> Isolate {
        let (config, upstream) = match loaded {
            Ok((config, upstream)) => (Ok(config), upstream),
            Err(()) => (Err(()), None),
        };
        let cache = match &config {
            Ok(c) => c.cache.token_cache(seed),
            Err(()) => TokenCache::new(1, 0, seed),
        };
        Isolate {
            config: config.map(Rc::new),
            upstream,
            cache,
            crypto: Rc::new(crypto),
            remote: ByIssuer::new(),
            objects: None,
            revocations: ByIssuer::new(),
        }
    }

    /// An issuer's fetched keys changed: verified tokens and imported keys of the old set go.
    pub(crate) fn keys_changed(&mut self) {
        self.cache.clear();
        self.crypto.clear();
    }
}

thread_local! {
    static ISOLATE: RefCell<Option<Rc<RefCell<Isolate>>>> = const { RefCell::new(None) };
}

struct EnvSecrets<'a>(&'a Env);

impl SecretSource for EnvSecrets<'_> {
    fn secret(&self, name: &str) -> Option<String> {
        string_binding(self.0, name)
    }
}

/// A string binding (a secret or a text variable) as `Env::secret` and `Env::var` read it (worker 0.8.7
/// `env.rs`: `Reflect.get`, `undefined` is none, the value's constructor must be named `String`, then
/// its text), without the error values and messages they build for a missing one.
fn string_binding(env: &Env, name: &str) -> Option<String> {
    let value = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if value.is_undefined() {
        return None;
    }
    let object = js_sys::Object::from(value);
    if object.constructor().name() != "String" {
        return None;
    }
    Some(object.as_string().unwrap_or_default())
}

fn load_config(env: &Env) -> Result<GateConfig, ConfigErrors> {
    let missing = |message: &str| {
        ConfigErrors(vec![edge_auth_core::ConfigError {
            path: String::new(),
            message: message.into(),
        }])
    };
    let binding = js_sys::Reflect::get(env, &wasm_bindgen::JsValue::from_str("EDGE_AUTH"))
        .map_err(|_| missing("the EDGE_AUTH variable cannot be read"))?;
    // A `[vars.EDGE_AUTH]` table arrives as a JS object: one `JSON.stringify` (one crossing into JS)
    // rather than a walk over the object member by member, then the strict parser, as for a string.
    let text = if let Some(text) = binding.as_string() {
        text
    } else if binding.is_object() {
        js_sys::JSON::stringify(&binding)
            .ok()
            .and_then(|text| text.as_string())
            .ok_or_else(|| missing("the EDGE_AUTH variable is not JSON"))?
    } else {
        return Err(missing("the EDGE_AUTH variable is not set"));
    };
    GateConfig::from_value(&serde_json::Value::String(text), &EnvSecrets(env))
}

fn load_upstream(env: &Env) -> Result<Option<Upstream>, String> {
    match string_binding(env, "ORIGIN") {
        Some(origin) => Upstream::parse(&origin)
            .map(Some)
            .map_err(|why| format!("ORIGIN: {why}")),
        None => Ok(None),
    }
}

/// The isolate's state, made on its first request. `Err`: the runtime gave no randomness (for the
/// cache's hash seed) or no `crypto.subtle`; the request gets a 500 and the next one tries again.
pub(crate) fn isolate(env: &Env) -> Result<Rc<RefCell<Isolate>>, String> {
    ISOLATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some(isolate) = slot.as_ref() {
            return Ok(Rc::clone(isolate));
        }
        let isolate = Rc::new(RefCell::new(create(env)?));
        *slot = Some(Rc::clone(&isolate));
        Ok(isolate)
    })
}

/// The first request's work, kept out of line: inlined, it would make the fetch handler's state
/// machine (one wasm function, compiled on the first request) larger for every request.
#[inline(never)]
fn create(env: &Env) -> Result<Isolate, String> {
    let mut seed = [0u8; 16];
    edge_auth_webcrypto::random_bytes(&mut seed)?;
    let crypto = WebCrypto::new().map_err(|e| format!("crypto.subtle: {e:?}"))?;
    // Logged once per isolate, with field paths; never the config itself.
    let log = |error: String| {
        crate::log::error_event("config_error", &error);
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
    let mut isolate = Isolate::new(loaded, seed, crypto);
    if let Ok(config) = &isolate.config {
        if let Some(revocation) = &config.revocation {
            // Bindings do not change during an isolate's life: looked up once. Unbound, every read
            // of the state fails (503 `revocation_unavailable` with `fail = "closed"`).
            let binding = js_sys::Reflect::get(env, &JsValue::from_str(&revocation.binding))
                .ok()
                .filter(JsValue::is_object);
            if binding.is_none() {
                crate::log::error(
                    edge_auth_core::JsonObject::new()
                        .str("binding", &revocation.binding)
                        .str("event", "revocation_binding_missing"),
                );
            }
            isolate.objects = binding;
        }
    }
    Ok(isolate)
}

/// The clock, in whole seconds (the core is given `now`; it never reads a clock).
pub(crate) fn now() -> UnixTime {
    // `Date.now()` is a whole, non-negative number of milliseconds below 2^53: the cast is exact
    // (and `as` saturates on anything else rather than wrapping).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "Date.now() is a whole number of milliseconds in 0..2^53"
    )]
    let ms = crate::runtime::now_ms() as u64;
    UnixTime(ms / 1000)
}
