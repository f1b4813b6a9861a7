//! What the package asks of its JS side and runtime: the key fetch and a timer (callbacks `js/api.js`
//! supplies), the clock and randomness. The pure crates never read a clock or draw randomness; this
//! adapter does, and hands them `now` and seeds.

use edge_auth_core::UnixTime;
use edge_auth_webcrypto::Settled;
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    /// The JS side's I/O, an object with two methods (`js/api.js` makes it):
    /// - `fetch(url, timeoutMs, maxBytes)` → a promise of `{ status, body: Uint8Array, cacheControl }`:
    ///   a `GET` without following redirects, the whole answer (head and body) within `timeoutMs`, the
    ///   body read as a stream and refused once it passes `maxBytes`; it rejects with an `Error` whose
    ///   message says why.
    /// - `sleep(ms)` → a promise resolved after `ms` milliseconds (a timer in the caller's own context).
    #[wasm_bindgen(
        typescript_type = "{ fetch(url: string, timeoutMs: number, maxBytes: number): Promise<{ status: number, body: Uint8Array, cacheControl: string | null }>, sleep(ms: number): Promise<void> }"
    )]
    #[derive(Debug, Clone)]
    pub type Host;

    #[wasm_bindgen(method, catch, js_name = fetch)]
    fn fetch_raw(
        this: &Host,
        url: &str,
        timeout_ms: f64,
        max_bytes: f64,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = sleep)]
    fn sleep_raw(this: &Host, ms: f64) -> Result<Promise, JsValue>;
}

/// A fetched document.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    pub(crate) cache_control: Option<String>,
}

/// The text of a JS error (its `message`), for logs and the key state's last error.
fn reason(error: &JsValue) -> String {
    Reflect::get(error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the fetch failed".to_owned())
}

/// A small integer as a JS number.
fn number(value: u64) -> f64 {
    #[allow(
        clippy::cast_precision_loss,
        reason = "timeouts and sizes are bounded by the configuration, far below 2^53"
    )]
    let value = value as f64;
    value
}

impl Host {
    /// GETs `url` through the JS side (timeout, size limit and no redirects are enforced there).
    pub(crate) async fn fetch(
        &self,
        url: &str,
        timeout_ms: u64,
        max_bytes: usize,
    ) -> Result<Fetched, String> {
        let promise = self
            .fetch_raw(url, number(timeout_ms), number(max_bytes as u64))
            .map_err(|e| format!("fetch {url}: {}", reason(&e)))?;
        let answer = Settled::new(&promise).await.map_err(|e| reason(&e))?;
        let field = |name: &str| Reflect::get(&answer, &JsValue::from_str(name)).ok();
        let status = field("status")
            .and_then(|s| s.as_f64())
            .filter(|s| (0.0..1000.0).contains(s))
            .map_or(0, |s| {
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "checked to be in 0..1000 just above"
                )]
                let status = s as u16;
                status
            });
        let body = field("body")
            .and_then(|b| b.dyn_into::<Uint8Array>().ok())
            .map(|b| b.to_vec())
            .ok_or_else(|| format!("fetch {url}: no body"))?;
        let cache_control = field("cacheControl").and_then(|c| c.as_string());
        Ok(Fetched {
            status,
            body,
            cache_control,
        })
    }

    /// Waits `ms` milliseconds on a timer of the JS side.
    pub(crate) async fn sleep(&self, ms: u64) {
        if let Ok(promise) = self.sleep_raw(number(ms)) {
            let _ = Settled::new(&promise).await;
        }
    }
}

/// Whole seconds from a JS millisecond time (`Date.now()`); 0 for anything not a time after 1970.
pub(crate) fn seconds_from_millis(ms: f64) -> u64 {
    if !ms.is_finite() || ms <= 0.0 {
        return 0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "positive and finite; `as` saturates at u64::MAX, far beyond any date"
    )]
    let seconds = (ms / 1000.0).floor() as u64;
    seconds
}

/// The wall clock, in whole seconds: what remote key sets age by.
pub(crate) fn wall_clock() -> u64 {
    seconds_from_millis(js_sys::Date::now())
}

/// A verification time given in seconds by the caller (`now` options), or the wall clock.
pub(crate) fn verification_time(now_seconds: f64) -> UnixTime {
    if now_seconds.is_finite() && now_seconds >= 0.0 {
        UnixTime(seconds_from_millis(now_seconds * 1000.0))
    } else {
        UnixTime(wall_clock())
    }
}

/// 16 random bytes (the token cache's hash seed, an assertion's `jti`).
pub(crate) fn random16() -> Result<[u8; 16], String> {
    let mut bytes = [0u8; 16];
    edge_auth_webcrypto::random_bytes(&mut bytes)?;
    Ok(bytes)
}

/// The runtime's CSPRNG as a `rand_core` RNG, for the keys generated in Rust (HS*, ES256K).
#[derive(Debug)]
pub(crate) struct HostRng;

impl rand_core::RngCore for HostRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if edge_auth_webcrypto::random_bytes(dest).is_err() {
            // Never a key from bytes that were not filled. `getRandomValues` only throws over 65 536
            // bytes, which `random_bytes` never asks for at once; should it throw anyway, the
            // instance traps (as `OsRng` panics) and the caller's promise rejects.
            std::process::abort();
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        edge_auth_webcrypto::random_bytes(dest).map_err(|_| {
            rand_core::Error::from(
                std::num::NonZeroU32::new(rand_core::Error::CUSTOM_START)
                    .unwrap_or(std::num::NonZeroU32::MIN),
            )
        })
    }
}

impl rand_core::CryptoRng for HostRng {}

/// Hands the WebCrypto backend another `SubtleCrypto`-like object for every verifier, gate and tool
/// made afterwards: the package's Node entry passes `js/node-crypto.js`'s, which verifies with
/// `node:crypto` (synchronously, as `jose` does in Node) and passes every other call to `crypto.subtle`.
#[wasm_bindgen(js_name = useSubtle)]
pub fn use_subtle(subtle: JsValue) {
    edge_auth_webcrypto::use_subtle(subtle);
}
