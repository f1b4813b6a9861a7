//! Remote key sets for issuers configured with `jwks_uri` or `discovery = true` (wasm32 only).
//!
//! The decisions (fresh, stale-while-revalidate, stale-if-error, single flight, unknown-`kid`
//! cooldown, failure backoff) are the core's [`KeyState`]; this module does the I/O: the fetch with a
//! timeout, no redirects and a size limit, OpenID discovery, and the wait of the requests that need a
//! fetch another request is running. Keys live in the isolate (zero fetches on the hot path), over the
//! Workers Cache API (shared by the isolates of a data centre), so a fresh isolate usually starts warm.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use edge_auth_core::{
    discovery_jwks_uri, load_jwks, FetchTicket, GateConfig, KeySet, KidRefetch, Lookup,
    RemoteSource,
};
use edge_auth_webcrypto::Settled;
use futures_util::future::{select, Either};
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    AbortController, AbortSignal, Cache, Headers, ReadableStreamDefaultReader, Request,
    RequestInit, RequestRedirect, Response, ResponseInit, WorkerGlobalScope,
};

use crate::isolate::{now, Isolate, RemoteIssuer};
use crate::runtime::{Delay, ExecutionContext};

/// Where the keys for a request came from, for the decision log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeysFrom {
    /// This isolate's fresh set.
    Memory,
    /// This isolate's expired set (a background refresh runs, or fetches fail: stale-if-error).
    MemoryStale,
    /// Another isolate's set, from the Cache API.
    SharedCache,
    /// Fetched from the provider by this request.
    Fetch,
    /// Fetched by another request this one waited for.
    FetchWait,
    /// Refetched for a `kid` the set did not hold.
    FetchKid,
}

impl KeysFrom {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeysFrom::Memory => "memory",
            KeysFrom::MemoryStale => "memory-stale",
            KeysFrom::SharedCache => "shared-cache",
            KeysFrom::Fetch => "fetch",
            KeysFrom::FetchWait => "fetch-wait",
            KeysFrom::FetchKid => "fetch-kid",
        }
    }
}

/// Why no keys: answer 503 with `Retry-After`.
pub(crate) struct Unavailable {
    pub(crate) retry_after: u64,
}

fn with_issuer<R>(
    isolate: &Rc<RefCell<Isolate>>,
    index: usize,
    f: impl FnOnce(&mut RemoteIssuer) -> R,
) -> R {
    let mut isolate = isolate.borrow_mut();
    f(isolate.remote.entry(index))
}

/// Waits until no fetch is running for the issuer, or for at most twice the fetch timeout (discovery
/// and the JWKS). It polls with short timers created in this request's own context: waking this request
/// from the fetching request's promise would run it in the other request's context, which workerd
/// cancels ("cross-request promise resolution").
async fn wait_for_fetch(isolate: &Rc<RefCell<Isolate>>, config: &GateConfig, index: usize) {
    const STEP_MS: u64 = 5;
    let rounds = config.remote.timeout_ms.saturating_mul(2) / STEP_MS + 1;
    for _ in 0..rounds {
        let now = now().0;
        if !with_issuer(isolate, index, |issuer| {
            issuer.state.fetching(now, &config.remote)
        }) {
            return;
        }
        Delay::ms(STEP_MS).await;
    }
}

/// The issuer's keys for a request at `now`: from memory, or after a fetch this request starts or
/// waits for. A stale set is served while one background refresh runs.
pub(crate) async fn keys_for(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    index: usize,
    ctx: Option<&ExecutionContext>,
) -> Result<(Arc<KeySet>, KeysFrom), Unavailable> {
    let mut from = KeysFrom::Memory;
    // At most: wait for a running fetch, then run one; a third look sees its outcome.
    for _ in 0..3 {
        let now = now().0;
        let (lookup, fetching) = with_issuer(isolate, index, |issuer| {
            (
                issuer.state.lookup(now, &config.remote),
                issuer.state.fetching(now, &config.remote),
            )
        });
        match lookup {
            Lookup::Fresh(keys) => return Ok((keys, from)),
            Lookup::Stale { keys, refresh } => {
                if refresh {
                    let ticket =
                        with_issuer(isolate, index, |issuer| issuer.state.start_fetch(now));
                    match ctx {
                        Some(ctx) => {
                            let _ = fetch_task(isolate, config, index, false, ticket, ctx);
                        }
                        None => {
                            let (isolate, config) = (Rc::clone(isolate), Rc::clone(config));
                            wasm_bindgen_futures::spawn_local(async move {
                                fetch_and_store(&isolate, &config, index, false, ticket).await;
                            });
                        }
                    }
                }
                return Ok((keys, KeysFrom::MemoryStale));
            }
            Lookup::Fetch if fetching => {
                wait_for_fetch(isolate, config, index).await;
                from = KeysFrom::FetchWait;
            }
            Lookup::Fetch => {
                let ticket = with_issuer(isolate, index, |issuer| issuer.state.start_fetch(now));
                from = fetch_for(isolate, config, index, false, ticket, ctx).await;
            }
            Lookup::Unavailable { retry_after } => return Err(Unavailable { retry_after }),
        }
    }
    Err(Unavailable {
        retry_after: config.remote.error_backoff,
    })
}

/// Until when the issuer's current set may verify tokens (its freshness plus `stale_if_error`).
pub(crate) fn usable_until(isolate: &Isolate, config: &GateConfig, index: usize) -> Option<u64> {
    isolate
        .remote
        .get(index)?
        .state
        .usable_until(&config.remote)
}

/// For a token whose `kid` the set does not hold: wait for the fetch that runs, or refetch once if the
/// cooldown allows, and return the set then (the caller verifies once more). `None`: refuse the token
/// without fetching.
pub(crate) async fn refetch_for_kid(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    index: usize,
    ctx: Option<&ExecutionContext>,
) -> Option<Arc<KeySet>> {
    let at = now().0;
    match with_issuer(isolate, index, |issuer| {
        issuer.state.unknown_kid(at, &config.remote)
    }) {
        KidRefetch::Refuse => return None,
        // Another request's refetch (a rotation: its other requests arrive together) or a refresh.
        KidRefetch::Wait => wait_for_fetch(isolate, config, index).await,
        KidRefetch::Start => {
            let ticket = with_issuer(isolate, index, |issuer| issuer.state.start_fetch(at));
            // A rotation is what an unknown kid suggests: the provider, not another isolate's copy.
            fetch_for(isolate, config, index, true, ticket, ctx).await;
        }
    }
    let after = now().0;
    match with_issuer(isolate, index, |issuer| {
        issuer.state.lookup(after, &config.remote)
    }) {
        Lookup::Fresh(keys) | Lookup::Stale { keys, .. } => Some(keys),
        _ => None,
    }
}

/// Runs one fetch ([`fetch_and_store`]) for a request and waits for it. With the request's `ctx` the
/// fetch is a `waitUntil` task of its own: it lands even when the request is dropped meanwhile (its
/// client went away), so the issuer's other requests get its keys, and a client that resets its
/// requests cannot make the isolate start one fetch after another. Without a `ctx` (the benchmark
/// harness; the Worker always has one) it runs inside the request.
async fn fetch_for(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    index: usize,
    network_only: bool,
    ticket: FetchTicket,
    ctx: Option<&ExecutionContext>,
) -> KeysFrom {
    let Some(ctx) = ctx else {
        return fetch_and_store(isolate, config, index, network_only, ticket).await;
    };
    let (done, from) = fetch_task(isolate, config, index, network_only, ticket, ctx);
    let _ = Settled::new(&done).await;
    from.get()
}

/// [`fetch_and_store`] as a `waitUntil` task of the request (`ctx`): the task's promise, and where the
/// task leaves where the keys came from. The one way a fetch runs apart from the request that starts
/// it: a background refresh, and a fetch a request waits on ([`fetch_for`]).
fn fetch_task(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    index: usize,
    network_only: bool,
    ticket: FetchTicket,
    ctx: &ExecutionContext,
) -> (Promise, Rc<Cell<KeysFrom>>) {
    let from = Rc::new(Cell::new(KeysFrom::Fetch));
    let task = {
        let (isolate, config, from) = (Rc::clone(isolate), Rc::clone(config), Rc::clone(&from));
        async move {
            from.set(fetch_and_store(&isolate, &config, index, network_only, ticket).await);
        }
    };
    (ctx.wait_until(Box::pin(task)), from)
}

/// Runs one fetch (the caller has called `start_fetch` and holds its ticket), records its outcome,
/// drops the caches that depend on the keys when they changed. Waiting requests see the outcome on
/// their next poll. An outcome that arrives after the flight's deadline is ignored by the state.
async fn fetch_and_store(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    index: usize,
    network_only: bool,
    ticket: FetchTicket,
) -> KeysFrom {
    let mut from = KeysFrom::Fetch;
    let shared = if network_only {
        None
    } else {
        shared_get(config, index).await
    };
    let outcome = match shared {
        Some((keys, fresh_until)) => {
            from = KeysFrom::SharedCache;
            Ok((keys, Freshness::Until(fresh_until), None))
        }
        None => {
            let cached_uri = with_issuer(isolate, index, |issuer| issuer.jwks_uri.clone());
            let fetched = fetch_keys(config, index, cached_uri).await;
            match fetched {
                Ok((keys, cache_control, uri)) => {
                    shared_put(config, index, &keys, cache_control.as_deref()).await;
                    Ok((keys, Freshness::CacheControl(cache_control), Some(uri)))
                }
                Err(why) => Err(why),
            }
        }
    };
    let now = now().0;
    {
        let mut guard = isolate.borrow_mut();
        let isolate_ref = &mut *guard;
        let issuer = isolate_ref.remote.entry(index);
        let changed = match outcome {
            Ok((keys, freshness, uri)) => {
                if uri.is_some() {
                    issuer.jwks_uri = uri;
                }
                let state = &mut issuer.state;
                match freshness {
                    Freshness::CacheControl(cache_control) => {
                        state.fetched(ticket, now, keys, cache_control.as_deref(), &config.remote)
                    }
                    Freshness::Until(until) => {
                        state.fetched_until(ticket, now, keys, until, &config.remote)
                    }
                }
            }
            Err(why) => {
                log_fetch_error(index, &why);
                issuer.state.failed(ticket, now, why);
                // Discovery is redone on the next attempt (the provider may have moved its JWKS).
                if matches!(
                    config.remote_sources.get(index),
                    Some(Some(remote)) if matches!(remote.source, RemoteSource::Discovery(_))
                ) {
                    issuer.jwks_uri = None;
                }
                false
            }
        };
        if changed {
            // Verified tokens and imported CryptoKeys belong to the old set.
            isolate_ref.keys_changed();
        }
    }
    from
}

/// How long a set obtained by [`fetch_and_store`] stays fresh.
enum Freshness {
    /// Fetched from the provider: its `Cache-Control`, clamped to the configured bounds.
    CacheControl(Option<String>),
    /// From the shared cache: the remaining freshness of another isolate's fetch, as it is.
    Until(u64),
}

/// The shared-cache entry for an issuer (a URL that is never fetched; only a cache key), computed when
/// the configuration compiled from the issuer, its source URL and its whole configuration.
fn shared_key(config: &GateConfig, index: usize) -> Option<&str> {
    let remote = config.remote_sources.get(index)?.as_ref()?;
    Some(&remote.shared_cache_key)
}

/// What the MAC of a shared-cache entry covers: its key, its end of freshness and its body. `caches.default`
/// is shared by every Worker of the zone, so an entry is only trusted when it carries a MAC under a key
/// only this Worker has: derived (HKDF, once per isolate) from its assertion signing key.
fn entry_parts<'a>(key: &'a str, fresh_until: &'a str, body: &'a [u8]) -> [&'a [u8]; 3] {
    [key.as_bytes(), fresh_until.as_bytes(), body]
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

/// Keys another isolate fetched, while still fresh: the JWKS as the provider sent it, re-checked and
/// adopted like a fetched one, with its end of freshness.
async fn shared_get(config: &GateConfig, index: usize) -> Option<(KeySet, u64)> {
    let key = shared_key(config, index)?;
    let found = Settled::new(&default_cache().ok()?.match_with_str(key))
        .await
        .ok()?;
    // `undefined` when there is no entry.
    let response: Response = found.dyn_into().ok()?;
    let headers = response.headers();
    let fresh_text = headers.get("edge-auth-fresh-until").ok().flatten()?;
    let fresh_until: u64 = fresh_text.parse().ok()?;
    let tag = unhex(&headers.get("edge-auth-mac").ok().flatten()?)?;
    if fresh_until <= now().0 {
        return None;
    }
    let body = read_capped(response, config.remote.max_bytes).await.ok()?;
    // Constant-time comparison; an entry without a valid MAC is ignored (the keys are fetched).
    if !config
        .shared_cache_mac
        .verify(&entry_parts(key, &fresh_text, &body), &tag)
    {
        return None;
    }
    let keys = load_jwks(&body, &config.remote).ok()?;
    let keys = config.verifier.issuer_at(index)?.adopt(keys).ok()?;
    // The JWKS URL stays whatever this isolate knows (configured, or discovered on its next fetch).
    Some((keys, fresh_until))
}

/// Shares a fetched set with the other isolates for its freshness. Failures only cost a fetch later.
async fn shared_put(config: &GateConfig, index: usize, keys: &KeySet, cache_control: Option<&str>) {
    let Some(key) = shared_key(config, index) else {
        return;
    };
    let jwks: Vec<serde_json::Value> = keys
        .keys()
        .iter()
        .map(|k| serde_json::Value::Object(k.to_jwk()))
        .collect();
    let ttl = config.remote.freshness(cache_control);
    let body = serde_json::json!({ "keys": jwks }).to_string();
    let fresh_until = now().0.saturating_add(ttl).to_string();
    let tag = edge_auth_core::hex(&config.shared_cache_mac.mac(&entry_parts(
        key,
        &fresh_until,
        body.as_bytes(),
    )));
    let stored = (|| -> Result<(Cache, Response), JsValue> {
        let headers = Headers::new()?;
        headers.set("content-type", "application/json")?;
        headers.set("cache-control", &format!("max-age={ttl}"))?;
        headers.set("edge-auth-fresh-until", &fresh_until)?;
        headers.set("edge-auth-mac", &tag)?;
        let init = ResponseInit::new();
        init.set_headers(&headers);
        let response = Response::new_with_opt_str_and_init(Some(&body), &init)?;
        Ok((default_cache()?, response))
    })();
    if let Ok((cache, response)) = stored {
        let _ = Settled::new(&cache.put_with_str(key, &response)).await;
    }
}

/// `caches.default`, the Workers Cache API's cache shared by the zone's Workers.
fn default_cache() -> Result<Cache, JsValue> {
    let caches = Reflect::get(&js_sys::global(), &JsValue::from_str("caches"))?;
    let cache = Reflect::get(&caches, &JsValue::from_str("default"))?;
    if cache.is_object() {
        Ok(cache.unchecked_into())
    } else {
        Err(JsValue::from_str("no caches.default"))
    }
}

/// A JS exception's message, for the status document and the log.
fn js_message(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "a JavaScript exception".into())
}

fn log_fetch_error(index: usize, why: &str) {
    crate::log::error(
        edge_auth_core::JsonObject::new()
            .str("error", why)
            .str("event", "keys_fetch_error")
            .uint("issuer_index", index as u64),
    );
}

/// GETs `url` with no redirects and the size limit, within `timeout_ms` for the whole answer: the
/// response head and every byte of the body (a provider that sends its headers and then stalls must
/// not hold the fetch open). Returns the body and `Cache-Control`.
async fn get(config: &GateConfig, url: &str) -> Result<(Vec<u8>, Option<String>), String> {
    let controller = AbortController::new().map_err(|e| js_message(&e))?;
    let limit = config.remote.timeout_ms;
    let answer = Box::pin(get_answer(config, url, controller.signal()));
    let deadline = Box::pin(Delay::ms(limit));
    let outcome = match select(answer, deadline).await {
        Either::Left((outcome, _)) => outcome,
        Either::Right(((), _)) => Err(format!(
            "fetch {url}: no answer within {limit} ms (head and body)"
        )),
    };
    if outcome.is_err() {
        // Whatever is still open (a stalled body, a large one) is cancelled.
        controller.abort();
    }
    outcome
}

async fn get_answer(
    config: &GateConfig,
    url: &str,
    signal: AbortSignal,
) -> Result<(Vec<u8>, Option<String>), String> {
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_redirect(RequestRedirect::Manual);
    init.set_signal(Some(&signal));
    let request = Request::new_with_str_and_init(url, &init).map_err(|e| js_message(&e))?;
    let global: WorkerGlobalScope = js_sys::global().unchecked_into();
    let response: Response = Settled::new(&global.fetch_with_request(&request))
        .await
        .and_then(JsCast::dyn_into)
        .map_err(|e| format!("fetch {url}: {}", js_message(&e)))?;
    let status = response.status();
    if status != 200 {
        return Err(format!(
            "fetch {url}: status {status}{}",
            if (300..400).contains(&status) {
                " (redirects are not followed)"
            } else {
                ""
            }
        ));
    }
    let headers = response.headers();
    let max = config.remote.max_bytes;
    if let Some(len) = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|l| l.parse::<usize>().ok())
    {
        if len > max {
            return Err(format!("fetch {url}: {len} bytes is more than {max}"));
        }
    }
    let cache_control = headers.get("cache-control").ok().flatten();
    let body = read_capped(response, max)
        .await
        .map_err(|e| format!("fetch {url}: {e}"))?;
    Ok((body, cache_control))
}

/// A response body read as a stream, refused as soon as it passes `max` bytes (whether or not a
/// `Content-Length` announced it).
async fn read_capped(response: Response, max: usize) -> Result<Vec<u8>, String> {
    read_stream_capped(response.body(), max).await
}

/// A body stream (a response's or a request's) read to its end, refused as soon as it passes `max`
/// bytes: the rest is cancelled, never buffered.
pub(crate) async fn read_stream_capped(
    stream: Option<web_sys::ReadableStream>,
    max: usize,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let Some(stream) = stream else {
        return Ok(body);
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    loop {
        let step = Settled::new(&reader.read())
            .await
            .map_err(|e| js_message(&e))?;
        let done = Reflect::get(&step, &JsValue::from_str("done")).map_err(|e| js_message(&e))?;
        if done.as_bool() != Some(false) {
            return Ok(body);
        }
        let chunk: Uint8Array = Reflect::get(&step, &JsValue::from_str("value"))
            .map_err(|e| js_message(&e))?
            .dyn_into()
            .map_err(|_| "a body chunk that is not bytes".to_owned())?;
        let start = body.len();
        let length = usize::try_from(chunk.length()).unwrap_or(usize::MAX);
        if start.saturating_add(length) > max {
            // The rest is not read (the caller's abort also cancels the fetch).
            let _ = reader.cancel();
            return Err(format!("the body is more than {max} bytes"));
        }
        body.resize(start + length, 0);
        if let Some(tail) = body.get_mut(start..) {
            chunk.copy_to(tail);
        }
    }
}

/// The issuer's JWKS (discovering its URL first when needed), adopted by its policy.
async fn fetch_keys(
    config: &GateConfig,
    index: usize,
    cached_uri: Option<String>,
) -> Result<(KeySet, Option<String>, String), String> {
    let policy = config.verifier.issuer_at(index).ok_or("no such issuer")?;
    let source = config
        .remote_sources
        .get(index)
        .and_then(Option::as_ref)
        .map(|remote| &remote.source);
    let uri = match (source, cached_uri) {
        (_, Some(uri)) => uri,
        (Some(RemoteSource::JwksUri(uri)), None) => uri.clone(),
        (Some(RemoteSource::Discovery(url)), None) => {
            let issuer = policy.issuer().ok_or("discovery needs an exact issuer")?;
            let (body, _) = get(config, url).await?;
            discovery_jwks_uri(
                &body,
                issuer,
                &config.remote,
                config.remote.allow_loopback_http,
            )
            .map_err(|e| format!("discovery {url}: {e}"))?
        }
        (None, None) => return Err("the issuer has no remote key source".into()),
    };
    let (body, cache_control) = get(config, &uri).await?;
    let keys = load_jwks(&body, &config.remote).map_err(|e| format!("{uri}: {e}"))?;
    let keys = policy
        .adopt(keys)
        .map_err(|e| format!("{uri}: no key fits the issuer's algorithms: {e}"))?;
    Ok((keys, cache_control, uri))
}

/// `GET /.well-known/edge-auth/status`: per remote issuer, its key ids, their age and the last error;
/// the verified-token cache's fill.
pub(crate) fn status(isolate: &Rc<RefCell<Isolate>>, config: &GateConfig) -> serde_json::Value {
    let now = now().0;
    let isolate = isolate.borrow();
    let issuers: Vec<serde_json::Value> = config
        .verifier
        .issuers()
        .enumerate()
        .map(|(i, policy)| {
            let remote = config.remote_sources.get(i).and_then(Option::as_ref);
            let source = match remote.map(|r| &r.source) {
                Some(RemoteSource::JwksUri(_)) => "jwks_uri",
                Some(RemoteSource::Discovery(_)) => "discovery",
                None => "inline",
            };
            let mut entry = serde_json::Map::new();
            entry.insert("issuer".into(), policy.issuer().into());
            entry.insert("source".into(), source.into());
            if let Some(remote) = remote {
                entry.insert(
                    "shared_cache_key".into(),
                    remote.shared_cache_key.as_str().into(),
                );
            }
            if source == "inline" {
                let kids: Vec<&str> = policy
                    .keys()
                    .keys()
                    .iter()
                    .filter_map(|k| k.kid())
                    .collect();
                entry.insert("kids".into(), kids.into());
            } else if let Some(state) = isolate.remote.get(i) {
                if let serde_json::Value::Object(fields) = state.state.status(now) {
                    entry.extend(fields);
                }
            }
            serde_json::Value::Object(entry)
        })
        .collect();
    // The verified-token cache: how full it is against its bounds (entries per generation; bytes of
    // both generations, counted as the cache counts them), to tune `cache.max_entries` and `max_bytes`.
    let token_cache = serde_json::json!({
        "entries": isolate.cache.len(),
        "held_bytes": isolate.cache.held_bytes(),
        "max_entries": config.cache.max_entries,
        "max_bytes": config.cache.max_bytes,
    });
    // `Settled` awaits open in the isolate: each request waiting on its origin (or on WebCrypto, a
    // timer) holds one; a count that only grows is requests that never end (a hung origin, or requests
    // the runtime cancelled mid-await without telling the Worker: see `cancelled_requests`).
    // `cancelled_requests`: the requests whose client went away while the Worker still worked on them,
    // ended there (`abort` on the request's signal, with the flag `enable_request_signal`).
    serde_json::json!({
        "cancelled_requests": edge_auth_webcrypto::cancelled_requests(),
        "issuers": issuers,
        "now": now,
        "open_awaits": edge_auth_webcrypto::open_awaits(),
        "token_cache": token_cache,
    })
}
