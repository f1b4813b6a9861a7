//! The edge-auth Cloudflare Worker. A placeholder until the Worker issue lands: it only re-exports the core
//! so that `cargo check --target wasm32-unknown-unknown -p edge-auth` proves the core builds for Workers.
#![forbid(unsafe_code)]

pub use edge_auth_core as core;
