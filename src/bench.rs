//! Benchmark entry points (feature `bench`, wasm32 only; never in the deployed bundle): the Worker's own
//! verification and request path, callable from a JS harness inside workerd so that it can be timed
//! beside `jose` in the same isolate. `scripts/bench-worker.sh` builds and runs it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use edge_auth_core::{AbsoluteUrl, GateConfig};
use wasm_bindgen::prelude::*;

use edge_auth_gate::{self as gate, Plan, RequestHead};
use edge_auth_webcrypto::WebCrypto;

use crate::isolate::{now, Isolate};
use crate::revocation;
use crate::verify::{sign_assertion, verify};

thread_local! {
    static BENCH: RefCell<Option<Rc<RefCell<Isolate>>>> = const { RefCell::new(None) };
}

/// The bench isolate and its compiled configuration.
fn state() -> Result<(Rc<RefCell<Isolate>>, Rc<GateConfig>), JsValue> {
    let isolate = BENCH
        .with(|b| b.borrow().clone())
        .ok_or_else(|| JsValue::from_str("call bench_setup first"))?;
    let config = isolate
        .borrow()
        .config
        .clone()
        .map_err(|()| JsValue::from_str("no config"))?;
    Ok((isolate, config))
}

/// Compiles `config` (the EDGE_AUTH JSON) with `secrets` (a JSON object of name → value).
#[wasm_bindgen]
pub fn bench_setup(config: String, secrets: String) -> Result<(), JsValue> {
    let secrets: HashMap<String, String> =
        serde_json::from_str(&secrets).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let config = GateConfig::from_value(&serde_json::Value::String(config), &secrets)
        .map_err(|e| JsValue::from_str(&e.to_string()))?;
    let mut seed = [0u8; 16];
    edge_auth_webcrypto::random_bytes(&mut seed).map_err(|e| JsValue::from_str(&e))?;
    let crypto = WebCrypto::new()?;
    let isolate = Isolate::new(Ok((config, None)), seed, crypto);
    BENCH.with(|b| *b.borrow_mut() = Some(Rc::new(RefCell::new(isolate))));
    Ok(())
}

/// Verification as the Worker does it: cache, then the core with WebCrypto. True when accepted.
#[wasm_bindgen]
pub async fn bench_verify(token: String) -> Result<bool, JsValue> {
    let (isolate, config) = state()?;
    Ok(verify(&isolate, &config, &token, now(), None)
        .await
        .0
        .is_ok())
}

/// Verification of each token in turn inside one Rust task, as the fetch handler runs it (no JS → Rust
/// async call per token). Answers how many were accepted.
#[wasm_bindgen]
pub async fn bench_verify_each(tokens: Vec<String>) -> Result<u32, JsValue> {
    let (isolate, config) = state()?;
    let mut accepted = 0;
    for token in &tokens {
        if verify(&isolate, &config, token, now(), None)
            .await
            .0
            .is_ok()
        {
            accepted += 1;
        }
    }
    Ok(accepted)
}

/// The request every request-path bench runs: `GET https://api.example.com/orders/42?page=1`.
fn bench_head(authorization: Option<&str>) -> RequestHead<'_> {
    RequestHead {
        authorization,
        ..RequestHead::simple(
            "GET",
            "https://api.example.com/orders/42?page=1",
            "/orders/42",
            "api.example.com",
        )
    }
}

/// The bench request's URL, parsed as the fetch handler parses the runtime's (once per request there;
/// once per bench call here).
fn bench_url() -> Result<AbsoluteUrl, JsValue> {
    AbsoluteUrl::parse(bench_head(None).url).map_err(|e| JsValue::from_str(&e.to_string()))
}

/// The whole request path short of the network: plan, extract, verify, mint the assertion. True when the
/// request would be forwarded with an assertion (one request of [`bench_request_phases`], every phase).
#[wasm_bindgen]
pub async fn bench_request(authorization: String) -> Result<bool, JsValue> {
    Ok(bench_request_phases(authorization, 1, 5).await? == 1)
}

/// The request path, `n` times inside one Rust task (no JS → Rust call per request), stopped after
/// phase `upto`: 0 plan, 1 + verification (a cache hit after the first), 2 + revocation check and
/// authorization, 3 + `jti` and the assertion's signing input, 4 + the signature, 5 + the forward
/// instructions. The harness times each `upto` and prints the
/// differences: where a cached token's request path spends its time. Answers how many went through.
#[wasm_bindgen]
pub async fn bench_request_phases(
    authorization: String,
    n: u32,
    upto: u32,
) -> Result<u32, JsValue> {
    let (isolate, config) = state()?;
    let head = bench_head(Some(&authorization));
    let url = bench_url()?;
    let mut done = 0;
    for _ in 0..n {
        let Plan::Verify {
            token,
            route,
            params,
            path,
        } = gate::plan(&config, &head)
        else {
            return Ok(done);
        };
        if upto == 0 {
            done += 1;
            continue;
        }
        let now = now();
        let Ok(verified) = verify(&isolate, &config, &token, now, None).await.0 else {
            return Ok(done);
        };
        if upto == 1 {
            done += 1;
            continue;
        }
        if config.revocation.is_some()
            && revocation::check(&isolate, &config, &verified, now)
                .await
                .is_err()
        {
            return Ok(done);
        }
        if gate::authorize(&config, route, &params, &verified).is_err() {
            return Ok(done);
        }
        if upto == 2 {
            done += 1;
            continue;
        }
        let mut jti = [0u8; 16];
        edge_auth_webcrypto::random_bytes(&mut jti).map_err(|e| JsValue::from_str(&e))?;
        let Some(input) = gate::assertion_input(
            &config,
            head.method,
            &url,
            &path,
            &verified,
            &token,
            now,
            jti,
        ) else {
            return Ok(done);
        };
        if upto == 3 {
            done += 1;
            continue;
        }
        let assertion = sign_assertion(&isolate, &config, input)
            .await
            .map_err(|e| JsValue::from_str(&e))?;
        if upto == 4 {
            done += 1;
            continue;
        }
        if gate::forward_verified(&config, &head, path, assertion)
            .assertion
            .is_some()
        {
            done += 1;
        }
    }
    Ok(done)
}

/// Probe: the parts of phase 3 of [`bench_request_phases`], `n` times in one call: 0 `random_bytes` of a
/// `jti`, 1 `ath` of `token`, 2 `htu` of the bench URL, 3 the whole assertion input (fixed `jti`).
#[wasm_bindgen]
pub fn bench_assertion_parts(token: String, n: u32, part: u32) -> Result<u32, JsValue> {
    let (isolate, config) = state()?;
    let head = bench_head(None);
    let url = bench_url()?;
    let verified = isolate
        .borrow_mut()
        .cache
        .get(&token, now())
        .ok_or_else(|| JsValue::from_str("not cached"))?;
    let mut done = 0;
    for _ in 0..n {
        let ok = match part {
            0 => {
                let mut jti = [0u8; 16];
                edge_auth_webcrypto::random_bytes(&mut jti).is_ok()
            }
            1 => !edge_auth_core::ath(&token).is_empty(),
            // What the request path does for `htu`: the URL the Worker parsed, with the normalized path.
            2 => !url.with_path_and_query(head.path, None).htu().is_empty(),
            _ => gate::assertion_input(
                &config,
                head.method,
                &url,
                head.path,
                &verified,
                &token,
                now(),
                [1; 16],
            )
            .is_some(),
        };
        done += u32::from(ok);
    }
    Ok(done)
}

/// Probe: the synchronous part of a first sight (parse, issuer and key selection), no crypto.
#[wasm_bindgen]
pub fn bench_begin(token: String) -> Result<bool, JsValue> {
    let (_, config) = state()?;
    Ok(config.verifier.begin(&token).is_ok())
}

/// Probe: a trap (`abort` is `unreachable` under `panic = "immediate-abort"`), as a bug or an
/// exhausted memory would trap: `tests/worker/trap-recovery.mjs` checks that the next call gets a fresh
/// instance, and that the start-up leaves `queueMicrotask` as it found it. Never returns.
#[wasm_bindgen]
pub fn bench_trap() {
    std::process::abort()
}

/// Probe: an exported async function that awaits nothing.
#[wasm_bindgen]
pub async fn bench_async_noop() -> Result<bool, JsValue> {
    Ok(true)
}

/// Probe: awaiting one already-resolved promise from Rust.
#[wasm_bindgen]
pub async fn bench_await_resolved() -> Result<bool, JsValue> {
    let value =
        wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&JsValue::TRUE)).await?;
    Ok(value.as_bool() == Some(true))
}

/// Probe: awaiting one already-resolved promise through [`edge_auth_webcrypto::Settled`].
#[wasm_bindgen]
pub async fn bench_await_light() -> Result<bool, JsValue> {
    let value =
        edge_auth_webcrypto::Settled::new(&js_sys::Promise::resolve(&JsValue::TRUE)).await?;
    Ok(value.as_bool() == Some(true))
}

/// Probe: what the fetch handler spends watching for its client going away, `n` times in one call: an
/// [`edge_auth_webcrypto::AbortWatch`] made for `request` and dropped (one call into JS that makes a
/// promise and an `abort` listener on the request's signal, and a promise slot opened and closed).
/// Answers how many were made.
#[wasm_bindgen]
pub fn bench_abort_watch(request: web_sys::Request, n: u32) -> u32 {
    let mut made = 0;
    for _ in 0..n {
        drop(edge_auth_webcrypto::AbortWatch::new(&request));
        made += 1;
    }
    made
}

/// Gives every issuer under revocation a synced copy holding `records` records of each kind (`jti`,
/// `sid`, `sub`; none matching the bench tokens), as a sync from the object would, fresh for the
/// configured `cache_seconds`: the state cached in the isolate.
#[wasm_bindgen]
pub fn bench_revocation_setup(records: u32) -> Result<(), JsValue> {
    let (isolate, config) = state()?;
    let revocation = config
        .revocation
        .as_ref()
        .ok_or_else(|| JsValue::from_str("the bench config has no revocation"))?;
    let now = now().0;
    for issuer in &revocation.issuers {
        let mut list = Vec::new();
        let mut seq = 0u64;
        for i in 0..records {
            for kind in ["jti", "sid", "sub"] {
                seq += 1;
                list.push(
                    serde_json::json!({"seq": seq, "kind": kind, "iss": issuer.issuer,
                    "value": format!("revoked-{kind}-{i}"), "at": now, "until": now + 3600}),
                );
            }
        }
        let body = serde_json::json!({"epoch": "bench", "seq": seq, "full": true, "records": list});
        let mut state = isolate.borrow_mut();
        let entry = state.revocations.entry(issuer.index);
        entry
            .view
            .apply_sync(&body.to_string(), now)
            .map_err(|e| JsValue::from_str(&e.to_string()))?;
    }
    Ok(())
}

/// The revocation check of the fetch handler, `n` times in one Rust task, on `token` verified once
/// (from the verified-token cache after that): the cost per request with the state cached in the
/// isolate. Answers how many checks passed.
#[wasm_bindgen]
pub async fn bench_revocation_check(token: String, n: u32) -> Result<u32, JsValue> {
    let (isolate, config) = state()?;
    let now = now();
    let verified = verify(&isolate, &config, &token, now, None)
        .await
        .0
        .map_err(|e| JsValue::from_str(e.code()))?;
    let mut passed = 0;
    for _ in 0..n {
        if revocation::check(&isolate, &config, &verified, now)
            .await
            .is_ok()
        {
            passed += 1;
        }
    }
    Ok(passed)
}

/// The baseline of [`bench_revocation_check`]: the same loop around a verified-token cache hit alone.
#[wasm_bindgen]
pub async fn bench_cache_hit(token: String, n: u32) -> Result<u32, JsValue> {
    let (isolate, config) = state()?;
    let now = now();
    let mut passed = 0;
    for _ in 0..n {
        if verify(&isolate, &config, &token, now, None).await.0.is_ok() {
            passed += 1;
        }
    }
    Ok(passed)
}
