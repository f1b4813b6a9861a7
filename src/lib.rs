//! The edge-auth Cloudflare Worker. The fetch handler (next) only translates: it hands requests to the
//! core and renders refusals through [`http`], the one place that maps refusals to HTTP.
#![forbid(unsafe_code)]

pub mod extract;
pub mod gate;
pub mod http;

#[cfg(target_arch = "wasm32")]
mod entry;
#[cfg(target_arch = "wasm32")]
mod keys;
#[cfg(target_arch = "wasm32")]
mod promise;

#[cfg(all(target_arch = "wasm32", feature = "bench"))]
mod bench;

pub use edge_auth_core as core;
