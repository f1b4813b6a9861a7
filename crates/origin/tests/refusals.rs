//! Requests against an axum app behind the layer, with the edge's JWKS served from 127.0.0.1: one
//! table of cases, each with the exact status, code and challenge the Worker would answer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::*;
use edge_auth_core::{mint, Algorithm, MintOptions, SigningKey};
use serde_json::{json, Value};

/// One request and what must come back.
struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    /// The assertion header(s) and any other header.
    headers: Vec<(&'static str, String)>,
    status: u16,
    /// The problem code (`None` for a 200).
    code: Option<&'static str>,
    /// The exact `WWW-Authenticate`, when one is expected.
    challenge: Option<&'static str>,
}

fn refused(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        name,
        method,
        path,
        headers,
        status,
        code: Some(code),
        challenge: None,
    }
}

fn with(assertion: String) -> Vec<(&'static str, String)> {
    vec![("edge-auth-assertion", assertion)]
}

/// A token signed by `key` with `claims` changed by `change` (the header's `typ`: `typ`).
fn crafted(
    key: &SigningKey,
    typ: Option<&str>,
    change: impl FnOnce(&mut serde_json::Map<String, Value>),
) -> String {
    let mut claims = claims(T0);
    change(&mut claims);
    mint(key, &claims, &MintOptions { kid: None, typ })
}

fn b64(bytes: &[u8]) -> String {
    use base64ct::Encoding;
    base64ct::Base64UrlUnpadded::encode_string(bytes)
}

#[tokio::test]
async fn the_table() {
    let ed = key(Algorithm::EdDsa);
    let es = key(Algorithm::Es256);
    let server = JwksServer::start(jwks(&[&ed, &es])).await;
    let clock = ManualClock::at(T0);
    let edge = edge(&server, &clock);
    let app = app(&edge);

    let (reader_token, reader) = caller("orders:read profile", &[], T0);
    let (admin_token, admin) = caller("profile", &["admin"], T0);
    let typ = Some("edge-auth+jwt");
    let other = key(Algorithm::EdDsa);
    // Another key that claims the edge key's `kid`.
    let impostor = SigningKey::generate(
        Algorithm::EdDsa,
        ed.kid().map(str::to_owned),
        &mut rand_core::OsRng,
    )
    .unwrap();
    let hs = key(Algorithm::Hs256);
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"edge-auth+jwt"}"#),
        b64(Value::Object(claims(T0)).to_string().as_bytes())
    );
    let bearer = |token: &str| ("authorization", format!("Bearer {token}"));

    let cases = vec![
        Case {
            name: "allowed (EdDSA), the identity echoed",
            method: "GET",
            path: "/orders",
            headers: with(assertion(&ed, &reader, &reader_token, "GET", "/orders", T0)),
            status: 200,
            code: None,
            challenge: None,
        },
        Case {
            name: "allowed (ES256), with the forwarded bearer token (ath checked)",
            method: "GET",
            path: "/orders?page=2",
            headers: vec![
                (
                    "edge-auth-assertion",
                    assertion(&es, &reader, &reader_token, "GET", "/orders", T0),
                ),
                bearer(&reader_token),
            ],
            status: 200,
            code: None,
            challenge: None,
        },
        Case {
            name: "allowed: a role the route needs",
            method: "GET",
            path: "/admin",
            headers: with(assertion(&ed, &admin, &admin_token, "GET", "/admin", T0)),
            status: 200,
            code: None,
            challenge: None,
        },
        Case {
            name: "no assertion: 401 token_missing, no error attribute",
            method: "GET",
            path: "/orders",
            headers: vec![bearer(&reader_token)],
            status: 401,
            code: Some("token_missing"),
            challenge: Some(r#"Bearer realm="edge-auth""#),
        },
        Case {
            name: "missing scope: 403 with the scope needed",
            method: "GET",
            path: "/orders",
            headers: with(assertion(&ed, &admin, &admin_token, "GET", "/orders", T0)),
            status: 403,
            code: Some("insufficient_scope"),
            challenge: Some(
                r#"Bearer realm="edge-auth", error="insufficient_scope", error_description="insufficient_scope", scope="orders:read""#,
            ),
        },
        refused(
            "missing role: 403 role_missing",
            "GET",
            "/admin",
            with(assertion(&ed, &reader, &reader_token, "GET", "/admin", T0)),
            403,
            "role_missing",
        ),
        Case {
            name: "replayed to another path",
            method: "GET",
            path: "/admin",
            headers: with(assertion(&ed, &admin, &admin_token, "GET", "/orders", T0)),
            status: 401,
            code: Some("binding_mismatch"),
            challenge: Some(
                r#"Bearer realm="edge-auth", error="invalid_token", error_description="binding_mismatch""#,
            ),
        },
        refused(
            "replayed with another method",
            "POST",
            "/orders",
            with(assertion(&ed, &reader, &reader_token, "GET", "/orders", T0)),
            401,
            "binding_mismatch",
        ),
        refused(
            "replayed with another caller's bearer token (ath)",
            "GET",
            "/orders",
            vec![
                (
                    "edge-auth-assertion",
                    assertion(&ed, &reader, &reader_token, "GET", "/orders", T0),
                ),
                bearer(&admin_token),
            ],
            401,
            "binding_mismatch",
        ),
        refused(
            "signed by a key the edge does not publish",
            "GET",
            "/orders",
            with(crafted(&other, typ, |_| {})),
            401,
            "key_not_found",
        ),
        refused(
            "signed by another key under the edge key's kid",
            "GET",
            "/orders",
            with(crafted(&impostor, typ, |_| {})),
            401,
            "signature_invalid",
        ),
        refused(
            "HS256 forgery",
            "GET",
            "/orders",
            with(crafted(&hs, typ, |_| {})),
            401,
            "alg_not_allowed",
        ),
        refused(
            "alg none",
            "GET",
            "/orders",
            with(none),
            401,
            "alg_not_allowed",
        ),
        refused(
            "expired (past the 10 s leeway)",
            "GET",
            "/orders",
            with(crafted(&ed, typ, |c| {
                c.insert("iat".into(), json!(T0 - 120));
                c.insert("exp".into(), json!(T0 - 11));
            })),
            401,
            "token_expired",
        ),
        refused(
            "issued in the future",
            "GET",
            "/orders",
            with(crafted(&ed, typ, |c| {
                c.insert("iat".into(), json!(T0 + 60));
                c.insert("exp".into(), json!(T0 + 120));
            })),
            401,
            "token_issued_in_future",
        ),
        refused(
            "another audience",
            "GET",
            "/orders",
            with(crafted(&ed, typ, |c| {
                c.insert("aud".into(), json!("https://other.example"));
            })),
            401,
            "audience_mismatch",
        ),
        refused(
            "another issuer",
            "GET",
            "/orders",
            with(crafted(&ed, typ, |c| {
                c.insert("iss".into(), json!("https://idp.example"));
            })),
            401,
            "issuer_unknown",
        ),
        refused(
            "a plain JWT (typ)",
            "GET",
            "/orders",
            with(crafted(&ed, Some("JWT"), |_| {})),
            401,
            "typ_mismatch",
        ),
        refused(
            "no binding claims (a caller's access token replayed as an assertion)",
            "GET",
            "/orders",
            with(crafted(&ed, typ, |c| {
                c.remove("htm");
                c.remove("htu");
                c.remove("ath");
            })),
            401,
            "claim_missing",
        ),
        refused(
            "not a JWS",
            "GET",
            "/orders",
            with("not.a.token".into()),
            401,
            "token_malformed",
        ),
        refused(
            "two assertions",
            "GET",
            "/orders",
            vec![
                (
                    "edge-auth-assertion",
                    assertion(&ed, &reader, &reader_token, "GET", "/orders", T0),
                ),
                (
                    "edge-auth-assertion",
                    assertion(&ed, &reader, &reader_token, "GET", "/orders", T0),
                ),
            ],
            400,
            "multiple_tokens",
        ),
    ];

    for case in &cases {
        let headers: Vec<(&str, &str)> =
            case.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let answer = call(&app, case.method, case.path, &headers).await;
        assert_eq!(answer.status, case.status, "{}: {answer:?}", case.name);
        assert_eq!(answer.code(), case.code, "{}: {answer:?}", case.name);
        if let Some(challenge) = case.challenge {
            assert_eq!(
                answer.www_authenticate.as_deref(),
                Some(challenge),
                "{}",
                case.name
            );
        }
        if case.status == 200 {
            assert_eq!(answer.body["sub"], "user-42", "{}", case.name);
            assert_eq!(answer.body["issuer"], IDP, "{}: src_iss", case.name);
            assert_eq!(
                answer.body["assertion_id"], "BwcHBwcHBwcHBwcHBwcHBw",
                "{}",
                case.name
            );
        } else {
            assert_eq!(
                answer.content_type.as_deref(),
                Some("application/problem+json"),
                "{}",
                case.name
            );
            assert_eq!(answer.body["status"], case.status, "{}", case.name);
            // Every 401 with a token names the code in the challenge; 403s say insufficient_scope.
            let www = answer.www_authenticate.clone().unwrap_or_default();
            match case.status {
                401 if case.code != Some("token_missing") => assert!(
                    www.contains(&format!(
                        "error=\"invalid_token\", error_description=\"{}\"",
                        case.code.unwrap()
                    )),
                    "{}: {www}",
                    case.name
                ),
                403 => assert!(
                    www.contains("error=\"insufficient_scope\""),
                    "{}: {www}",
                    case.name
                ),
                _ => {}
            }
        }
    }
    // The identity carries the caller's scopes and roles.
    let answer = call(
        &app,
        "GET",
        "/any",
        &[(
            "edge-auth-assertion",
            &assertion(&ed, &reader, &reader_token, "GET", "/any", T0),
        )],
    )
    .await;
    assert_eq!(answer.body["scopes"], json!(["orders:read", "profile"]));
    assert_eq!(answer.body["roles"], json!([]));
    assert_eq!(answer.body["claims"]["htu"], "https://api.example/any");
    // One fetch served the whole table; the unknown kid cost one refetch, the rest none.
    assert_eq!(server.hits(), 2, "{}", edge.key_status());
}

#[tokio::test]
async fn junk_never_causes_a_fetch() {
    let ed = key(Algorithm::EdDsa);
    let server = JwksServer::start(jwks(&[&ed])).await;
    let clock = ManualClock::at(T0);
    let edge = edge(&server, &clock);
    let app = app(&edge);
    for junk in ["", "x", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let answer = call(&app, "GET", "/orders", &[("edge-auth-assertion", junk)]).await;
        assert_eq!(answer.status, 401, "{junk:?}");
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn forwarded_headers_only_when_trusted() {
    let ed = key(Algorithm::EdDsa);
    let server = JwksServer::start(jwks(&[&ed])).await;
    let clock = ManualClock::at(T0);
    let (token, reader) = caller("orders:read", &[], T0);
    // Minted for https://api.example/orders; the origin is reached as http://10.0.0.5:8080.
    let minted = assertion(&ed, &reader, &token, "GET", "/orders", T0);
    let build = |trust: bool, public: Option<&str>| {
        let builder = edge_auth_origin::EdgeAuth::builder()
            .jwks_url(&server.url)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .remote_settings(settings())
            .clock(clock.clone())
            .trust_forwarded(trust);
        match public {
            Some(url) => builder.public_url(url),
            None => builder,
        }
        .build()
        .unwrap()
    };
    let forwarded = [
        ("edge-auth-assertion", minted.as_str()),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "api.example"),
    ];
    let rfc7239 = [
        ("edge-auth-assertion", minted.as_str()),
        (
            "forwarded",
            "for=192.0.2.1;proto=https;host=api.example, for=10.0.0.1",
        ),
    ];
    let lying = [
        ("edge-auth-assertion", minted.as_str()),
        ("x-forwarded-host", "other.example"),
    ];
    // Trusted: the forwarded host names the public URL.
    let trusting = app(&build(true, None));
    assert_eq!(
        call(&trusting, "GET", "/orders", &forwarded).await.status,
        200
    );
    assert_eq!(
        call(&trusting, "GET", "/orders", &rfc7239).await.status,
        200
    );
    assert_eq!(
        call(&trusting, "GET", "/orders", &lying).await.code(),
        Some("binding_mismatch")
    );
    // Not trusted: the headers are ignored; the configured public URL decides.
    let configured = app(&build(false, Some("https://api.example")));
    assert_eq!(
        call(&configured, "GET", "/orders", &lying).await.status,
        200
    );
    let elsewhere = app(&build(false, Some("https://elsewhere.example/")));
    assert_eq!(
        call(&elsewhere, "GET", "/orders", &forwarded).await.code(),
        Some("binding_mismatch")
    );
}

#[tokio::test]
async fn extension_and_in_handler_requirements() {
    use axum::routing::get;
    use axum::{Extension, Router};
    use edge_auth_origin::{Identity, Rejection};

    async fn orders(identity: Identity) -> Result<String, Rejection> {
        identity.require_scopes(["orders:write"])?;
        Ok(identity.assertion_id().to_owned())
    }
    async fn maybe(identity: Option<Identity>) -> String {
        identity.map_or_else(
            || "anonymous".to_owned(),
            |i| i.sub().unwrap_or("").to_owned(),
        )
    }
    let ed = key(Algorithm::EdDsa);
    let server = JwksServer::start(jwks(&[&ed])).await;
    let clock = ManualClock::at(T0);
    let edge = edge(&server, &clock);
    let app = Router::new()
        .route("/orders", get(orders))
        .route("/maybe", get(maybe))
        .layer(Extension(edge.clone()));
    let (token, writer) = caller("orders:read orders:write", &[], T0);
    let (_, reader) = caller("orders:read", &[], T0);
    let ok = call(
        &app,
        "GET",
        "/orders",
        &[(
            "edge-auth-assertion",
            &assertion(&ed, &writer, &token, "GET", "/orders", T0),
        )],
    )
    .await;
    assert_eq!(ok.status, 200);
    let no = call(
        &app,
        "GET",
        "/orders",
        &[(
            "edge-auth-assertion",
            &assertion(&ed, &reader, &token, "GET", "/orders", T0),
        )],
    )
    .await;
    assert_eq!((no.status, no.code()), (403, Some("insufficient_scope")));
    assert!(no
        .www_authenticate
        .unwrap()
        .ends_with(r#"scope="orders:write""#));
    let missing = call(&app, "GET", "/orders", &[]).await;
    assert_eq!(missing.code(), Some("token_missing"));
    assert_eq!(call(&app, "GET", "/maybe", &[]).await.status, 200);
    let bad = call(&app, "GET", "/maybe", &[("edge-auth-assertion", "x.y.z")]).await;
    assert_eq!(bad.status, 401, "a bad assertion is refused, not anonymous");

    // Without the layer or the Extension, a handler taking an Identity never runs.
    let unwired = Router::new().route("/orders", get(orders));
    let answer = call(
        &unwired,
        "GET",
        "/orders",
        &[("edge-auth-assertion", "x.y.z")],
    )
    .await;
    assert_eq!(
        (answer.status, answer.code()),
        (500, Some("internal_error"))
    );
}

#[tokio::test]
async fn nested_routers_bind_the_path_received() {
    use axum::routing::get;
    use axum::Router;
    use edge_auth_origin::Identity;

    let ed = key(Algorithm::EdDsa);
    let server = JwksServer::start(jwks(&[&ed])).await;
    let clock = ManualClock::at(T0);
    let edge = edge(&server, &clock);
    // The layer inside a `nest`: the inner router sees `/orders`, the origin received `/api/orders`.
    let inner = Router::new()
        .route(
            "/orders",
            get(|i: Identity| async move { i.assertion_id().to_owned() }),
        )
        .layer(edge.layer());
    let app = Router::new().nest("/api", inner);
    let (token, reader) = caller("orders:read", &[], T0);
    let full = assertion(&ed, &reader, &token, "GET", "/api/orders", T0);
    let stripped = assertion(&ed, &reader, &token, "GET", "/orders", T0);
    assert_eq!(
        call(
            &app,
            "GET",
            "/api/orders",
            &[("edge-auth-assertion", &full)]
        )
        .await
        .status,
        200
    );
    let answer = call(
        &app,
        "GET",
        "/api/orders",
        &[("edge-auth-assertion", &stripped)],
    )
    .await;
    assert_eq!(answer.code(), Some("binding_mismatch"));
}
