//! The Durable Object class `Revocations` (bound as `EDGE_AUTH_REVOCATIONS`; one object per issuer,
//! `idFromName(issuer)`): a thin adapter around the core's [`RevocationLog`], which decides everything.
//! It loads the object's storage once, on the first request, hands each request and `now` to the log,
//! writes the storage changes the log returns (batches of 128 keys, one atomic write, awaited), then
//! answers.
//!
//! Concurrent first requests: the load is one storage operation (`list()`), and the runtime's input
//! gate delivers no other event to the object while a storage operation runs, so the requests behind
//! the first find the log loaded (and a second load, were one to happen, keeps the first). That is
//! what `blockConcurrencyWhile` in the constructor would give, without its closure glue (about 0.4 KiB
//! of the Worker's gzip).
//!
//! A hand-written `#[wasm_bindgen]` class on the runtime's own objects (`web-sys`, and `extern` bindings
//! for the three storage calls used), not the `worker` crate's `#[durable_object]`, whose `fetch`
//! converts every request and response through the crate's wrappers. worker-build's shim exports every
//! class the module exports (`export const Revocations = new Proxy(...)`), which is what the runtime
//! instantiates.

use std::cell::RefCell;
use std::rc::Rc;

use edge_auth_core::{LogAnswer, RevocationLog};
use edge_auth_webcrypto::Settled;
use js_sys::{Array, Map, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;
use web_sys::{Request, Response};

use crate::isolate::now;
use edge_auth_core::hex;

#[wasm_bindgen]
extern "C" {
    /// The `DurableObjectState` the runtime passes to the constructor (only what is used here).
    type ObjectState;
    #[wasm_bindgen(method, getter)]
    fn storage(this: &ObjectState) -> ObjectStorage;

    /// `state.storage` (the key-value API).
    type ObjectStorage;
    /// Every stored entry, as a `Map` (key order).
    #[wasm_bindgen(method, catch)]
    fn list(this: &ObjectStorage) -> Result<Promise, JsValue>;
    /// Writes up to 128 entries of an object at once.
    #[wasm_bindgen(method, catch)]
    fn put(this: &ObjectStorage, entries: &Object) -> Result<Promise, JsValue>;
    /// Deletes up to 128 keys at once.
    #[wasm_bindgen(method, catch)]
    fn delete(this: &ObjectStorage, keys: &Array) -> Result<Promise, JsValue>;
}

/// The storage API's limit on keys per `put` or `delete`.
const BATCH: usize = 128;

struct Inner {
    storage: ObjectStorage,
    /// `None` until loaded, and again after a failed load or write (the next request reloads).
    log: RefCell<Option<RevocationLog>>,
}

/// The Durable Object. The runtime constructs it with `(state, env)` and calls `fetch(request)`.
#[wasm_bindgen]
pub struct Revocations {
    object: Rc<Inner>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Revocations")
    }
}

#[wasm_bindgen]
impl Revocations {
    #[wasm_bindgen(constructor)]
    pub fn new(state: JsValue, _env: JsValue) -> Revocations {
        let state: ObjectState = state.unchecked_into();
        Revocations {
            object: Rc::new(Inner {
                storage: state.storage(),
                log: RefCell::new(None),
            }),
        }
    }

    /// One request from an isolate of this Worker (`GET /sync?…`, `POST /revoke`).
    pub fn fetch(&self, request: Request) -> Promise {
        let object = Rc::clone(&self.object);
        future_to_promise(async move {
            let response = match answer(&object, &request).await {
                Ok(response) => response,
                Err(error) => {
                    log_error("revocations_error", &error);
                    respond(503, r#"{"error":"revocation_unavailable"}"#)?
                }
            };
            Ok(response.into())
        })
    }
}

fn log_error(event: &str, error: &JsValue) {
    crate::log::error_event(event, &edge_auth_webcrypto::describe(error));
}

/// Reads every stored entry into a [`RevocationLog`] (unless one is loaded already). The epoch for a new
/// object's history: 16 random bytes, hex.
async fn load(object: &Inner) -> Result<(), JsValue> {
    if object.log.borrow().is_some() {
        return Ok(());
    }
    let stored: Map = Settled::new(&object.storage.list()?).await?.dyn_into()?;
    let mut entries = Vec::new();
    stored.for_each(&mut |value, key| {
        // The log writes strings only; anything else was not written by it and is skipped.
        if let (Some(key), Some(value)) = (key.as_string(), value.as_string()) {
            entries.push((key, value));
        }
    });
    let mut epoch = [0u8; 16];
    edge_auth_webcrypto::random_bytes(&mut epoch).map_err(|e| JsValue::from_str(&e))?;
    let log = RevocationLog::restore(
        entries.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &hex(&epoch),
    );
    let mut slot = object.log.borrow_mut();
    if slot.is_none() {
        *slot = Some(log);
    }
    Ok(())
}

async fn answer(object: &Inner, request: &Request) -> Result<Response, JsValue> {
    load(object).await?;
    let url = request.url();
    // `https://revocations/sync?…` → `/sync?…`.
    let path_and_query = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').and_then(|i| rest.get(i..)))
        .unwrap_or("/");
    let method = request.method();
    let body = if method == "GET" || method == "HEAD" {
        String::new()
    } else {
        Settled::new(&request.text()?)
            .await?
            .as_string()
            .unwrap_or_default()
    };
    let answer = {
        let mut log = object.log.borrow_mut();
        let Some(log) = log.as_mut() else {
            return Err(JsValue::from_str("the revocation log is not loaded"));
        };
        log.handle(&method, path_and_query, &body, now().0)
    };
    if let Err(error) = persist(&object.storage, &answer).await {
        // The log in memory is ahead of what is stored: forget it, the next request reloads.
        object.log.borrow_mut().take();
        return Err(error);
    }
    respond(answer.status, &answer.body)
}

/// Applies an answer's storage changes: every call made before the first await, so the runtime
/// commits them as one atomic write (the storage API's implicit transaction), in batches of 128 keys.
async fn persist(storage: &ObjectStorage, answer: &LogAnswer) -> Result<(), JsValue> {
    let pending = Array::new();
    for entries in answer.put.chunks(BATCH) {
        let batch = Object::new();
        for (key, value) in entries {
            Reflect::set(&batch, &JsValue::from_str(key), &JsValue::from_str(value))?;
        }
        pending.push(&storage.put(&batch)?.into());
    }
    for keys in answer.delete.chunks(BATCH) {
        let list: Array = keys.iter().map(|k| JsValue::from_str(k)).collect();
        pending.push(&storage.delete(&list)?.into());
    }
    if pending.length() > 0 {
        Settled::new(&Promise::all(&pending)).await?;
    }
    Ok(())
}

fn respond(status: u16, body: &str) -> Result<Response, JsValue> {
    crate::http::respond(status, [("content-type", "application/json")], Some(body))
}
