//! Remote key sets for issuers configured with `jwks_uri` or `discovery = true` (wasm32 only).
//!
//! The decisions (fresh, stale-while-revalidate, stale-if-error, single flight, unknown-`kid`
//! cooldown, failure backoff) are the core's [`KeyState`]; this module does the I/O: the fetch with a
//! timeout, no redirects and a size limit, OpenID discovery, and the wait of the requests that need a
//! fetch another request is running. Keys live in the isolate (zero fetches on the hot path), over the
//! Workers Cache API (shared by the isolates of a data centre), so a fresh isolate usually starts warm.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use edge_auth_core::{
    discovery_jwks_uri, load_jwks, GateConfig, KeySet, KeyState, Lookup, RemoteSource,
};
use futures_util::future::{select, Either};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use worker::{
    AbortController, Cache, Context, Delay, Fetch, Headers, Method, Request, RequestInit,
    RequestRedirect, Response,
};

use crate::entry::{now, Isolate};

/// One remote issuer's keys in this isolate.
#[derive(Default)]
pub(crate) struct RemoteIssuer {
    pub(crate) state: KeyState,
    /// The JWKS URL (from config, or found by discovery).
    jwks_uri: Option<String>,
}

/// Where the keys for a request came from, for the decision log.
pub(crate) type KeysFrom = &'static str;

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
    f(isolate.remote.entry(index).or_default())
}

/// Waits until no fetch is running for the issuer, or for at most twice the fetch timeout (discovery
/// and the JWKS). It polls with short timers created in this request's own context: waking this request
/// from the fetching request's promise would run it in the other request's context, which workerd
/// cancels ("cross-request promise resolution").
async fn wait_for_fetch(isolate: &Rc<RefCell<Isolate>>, index: usize, timeout_ms: u64) {
    const STEP_MS: u64 = 5;
    let rounds = timeout_ms.saturating_mul(2) / STEP_MS + 1;
    for _ in 0..rounds {
        if !with_issuer(isolate, index, |issuer| issuer.state.fetching()) {
            return;
        }
        Delay::from(Duration::from_millis(STEP_MS)).await;
    }
}

/// The issuer's keys for a request at `now`: from memory, or after a fetch this request starts or
/// waits for. A stale set is served while one background refresh runs.
pub(crate) async fn keys_for(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    index: usize,
    ctx: Option<&Context>,
) -> Result<(Arc<KeySet>, KeysFrom), Unavailable> {
    let mut from = "memory";
    // At most: wait for a running fetch, then run one; a third look sees its outcome.
    for _ in 0..3 {
        let now = now().0;
        let (lookup, fetching) = with_issuer(isolate, index, |issuer| {
            (
                issuer.state.lookup(now, &config.remote),
                issuer.state.fetching(),
            )
        });
        match lookup {
            Lookup::Fresh(keys) => return Ok((keys, from)),
            Lookup::Stale { keys, refresh } => {
                if refresh {
                    with_issuer(isolate, index, |issuer| issuer.state.start_fetch(now));
                    let (isolate, config) = (Rc::clone(isolate), Rc::clone(config));
                    let task = async move {
                        fetch_and_store(&isolate, &config, index, false).await;
                    };
                    match ctx {
                        Some(ctx) => ctx.wait_until(task),
                        None => wasm_bindgen_futures::spawn_local(task),
                    }
                }
                return Ok((keys, "memory-stale"));
            }
            Lookup::Fetch if fetching => {
                wait_for_fetch(isolate, index, config.remote.timeout_ms).await;
                from = "fetch-wait";
            }
            Lookup::Fetch => {
                with_issuer(isolate, index, |issuer| issuer.state.start_fetch(now));
                from = fetch_and_store(isolate, config, index, false).await;
            }
            Lookup::Unavailable { retry_after } => return Err(Unavailable { retry_after }),
        }
    }
    Err(Unavailable {
        retry_after: config.remote.error_backoff,
    })
}

/// For a token whose `kid` the set does not hold: refetch once if the cooldown allows, and return the
/// new set (the caller verifies once more). `None`: refuse the token without fetching.
pub(crate) async fn refetch_for_kid(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    index: usize,
) -> Option<Arc<KeySet>> {
    let now = now().0;
    let allowed = with_issuer(isolate, index, |issuer| {
        issuer.state.unknown_kid_refetch(now, &config.remote)
    });
    if !allowed {
        return None;
    }
    with_issuer(isolate, index, |issuer| issuer.state.start_fetch(now));
    // A rotation is what an unknown kid suggests: the provider, not another isolate's copy.
    fetch_and_store(isolate, config, index, true).await;
    match with_issuer(isolate, index, |issuer| {
        issuer.state.lookup(now, &config.remote)
    }) {
        Lookup::Fresh(keys) | Lookup::Stale { keys, .. } => Some(keys),
        _ => None,
    }
}

/// Runs one fetch (the caller has called `start_fetch`), records its outcome, drops the caches that
/// depend on the keys when they changed. Waiting requests see the outcome on their next poll.
async fn fetch_and_store(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    index: usize,
    network_only: bool,
) -> KeysFrom {
    let mut from = "fetch";
    let shared = if network_only {
        None
    } else {
        shared_get(config, index).await
    };
    let outcome = match shared {
        Some(found) => {
            from = "shared-cache";
            Ok(found)
        }
        None => {
            let cached_uri = with_issuer(isolate, index, |issuer| issuer.jwks_uri.clone());
            let fetched = fetch_keys(config, index, cached_uri)
                .await
                .map(|(keys, cache_control, uri)| (keys, cache_control, Some(uri)));
            if let Ok((keys, cache_control, _)) = &fetched {
                shared_put(config, index, keys, cache_control.as_deref()).await;
            }
            fetched
        }
    };
    let now = now().0;
    {
        let mut guard = isolate.borrow_mut();
        let isolate_ref = &mut *guard;
        let issuer = isolate_ref.remote.entry(index).or_default();
        let changed = match outcome {
            Ok((keys, cache_control, uri)) => {
                if uri.is_some() {
                    issuer.jwks_uri = uri;
                }
                issuer
                    .state
                    .fetched(now, keys, cache_control.as_deref(), &config.remote)
            }
            Err(why) => {
                log_fetch_error(index, &why);
                issuer.state.failed(now, why);
                // Discovery is redone on the next attempt (the provider may have moved its JWKS).
                if matches!(
                    config.remote_sources.get(index),
                    Some(Some(RemoteSource::Discovery))
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

/// The shared-cache entry for an issuer (a URL that is never fetched; only a cache key).
fn shared_key(config: &GateConfig, index: usize) -> Option<String> {
    let issuer = config.verifier.issuer_at(index)?.issuer()?;
    Some(format!(
        "https://edge-auth-keys.invalid/{}",
        hex(&Sha256::digest(issuer.as_bytes()))
    ))
}

/// The MAC over a shared-cache entry. `caches.default` is shared by every Worker of the zone, so an
/// entry is only trusted when it carries a MAC under a key only this Worker has: derived from its
/// assertion signing key (a secret), never from configuration or the request.
fn entry_mac(
    config: &GateConfig,
    key: &str,
    fresh_until: u64,
    body: &[u8],
) -> Option<Hmac<Sha256>> {
    let secret =
        serde_json::Value::Object(config.assertion.signing_key.to_private_jwk()).to_string();
    let mac_key = Sha256::new()
        .chain_update(b"edge-auth shared key cache v1\0")
        .chain_update(secret.as_bytes())
        .finalize();
    let mut mac = Hmac::<Sha256>::new_from_slice(&mac_key).ok()?;
    mac.update(key.as_bytes());
    mac.update(b"\0");
    mac.update(fresh_until.to_string().as_bytes());
    mac.update(b"\0");
    mac.update(body);
    Some(mac)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
/// adopted like a fetched one, with its remaining freshness.
async fn shared_get(
    config: &GateConfig,
    index: usize,
) -> Option<(KeySet, Option<String>, Option<String>)> {
    let key = shared_key(config, index)?;
    let mut response = Cache::default().get(key.as_str(), false).await.ok()??;
    let headers = response.headers();
    let fresh_until: u64 = headers
        .get("edge-auth-fresh-until")
        .ok()
        .flatten()?
        .parse()
        .ok()?;
    let tag = unhex(&headers.get("edge-auth-mac").ok().flatten()?)?;
    let remaining = fresh_until.checked_sub(now().0).filter(|r| *r > 0)?;
    let body = response.bytes().await.ok()?;
    // Constant-time comparison; an entry without a valid MAC is ignored (the keys are fetched).
    entry_mac(config, &key, fresh_until, &body)?
        .verify_slice(&tag)
        .ok()?;
    let keys = load_jwks(&body, &config.remote).ok()?;
    let keys = config.verifier.issuer_at(index)?.adopt(keys).ok()?;
    // The JWKS URL stays whatever this isolate knows (configured, or discovered on its next fetch).
    Some((keys, Some(format!("max-age={remaining}")), None))
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
    let fresh_until = now().0.saturating_add(ttl);
    let Some(mac) = entry_mac(config, &key, fresh_until, body.as_bytes()) else {
        return;
    };
    let tag = hex(&mac.finalize().into_bytes());
    let headers = Headers::new();
    let stored = (|| -> worker::Result<Response> {
        headers.set("content-type", "application/json")?;
        headers.set("cache-control", &format!("max-age={ttl}"))?;
        headers.set("edge-auth-fresh-until", &fresh_until.to_string())?;
        headers.set("edge-auth-mac", &tag)?;
        Ok(Response::ok(body)?.with_headers(headers.clone()))
    })();
    if let Ok(response) = stored {
        let _ = Cache::default().put(key.as_str(), response).await;
    }
}

fn log_fetch_error(index: usize, why: &str) {
    worker::console_error!(
        "{}",
        serde_json::json!({"event": "keys_fetch_error", "issuer_index": index, "error": why})
    );
}

/// GETs `url` with the timeout, no redirects, and the size limit. Returns the body and `Cache-Control`.
async fn get(config: &GateConfig, url: &str) -> Result<(Vec<u8>, Option<String>), String> {
    let controller = AbortController::default();
    let mut init = RequestInit::new();
    init.with_method(Method::Get)
        .with_redirect(RequestRedirect::Manual);
    let request = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let send = Box::pin(fetch.send_with_signal(&signal));
    let timeout = Box::pin(Delay::from(Duration::from_millis(config.remote.timeout_ms)));
    let mut response = match select(send, timeout).await {
        Either::Left((result, _)) => result.map_err(|e| format!("fetch {url}: {e}"))?,
        Either::Right(((), _)) => {
            controller.abort();
            return Err(format!(
                "fetch {url}: no answer within {} ms",
                config.remote.timeout_ms
            ));
        }
    };
    let status = response.status_code();
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
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("fetch {url}: {e}"))?;
    if body.len() > max {
        return Err(format!(
            "fetch {url}: {} bytes is more than {max}",
            body.len()
        ));
    }
    Ok((body, cache_control))
}

/// The issuer's JWKS (discovering its URL first when needed), adopted by its policy.
async fn fetch_keys(
    config: &GateConfig,
    index: usize,
    cached_uri: Option<String>,
) -> Result<(KeySet, Option<String>, String), String> {
    let policy = config.verifier.issuer_at(index).ok_or("no such issuer")?;
    let uri = match (config.remote_sources.get(index), cached_uri) {
        (_, Some(uri)) => uri,
        (Some(Some(RemoteSource::JwksUri(uri))), None) => uri.clone(),
        (Some(Some(RemoteSource::Discovery)), None) => {
            let issuer = policy.issuer().ok_or("discovery needs an exact issuer")?;
            let url = format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            );
            let (body, _) = get(config, &url).await?;
            discovery_jwks_uri(&body, issuer, &config.remote, true)
                .map_err(|e| format!("discovery {url}: {e}"))?
        }
        _ => return Err("the issuer has no remote key source".into()),
    };
    let (body, cache_control) = get(config, &uri).await?;
    let keys = load_jwks(&body, &config.remote).map_err(|e| format!("{uri}: {e}"))?;
    let keys = policy
        .adopt(keys)
        .map_err(|e| format!("{uri}: no key fits the issuer's algorithms: {e}"))?;
    Ok((keys, cache_control, uri))
}

/// `GET /.well-known/edge-auth/status`: per remote issuer, its key ids, their age and the last error.
pub(crate) fn status(isolate: &Rc<RefCell<Isolate>>, config: &GateConfig) -> serde_json::Value {
    let now = now().0;
    let isolate = isolate.borrow();
    let issuers: Vec<serde_json::Value> = config
        .verifier
        .issuers()
        .enumerate()
        .map(|(i, policy)| {
            let source = match config.remote_sources.get(i) {
                Some(Some(RemoteSource::JwksUri(_))) => "jwks_uri",
                Some(Some(RemoteSource::Discovery)) => "discovery",
                _ => "inline",
            };
            let mut entry = serde_json::Map::new();
            entry.insert("issuer".into(), policy.issuer().into());
            entry.insert("source".into(), source.into());
            if source == "inline" {
                let kids: Vec<&str> = policy
                    .keys()
                    .keys()
                    .iter()
                    .filter_map(|k| k.kid())
                    .collect();
                entry.insert("kids".into(), kids.into());
            } else if let Some(state) = isolate.remote.get(&i) {
                if let serde_json::Value::Object(fields) = state.state.status(now) {
                    entry.extend(fields);
                }
            }
            serde_json::Value::Object(entry)
        })
        .collect();
    serde_json::json!({ "issuers": issuers, "now": now })
}

/// Per-isolate map type, re-exported for `entry.rs`.
pub(crate) type RemoteMap = HashMap<usize, RemoteIssuer>;
