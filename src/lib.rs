//! The edge-auth Cloudflare Worker: a thin adapter. It holds the isolate's state, does the I/O (fetch,
//! the Cache API, WebCrypto, logs) and translates between the Workers runtime and the pure crates that
//! decide: `edge-auth-core` (tokens, keys, claims, policy, configuration) and `edge-auth-gate` (what to do
//! with a request, and the refusal as HTTP). Modules, bottom-up, none using a later one: `isolate`
//! (state), `keys` (remote key sets), `verify` (cache + core + WebCrypto), `entry` (the fetch handler); `revocations` (the Durable Object class, beside them).
//! Everything here is wasm32 only; natively the crate is empty.
#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
mod endpoints;
#[cfg(target_arch = "wasm32")]
mod entry;
#[cfg(target_arch = "wasm32")]
mod http;
#[cfg(target_arch = "wasm32")]
mod isolate;
#[cfg(target_arch = "wasm32")]
mod keys;
#[cfg(target_arch = "wasm32")]
mod log;
#[cfg(target_arch = "wasm32")]
mod revocation;
#[cfg(target_arch = "wasm32")]
mod revocations;
#[cfg(target_arch = "wasm32")]
mod runtime;
#[cfg(target_arch = "wasm32")]
mod verify;

#[cfg(all(target_arch = "wasm32", feature = "bench"))]
mod bench;
