//! `edge-auth-wasm`: the raw wasm-bindgen exports behind the npm package `edge-auth` (`js/`). `js/api.js`
//! wraps them into the public API (real `Request`/`Response` objects, `EdgeAuthError`, options); every
//! decision is made here with the pure crates, never in JS.
//!
//! Raw exports (JS names):
//! - `decode(token, nowSeconds)` → JSON text of the core's [`edge_auth_core::Inspection`].
//! - `RawVerifier` (`new(config, isText, secrets, host)`, `verify(token, nowSeconds)` → JSON text).
//! - `RawGate` (`new(config, isText, secrets, origin, host)`, `handle(requestJson)` → JSON text of
//!   what to answer or how to forward, `responseHeaders(requestJson, headersJson)`), and
//!   `explain(config, isText, secrets, requestJson, nowSeconds, host)` → JSON text of the gate's
//!   [`edge_auth_gate::Explanation`].
//! - `RawAssertionVerifier` (`new(optionsJson, host)`, `authorize(assertion, method, url,
//!   authorization, nowSeconds, scopes, roles)` → JSON text of `{ identity }` or of `{ refuse }`, the
//!   Worker's answer to the refusal).
//! - `keygen(alg)`, `mint(jwk, claims, header)`, `verifySignature(token, jwk, algorithm)`.
//!
//! Failures reach JS as plain objects made in exactly one place ([`error`]); `api.js` turns them into
//! `EdgeAuthError`s. `host` is the JS side's I/O: `fetch(url, timeoutMs, maxBytes)` for remote keys and
//! `sleep(ms)`.
//!
//! Modules, bottom-up, none using a later one: `error` (the JS error mapping), `host` (JS callbacks, the
//! clock, randomness), `state` (a verifier's state: configuration, token cache, WebCrypto, remote key
//! sets), `keys` (remote key sets under the core's `KeyState`), `verify` (cache, core, keys, WebCrypto),
//! then the exports: `tools`, `verifier`, `gate`, `assertion`.
#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
mod assertion;
#[cfg(target_arch = "wasm32")]
mod error;
#[cfg(target_arch = "wasm32")]
mod gate;
#[cfg(target_arch = "wasm32")]
mod host;
#[cfg(target_arch = "wasm32")]
mod keys;
#[cfg(target_arch = "wasm32")]
mod state;
#[cfg(target_arch = "wasm32")]
mod tools;
#[cfg(target_arch = "wasm32")]
mod verifier;
#[cfg(target_arch = "wasm32")]
mod verify;
