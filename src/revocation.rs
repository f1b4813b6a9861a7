//! Revocation state as the Worker reads and writes it: per issuer, this isolate's copy of the object's
//! log (the core's [`RevocationView`]), synced from the object with `?epoch=&since=` deltas and trusted
//! for `cache_seconds`; one sync in flight per issuer, the requests that need one meanwhile wait for
//! it; and the writes (`POST /revoke`) of the logout and admin endpoints. The decisions are the core's
//! and the gate's ([`gate::check_revocation`]: revoked, fail closed or open); this module does the I/O.

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use edge_auth_core::{
    read_revoke_answer, revoke_body, GateConfig, RevocationIssuer, RevocationRecord, RevokeOutcome,
    SeenLogout, UnixTime, VerifiedToken,
};
use edge_auth_gate::{self as gate, Refusal, RevocationCheck, RevocationRead};
use edge_auth_webcrypto::Settled;
use futures_util::future::{select, Either};
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use web_sys::{Request, RequestInit, Response};

use crate::isolate::{now, Isolate, IssuerRevocations};
use crate::runtime::{now_ms, Delay};

#[wasm_bindgen]
extern "C" {
    /// A Durable Object namespace binding (only what is used here).
    type ObjectNamespace;
    #[wasm_bindgen(method, catch, js_name = idFromName)]
    fn id_from_name(this: &ObjectNamespace, name: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn get(this: &ObjectNamespace, id: &JsValue) -> Result<ObjectStub, JsValue>;

    type ObjectStub;
    #[wasm_bindgen(method, catch, js_name = fetch)]
    fn fetch_request(this: &ObjectStub, request: &Request) -> Result<Promise, JsValue>;
}

/// How long one call to an object may take before the state counts as unreadable.
const OBJECT_TIMEOUT_MS: u64 = 2000;
/// After a failed sync, how long (ms) requests count the state as unreadable without calling the object
/// again: while the object is down, requests are answered at once (`503`, or forwarded when failing
/// open) and the object gets at most one call per second per isolate and issuer.
const FAILURE_BACKOFF_MS: f64 = 1000.0;
/// How often a request waiting for another request's sync looks again (timers in its own request
/// context: being woken from the other request's promise would be a cross-request resolution, which
/// workerd cancels).
const WAIT_STEP_MS: u64 = 5;

/// The issuer's state, borrowed (one function, not a generic per call site: smaller code).
fn issuer_state(isolate: &RefCell<Isolate>, index: usize) -> RefMut<'_, IssuerRevocations> {
    RefMut::map(isolate.borrow_mut(), |state| state.revocations.entry(index))
}

/// One call to the issuer's object: `(status, body)`. `Err`: not bound, threw, or no answer in time.
async fn call_object(
    isolate: &Rc<RefCell<Isolate>>,
    issuer: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let objects: ObjectNamespace = isolate
        .borrow()
        .objects
        .clone()
        .ok_or("the revocation binding is not bound")?
        .unchecked_into();
    let js = |e: JsValue| edge_auth_webcrypto::describe(&e);
    let stub = objects
        .get(&objects.id_from_name(issuer).map_err(js)?)
        .map_err(js)?;
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
    }
    let mut url = String::from("https://revocations");
    url.push_str(path);
    let request = Request::new_with_str_and_init(&url, &init).map_err(js)?;
    let call = async move {
        let response: Response = Settled::new(&stub.fetch_request(&request)?)
            .await?
            .dyn_into()?;
        let text = Settled::new(&response.text()?).await?;
        Ok::<_, JsValue>((response.status(), text.as_string().unwrap_or_default()))
    };
    let deadline = Delay::ms(OBJECT_TIMEOUT_MS);
    let answer = match select(Box::pin(call), deadline).await {
        Either::Left((answer, _)) => answer.map_err(js),
        Either::Right(_) => Err("the revocation object did not answer in time".into()),
    };
    answer
}

fn log_error(issuer: &str, what: &str, error: &str) {
    crate::log::error(
        edge_auth_core::JsonObject::new()
            .str("call", what)
            .str("error", error)
            .str("event", "revocation_error")
            .str("issuer", issuer),
    );
}

/// Whether this isolate's copy of the issuer's state is current: fresh, or brought up to date by a sync
/// this request ran or waited for. `false`: the object could not be read.
async fn current(
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    issuer: &RevocationIssuer,
    now: UnixTime,
) -> bool {
    let cache_seconds = config.revocation.as_ref().map_or(0, |r| r.cache_seconds);
    let index = issuer.index;
    // The hot path (a fresh copy) reads no clock: `now` is the request's.
    if issuer_state(isolate, index)
        .view
        .is_fresh(now.0, cache_seconds)
    {
        return true;
    }
    let started = now_ms();
    let (running, backing_off, syncs) = {
        let state = issuer_state(isolate, index);
        let running = state.syncing_until.is_some_and(|until| started < until);
        (running, started < state.failed_until, state.syncs)
    };
    if backing_off && !running {
        return false;
    }
    if running {
        // Another request's sync: its outcome is this request's (bounded by that sync's deadline).
        loop {
            Delay::ms(WAIT_STEP_MS).await;
            let at = now_ms();
            let (done, running, ok) = {
                let state = issuer_state(isolate, index);
                (
                    state.syncs != syncs,
                    state.syncing_until.is_some_and(|until| at < until),
                    state.last_ok,
                )
            };
            if done {
                return ok;
            }
            if !running {
                break;
            }
        }
    }
    sync(isolate, issuer).await
}

/// A sync's mark that it is running (`syncing_until`), taken back if the sync's future is dropped before
/// it records an outcome (its request's client went away: `entry::fetch` drops the request's work), so
/// that the requests waiting for it sync themselves at once. Without it a client resetting its requests
/// mid-sync could make every revocation check of the issuer wait out each mark (about 2 s).
struct RunningSync<'a> {
    isolate: &'a RefCell<Isolate>,
    index: usize,
    until: Option<f64>,
}

impl Drop for RunningSync<'_> {
    fn drop(&mut self) {
        if let Some(until) = self.until.take() {
            // Dropped between polls: nothing holds the isolate (a borrow held, it stays as it was).
            if let Ok(mut isolate) = self.isolate.try_borrow_mut() {
                let state = isolate.revocations.entry(self.index);
                // Only this sync's own mark.
                if state.syncing_until == Some(until) {
                    state.syncing_until = None;
                }
            }
        }
    }
}

/// Runs one sync of the issuer's copy (`GET /sync?epoch=&since=`) and records its outcome.
async fn sync(isolate: &Rc<RefCell<Isolate>>, issuer: &RevocationIssuer) -> bool {
    let index = issuer.index;
    // From now, not from the request's start: a request that waited for another sync first marks its
    // own for its whole deadline.
    let until = now_ms() + OBJECT_TIMEOUT_MS as f64 + 100.0;
    let path = {
        let mut state = issuer_state(isolate, index);
        state.syncing_until = Some(until);
        state.view.sync_path()
    };
    let mut running = RunningSync {
        isolate,
        index,
        until: Some(until),
    };
    let answer = call_object(isolate, &issuer.issuer, "GET", &path, None).await;
    let now_s = now().0;
    let outcome = match answer {
        Ok((200, body)) => issuer_state(isolate, index)
            .view
            .apply_sync(&body, now_s)
            .map_err(|e| e.to_string()),
        Ok((status, _)) => Err(format!("sync answered {status}")),
        Err(error) => Err(error),
    };
    if let Err(error) = &outcome {
        // A missing binding was logged once, when the isolate started.
        if isolate.borrow().objects.is_some() {
            log_error(&issuer.issuer, "sync", error);
        }
    }
    // Landed: the outcome below ends the mark.
    running.until = None;
    {
        let mut state = issuer_state(isolate, index);
        state.syncing_until = None;
        state.syncs += 1;
        state.last_ok = outcome.is_ok();
        state.failed_until = match outcome {
            Ok(()) => 0.0,
            Err(_) => now_ms() + FAILURE_BACKOFF_MS,
        };
    }
    outcome.is_ok()
}

/// The hot-path check of a verified token (fresh or from the verified-token cache): the gate decides
/// against this isolate's copy, synced first when it is not fresh.
pub(crate) async fn check(
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    verified: &VerifiedToken,
    now: UnixTime,
) -> Result<RevocationCheck, Refusal> {
    let Some(issuer) = gate::revocation_issuer(config, verified) else {
        return Ok(RevocationCheck::NotCovered);
    };
    let current = current(isolate, config, issuer, now).await;
    let state = isolate.borrow();
    let view = state.revocations.get(issuer.index).map(|s| &s.view);
    let read = match view {
        Some(view) if current => RevocationRead::Current(view),
        _ => RevocationRead::Unavailable(view.filter(|v| v.synced_at().is_some())),
    };
    gate::check_revocation(config, verified, read, now)
}

/// Stores records (and a logout token's replay record) in the issuer's object. On success this
/// isolate's copy learns them at once, whatever its `cache_seconds`. `Err`: the object could not be
/// reached or answered something unexpected (the caller fails closed).
pub(crate) async fn store(
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    issuer: &RevocationIssuer,
    record: &RevocationRecord,
    logout: Option<&SeenLogout>,
) -> Result<RevokeOutcome, ()> {
    let max_entries = config.revocation.as_ref().map_or(0, |r| r.max_entries);
    let body = revoke_body(std::slice::from_ref(record), logout, max_entries);
    let outcome = call_object(isolate, &issuer.issuer, "POST", "/revoke", Some(&body))
        .await
        .and_then(|(status, body)| {
            read_revoke_answer(status, &body).map_err(|e| format!("{e} ({status})"))
        });
    match outcome {
        Ok(outcome) => {
            if let RevokeOutcome::Stored { .. } = outcome {
                issuer_state(isolate, issuer.index)
                    .view
                    .learn(record.clone());
            }
            Ok(outcome)
        }
        Err(error) => {
            log_error(&issuer.issuer, "revoke", &error);
            Err(())
        }
    }
}
