//! `edge-auth-origin`: the origin's side of edge-auth for Rust services — an axum extractor and a tower
//! layer that verify the signed assertion the edge Worker forwards (header `Edge-Auth-Assertion`).
//!
//! Every rule is the core's: [`AssertionVerifier`](edge_auth_core::AssertionVerifier) (the edge's keys,
//! issuer, audience, `typ: edge-auth+jwt`, a short clock window, `iat`/`jti`/`htm`/`htu`/`ath` present),
//! its request binding (`htm` = the method received, `htu` = the public URL of the path received, `ath`
//! = the hash of the bearer token when one reaches the origin), the remote-key decisions of
//! [`KeyState`](edge_auth_core::KeyState) (fresh, stale-while-revalidate, stale-if-error, single
//! flight, unknown-`kid` cooldown, failure backoff, the `Cache-Control` clamp, the https-only URL rule)
//! and the Worker's refusal → HTTP mapping ([`Refusal::to_http`](edge_auth_gate::Refusal::to_http)).
//! This crate only does the I/O: it reads the clock ([`Clock`]), fetches the JWKS with hyper over
//! rustls, and translates axum requests and responses.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use edge_auth_origin::{EdgeAuth, Identity};
//!
//! async fn orders(identity: Identity) -> String {
//!     format!("orders of {}", identity.sub().unwrap_or("?"))
//! }
//!
//! async fn admin(identity: Identity) -> String {
//!     format!("hello, admin {}", identity.sub().unwrap_or("?"))
//! }
//!
//! # fn app() -> Result<Router, edge_auth_origin::BuildError> {
//! let edge = EdgeAuth::builder()
//!     .jwks_url("https://edge.example/.well-known/edge-auth/jwks.json")
//!     .issuer("https://edge.example")
//!     .audience("https://api.example")
//!     .public_url("https://api.example")
//!     .build()?;
//! let app = Router::new()
//!     .route("/orders", get(orders).layer(edge.require_scopes(["orders:read"])))
//!     .route("/admin", get(admin).layer(edge.require_roles(["admin"])))
//!     // Every route: a verified assertion, or the Worker's 401/503 answer.
//!     .layer(edge.layer());
//! # Ok(app) }
//! ```
#![forbid(unsafe_code)]

mod builder;
mod clock;
mod extract;
mod fetch;
mod identity;
mod keys;
mod layer;
mod rejection;
mod verify;

pub use builder::{BuildError, EdgeAuthBuilder, DEFAULT_HEADER};
pub use clock::{Clock, SystemClock};
pub use identity::Identity;
pub use layer::{EdgeAuthLayer, EdgeAuthService};
pub use rejection::{Rejection, DEFAULT_REALM};
pub use verify::EdgeAuth;

/// The core's remote-key bounds (freshness clamp, cooldown, backoff, timeout, size), re-exported for
/// [`EdgeAuthBuilder::remote_settings`].
pub use edge_auth_core::RemoteSettings;
/// The core's requirement types, for [`EdgeAuth::require`] and [`Identity::require`].
pub use edge_auth_core::{NeedSet, Requirement};
/// The Worker's refusal, which a [`Rejection`] carries.
pub use edge_auth_gate::Refusal;
