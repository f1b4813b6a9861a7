//! An origin behind the edge Worker: `cargo run -p edge-auth-origin --example axum_origin`.
//!
//! Environment (all required but `PORT` and `EDGE_ASSERTION_HEADER`):
//! - `EDGE_JWKS_URL`: the Worker's JWKS (`https://<edge>/.well-known/edge-auth/jwks.json`; `http://` only
//!   on a loopback host, for local runs);
//! - `EDGE_ASSERTION_ISSUER`, `EDGE_ASSERTION_AUDIENCE`: the Worker's `assertion.issuer` and
//!   `assertion.audience`;
//! - `PUBLIC_URL`: the URL clients call through the Worker (`htu` = it + the path received);
//! - `PORT`: where to listen on 127.0.0.1 (default 8000; `0` picks a free port);
//! - `EDGE_ASSERTION_HEADER`: the Worker's `assertion.header` (default `Edge-Auth-Assertion`).
//!
//! Routes: `GET /orders` (scope `orders:read`) and `GET /admin` (role `admin`) answer `200` with the
//! caller's identity as JSON: `{ sub, issuer, scopes, roles, assertion_id, claims }`. Any other path
//! or method still needs a valid assertion (`401` without one) and then gets `404`/`405`. Refusals are
//! the Worker's (problem+json with the stable code). Prints `listening on <port>` once it accepts
//! connections. The edge's keys are fetched by the first request that needs them (a service would
//! call `edge.load_keys().await` at start); while the JWKS cannot be had, requests get `503
//! keys_unavailable` with `Retry-After`, and the next fetch waits out the 10 s failure backoff.

use std::process::ExitCode;

use axum::routing::get;
use axum::{Json, Router};
use edge_auth_origin::{EdgeAuth, Identity, RemoteSettings};

async fn echo(identity: Identity) -> Json<serde_json::Value> {
    Json(identity.to_json())
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

async fn run() -> Result<(), String> {
    let mut builder = EdgeAuth::builder()
        .jwks_url(env("EDGE_JWKS_URL")?)
        .issuer(env("EDGE_ASSERTION_ISSUER")?)
        .audience(env("EDGE_ASSERTION_AUDIENCE")?)
        .public_url(env("PUBLIC_URL")?)
        // `http://` JWKS URLs are accepted on loopback hosts only (a local Worker); https elsewhere.
        .remote_settings(RemoteSettings {
            allow_loopback_http: true,
            ..RemoteSettings::default()
        });
    if let Ok(header) = std::env::var("EDGE_ASSERTION_HEADER") {
        builder = builder.header(header);
    }
    let edge = builder.build().map_err(|e| e.to_string())?;
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(|e| format!("PORT {port:?}: {e}"))?,
        Err(_) => 8000,
    };

    let app = Router::new()
        .route(
            "/orders",
            get(echo).layer(edge.require_scopes(["orders:read"])),
        )
        .route("/admin", get(echo).layer(edge.require_roles(["admin"])))
        .layer(edge.layer());

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("listen on 127.0.0.1:{port}: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    println!("listening on {port}");
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("serve: {e}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("axum_origin: {message}");
            ExitCode::from(2)
        }
    }
}
