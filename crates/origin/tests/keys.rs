//! The edge's JWKS over time, under the core's rules, with the clock moved by the test (no waiting):
//! down at start then back, the last good set kept while the endpoint fails, one refetch per unknown
//! `kid` and cooldown, `Cache-Control` freshness, one fetch for many concurrent requests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::*;
use edge_auth_core::{Algorithm, SigningKey};

fn assertion_at(key: &SigningKey, now: u64) -> String {
    let (token, reader) = caller("orders:read", &[], now);
    assertion(key, &reader, &token, "GET", "/orders", now)
}

async fn get_orders(app: &axum::Router, key: &SigningKey, now: u64) -> Answer {
    call(
        app,
        "GET",
        "/orders",
        &[("edge-auth-assertion", &assertion_at(key, now))],
    )
    .await
}

#[tokio::test]
async fn down_at_start_then_recovers() {
    let ed = key(Algorithm::EdDsa);
    let server = JwksServer::start(jwks(&[&ed])).await;
    server.fail();
    let clock = ManualClock::at(T0);
    let edge = edge(&server, &clock);
    let app = app(&edge);

    // The service starts; loading the keys at start-up fails without ending it.
    let loaded = edge.load_keys().await.unwrap_err();
    assert_eq!(loaded.code(), "keys_unavailable");
    assert_eq!(server.hits(), 1);

    // Within the failure backoff (10 s): 503 with Retry-After, and no new fetch.
    clock.advance(3);
    let answer = get_orders(&app, &ed, T0 + 3).await;
    assert_eq!(
        (answer.status, answer.code()),
        (503, Some("keys_unavailable"))
    );
    assert_eq!(answer.retry_after.as_deref(), Some("7"));
    assert_eq!(answer.www_authenticate, None);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(server.hits(), 1);
    assert!(edge.key_status()["last_error"]["error"]
        .as_str()
        .unwrap()
        .contains("status 500"));

    // After the backoff the endpoint is back: the request fetches and passes.
    server.recover();
    clock.set(T0 + 10);
    let answer = get_orders(&app, &ed, T0 + 10).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn the_last_good_set_serves_while_the_endpoint_fails() {
    let ed = key(Algorithm::EdDsa);
    let server = JwksServer::start(jwks(&[&ed])).await;
    let clock = ManualClock::at(T0);
    let edge = edge(&server, &clock);
    let app = app(&edge);
    assert_eq!(get_orders(&app, &ed, T0).await.status, 200);
    assert_eq!(server.hits(), 1);

    // Fresh for max-age=600: no fetch before then.
    server.fail();
    clock.set(T0 + 599);
    assert_eq!(get_orders(&app, &ed, T0 + 599).await.status, 200);
    assert_eq!(server.hits(), 1);

    // Expired: served stale while one background refresh runs, and fails.
    clock.set(T0 + 600);
    assert_eq!(get_orders(&app, &ed, T0 + 600).await.status, 200);
    settled(&edge, 2).await;
    assert_eq!(server.hits(), 2);
    assert!(edge.key_status()["last_error"]["error"]
        .as_str()
        .unwrap()
        .contains("status 500"));

    // Still failing: the set keeps serving; one retry per backoff interval (10 s), not per request.
    clock.set(T0 + 605);
    for _ in 0..5 {
        assert_eq!(get_orders(&app, &ed, T0 + 605).await.status, 200);
    }
    assert_eq!(server.hits(), 2);
    clock.set(T0 + 610);
    assert_eq!(get_orders(&app, &ed, T0 + 610).await.status, 200);
    settled(&edge, 3).await;
    assert_eq!(server.hits(), 3);

    // Hours later, still within stale-if-error (24 h after expiry): still served.
    let late = T0 + 600 + 86_399;
    clock.set(late);
    assert_eq!(get_orders(&app, &ed, late).await.status, 200);
    settled(&edge, 4).await;

    // Past the grace period the set is gone: 503 until the endpoint answers again.
    let gone = T0 + 600 + 86_400 + 20;
    clock.set(gone);
    let answer = get_orders(&app, &ed, gone).await;
    assert_eq!(
        (answer.status, answer.code()),
        (503, Some("keys_unavailable"))
    );
    server.recover();
    clock.set(gone + 10);
    assert_eq!(get_orders(&app, &ed, gone + 10).await.status, 200);
}

#[tokio::test]
async fn an_unknown_kid_refetches_once_per_cooldown() {
    let old = key(Algorithm::EdDsa);
    let new = key(Algorithm::Es256);
    let server = JwksServer::start(jwks(&[&old])).await;
    let clock = ManualClock::at(T0);
    let edge = edge(&server, &clock);
    let app = app(&edge);
    assert_eq!(get_orders(&app, &old, T0).await.status, 200);
    assert_eq!(server.hits(), 1);

    // Assertions under a kid the set lacks: one refetch, then none within the 30 s cooldown.
    clock.set(T0 + 1);
    for _ in 0..10 {
        let answer = get_orders(&app, &new, T0 + 1).await;
        assert_eq!(answer.code(), Some("key_not_found"));
    }
    assert_eq!(server.hits(), 2);
    clock.set(T0 + 30);
    assert_eq!(
        get_orders(&app, &new, T0 + 30).await.code(),
        Some("key_not_found")
    );
    assert_eq!(server.hits(), 2, "still cooling down");

    // The edge rotates: after the cooldown the first assertion under the new kid refetches and passes.
    server.serve(jwks(&[&old, &new]));
    clock.set(T0 + 31);
    assert_eq!(get_orders(&app, &new, T0 + 31).await.status, 200);
    assert_eq!(server.hits(), 3);
    // …and later ones need no fetch.
    assert_eq!(get_orders(&app, &new, T0 + 31).await.status, 200);
    assert_eq!(get_orders(&app, &old, T0 + 31).await.status, 200);
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn cache_control_is_clamped() {
    let ed = key(Algorithm::EdDsa);
    let server = JwksServer::start(jwks(&[&ed])).await;
    // 5 s asked: the floor is 300 s.
    server.cache_control(Some("public, max-age=5"));
    let clock = ManualClock::at(T0);
    let edge = edge(&server, &clock);
    let app = app(&edge);
    assert_eq!(get_orders(&app, &ed, T0).await.status, 200);
    clock.set(T0 + 299);
    assert_eq!(get_orders(&app, &ed, T0 + 299).await.status, 200);
    assert_eq!(server.hits(), 1);
    assert_eq!(edge.key_status()["fresh_for_seconds"], 1);
    // A refresh at expiry takes the new answer's freshness: a year asked, a day given.
    server.cache_control(Some("max-age=31536000"));
    clock.set(T0 + 300);
    assert_eq!(get_orders(&app, &ed, T0 + 300).await.status, 200);
    settled(&edge, 2).await;
    assert_eq!(edge.key_status()["fresh_for_seconds"], 86_400);
}

#[tokio::test]
async fn concurrent_requests_share_one_fetch() {
    let ed = key(Algorithm::EdDsa);
    let server = JwksServer::start(jwks(&[&ed])).await;
    let clock = ManualClock::at(T0);
    let edge = edge(&server, &clock);
    let app = app(&edge);
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let app = app.clone();
        let minted = assertion_at(&ed, T0);
        requests.spawn(async move {
            call(&app, "GET", "/orders", &[("edge-auth-assertion", &minted)])
                .await
                .status
        });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn only_https_or_allowed_loopback() {
    let build = |url: &str, loopback: bool| {
        edge_auth_origin::EdgeAuth::builder()
            .jwks_url(url)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .public_url(PUBLIC)
            .remote_settings(edge_auth_origin::RemoteSettings {
                allow_loopback_http: loopback,
                ..edge_auth_origin::RemoteSettings::default()
            })
            .build()
            .map(|_| ())
            .map_err(|e| e.field())
    };
    assert_eq!(
        build(
            "https://edge.example/.well-known/edge-auth/jwks.json",
            false
        ),
        Ok(())
    );
    assert_eq!(build("http://127.0.0.1:8787/jwks.json", true), Ok(()));
    assert_eq!(
        build("http://127.0.0.1:8787/jwks.json", false),
        Err("jwks_url")
    );
    assert_eq!(
        build("http://edge.example/jwks.json", true),
        Err("jwks_url")
    );
    assert_eq!(
        build("https://user@edge.example/jwks.json", false),
        Err("jwks_url")
    );
}
