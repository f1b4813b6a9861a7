//! Remote key sets for issuers configured with `jwks_uri` or `discovery = true`, the way the Worker runs
//! them (`src/keys.rs`): every decision (fresh, stale-while-revalidate, stale-if-error, single flight
//! with a deadline, unknown-`kid` cooldown, failure backoff) is the core's [`KeyState`]; this module does
//! the I/O through the JS side's `fetch` (timeout for head and body, size limit while reading, no
//! redirects), OpenID discovery, and the wait of calls that need a fetch another call is running (they
//! poll with their own timers, as the Worker's requests do, so that none is woken from another's
//! context). There is no shared cache layer: keys live in the verifier (the Worker adds the Cache API).
//!
//! [`KeyState`]: edge_auth_core::KeyState

use std::rc::Rc;
use std::sync::Arc;

use edge_auth_core::{
    discovery_jwks_uri, load_jwks, FetchTicket, KeySet, KidRefetch, Lookup, RemoteSource,
};

use crate::host::wall_clock;
use crate::state::{Engine, Verifies};

/// No usable keys: refuse with `keys_unavailable`, retry after this many seconds.
#[derive(Debug, Clone)]
pub(crate) struct Unavailable {
    pub(crate) retry_after: u64,
    /// The last fetch error, when there was one.
    pub(crate) why: Option<String>,
}

/// The issuer's last fetch error (the key state's, as its status reports it).
fn last_error<C: Verifies>(engine: &Engine<C>, index: usize) -> Option<String> {
    let now = wall_clock();
    let status = engine.with_issuer(index, |issuer| issuer.state.status(now));
    status
        .get("last_error")?
        .get("error")?
        .as_str()
        .map(str::to_owned)
}

/// Waits until no fetch is running for the issuer, or at most twice the fetch timeout (discovery and
/// the JWKS), polling with short timers.
async fn wait_for_fetch<C: Verifies>(engine: &Engine<C>, index: usize) {
    const STEP_MS: u64 = 5;
    let settings = engine.config.remote_settings();
    let rounds = settings.timeout_ms.saturating_mul(2) / STEP_MS + 1;
    for _ in 0..rounds {
        let now = wall_clock();
        if !engine.with_issuer(index, |issuer| issuer.state.fetching(now, settings)) {
            return;
        }
        engine.host.sleep(STEP_MS).await;
    }
}

/// The issuer's keys for a call now: from memory, or after a fetch this call starts or waits for. A
/// stale set is served while one background refresh runs.
pub(crate) async fn keys_for<C: Verifies + 'static>(
    engine: &Rc<Engine<C>>,
    index: usize,
) -> Result<Arc<KeySet>, Unavailable> {
    let settings = engine.config.remote_settings();
    // At most: wait for a running fetch, then run one; a third look sees its outcome.
    for _ in 0..3 {
        let now = wall_clock();
        let (lookup, fetching) = engine.with_issuer(index, |issuer| {
            (
                issuer.state.lookup(now, settings),
                issuer.state.fetching(now, settings),
            )
        });
        match lookup {
            Lookup::Fresh(keys) => return Ok(keys),
            Lookup::Stale { keys, refresh } => {
                if refresh {
                    let ticket = engine.with_issuer(index, |issuer| issuer.state.start_fetch(now));
                    let engine = Rc::clone(engine);
                    wasm_bindgen_futures::spawn_local(async move {
                        fetch_and_store(&engine, index, ticket).await;
                    });
                }
                return Ok(keys);
            }
            Lookup::Fetch if fetching => wait_for_fetch(engine, index).await,
            Lookup::Fetch => {
                let ticket = engine.with_issuer(index, |issuer| issuer.state.start_fetch(now));
                fetch_and_store(engine, index, ticket).await;
            }
            Lookup::Unavailable { retry_after } => {
                return Err(Unavailable {
                    retry_after,
                    why: last_error(engine, index),
                })
            }
        }
    }
    Err(Unavailable {
        retry_after: settings.error_backoff,
        why: last_error(engine, index),
    })
}

/// Until when the issuer's current set may verify tokens (its freshness plus `stale_if_error`), in
/// wall-clock seconds.
pub(crate) fn usable_until<C: Verifies>(engine: &Engine<C>, index: usize) -> Option<u64> {
    let settings = engine.config.remote_settings();
    engine
        .remote
        .borrow()
        .get(&index)?
        .state
        .usable_until(settings)
}

/// For a token whose `kid` the set does not hold: wait for the fetch that runs, or refetch once if the
/// cooldown allows, and return the set then. `None`: refuse the token without fetching.
pub(crate) async fn refetch_for_kid<C: Verifies>(
    engine: &Engine<C>,
    index: usize,
) -> Option<Arc<KeySet>> {
    let settings = engine.config.remote_settings();
    let at = wall_clock();
    match engine.with_issuer(index, |issuer| issuer.state.unknown_kid(at, settings)) {
        KidRefetch::Refuse => return None,
        // Another call's refetch (a rotation: its other calls arrive together) or a refresh.
        KidRefetch::Wait => wait_for_fetch(engine, index).await,
        KidRefetch::Start => {
            let ticket = engine.with_issuer(index, |issuer| issuer.state.start_fetch(at));
            fetch_and_store(engine, index, ticket).await;
        }
    }
    let after = wall_clock();
    match engine.with_issuer(index, |issuer| issuer.state.lookup(after, settings)) {
        Lookup::Fresh(keys) | Lookup::Stale { keys, .. } => Some(keys),
        Lookup::Fetch | Lookup::Unavailable { .. } => None,
    }
}

/// Runs one fetch (the caller has called `start_fetch` and holds its ticket), records its outcome, and
/// drops what depends on the keys when they changed. An outcome after the flight's deadline is ignored
/// by the state.
async fn fetch_and_store<C: Verifies>(engine: &Engine<C>, index: usize, ticket: FetchTicket) {
    let settings = engine.config.remote_settings();
    let cached_uri = engine.with_issuer(index, |issuer| issuer.jwks_uri.clone());
    let outcome = fetch_keys(engine, index, cached_uri).await;
    let now = wall_clock();
    let discovery = matches!(
        engine.config.remote_source(index),
        Some(RemoteSource::Discovery(_))
    );
    let changed = engine.with_issuer(index, |issuer| match outcome {
        Ok((keys, cache_control, uri)) => {
            issuer.jwks_uri = Some(uri);
            issuer
                .state
                .fetched(ticket, now, keys, cache_control.as_deref(), settings)
        }
        Err(why) => {
            issuer.state.failed(ticket, now, why);
            // Discovery is redone on the next attempt (the provider may have moved its JWKS).
            if discovery {
                issuer.jwks_uri = None;
            }
            false
        }
    });
    if changed {
        engine.keys_changed();
    }
}

/// GETs `url` through the JS side; the body of a `200` and its `Cache-Control`.
async fn get<C: Verifies>(
    engine: &Engine<C>,
    url: &str,
) -> Result<(Vec<u8>, Option<String>), String> {
    let settings = engine.config.remote_settings();
    let fetched = engine
        .host
        .fetch(url, settings.timeout_ms, settings.max_bytes)
        .await?;
    if fetched.status != 200 {
        return Err(format!(
            "fetch {url}: status {}{}",
            fetched.status,
            if (300..400).contains(&fetched.status) {
                " (redirects are not followed)"
            } else {
                ""
            }
        ));
    }
    if fetched.body.len() > settings.max_bytes {
        return Err(format!(
            "fetch {url}: the body is more than {} bytes",
            settings.max_bytes
        ));
    }
    Ok((fetched.body, fetched.cache_control))
}

/// The issuer's JWKS (discovering its URL first when needed), adopted by its policy.
async fn fetch_keys<C: Verifies>(
    engine: &Engine<C>,
    index: usize,
    cached_uri: Option<String>,
) -> Result<(KeySet, Option<String>, String), String> {
    let config = &engine.config;
    let settings = config.remote_settings();
    let policy = config.verifier().issuer_at(index).ok_or("no such issuer")?;
    let uri = match (config.remote_source(index), cached_uri) {
        (_, Some(uri)) => uri,
        (Some(RemoteSource::JwksUri(uri)), None) => uri.clone(),
        (Some(RemoteSource::Discovery(url)), None) => {
            let issuer = policy.issuer().ok_or("discovery needs an exact issuer")?;
            let (body, _) = get(engine, url).await?;
            discovery_jwks_uri(&body, issuer, settings, settings.allow_loopback_http)
                .map_err(|e| format!("discovery {url}: {e}"))?
        }
        (None, None) => return Err("the issuer has no remote key source".into()),
    };
    let (body, cache_control) = get(engine, &uri).await?;
    let keys = load_jwks(&body, settings).map_err(|e| format!("{uri}: {e}"))?;
    let keys = policy
        .adopt(keys)
        .map_err(|e| format!("{uri}: no key fits the issuer's algorithms: {e}"))?;
    Ok((keys, cache_control, uri))
}

/// `GET /.well-known/edge-auth/status` (`status_endpoint = true`): per issuer, where its keys come
/// from, their ids, age and freshness, the fetch count and the last error.
pub(crate) fn status<C: Verifies>(engine: &Engine<C>) -> serde_json::Value {
    let now = wall_clock();
    let remote = engine.remote.borrow();
    let issuers: Vec<serde_json::Value> = engine
        .config
        .verifier()
        .issuers()
        .enumerate()
        .map(|(i, policy)| {
            let source = match engine.config.remote_source(i) {
                Some(RemoteSource::JwksUri(_)) => "jwks_uri",
                Some(RemoteSource::Discovery(_)) => "discovery",
                None => "inline",
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
            } else if let Some(issuer) = remote.get(&i) {
                if let serde_json::Value::Object(fields) = issuer.state.status(now) {
                    entry.extend(fields);
                }
            }
            serde_json::Value::Object(entry)
        })
        .collect();
    serde_json::json!({ "issuers": issuers, "now": now })
}
