//! The test rig: a JWKS server on 127.0.0.1 (axum, an ephemeral port) whose answer and status the
//! tests change, a clock the tests move, assertions minted by the core, and an axum app behind the
//! layer, called without a network.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    dead_code,
    reason = "test rig"
)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use edge_auth_core::{
    mint, mint_assertion, AbsoluteUrl, Algorithm, AssertionRequest, AssertionSettings,
    IssuerPolicy, KeySet, Limits, MintOptions, SigningKey, UnixTime, VerifiedToken, Verifier,
};
use edge_auth_origin::{Clock, EdgeAuth, Identity, RemoteSettings};
use serde_json::{json, Map, Value};
use tower_service::Service;

pub const ISSUER: &str = "https://edge.example";
pub const AUDIENCE: &str = "https://api.example";
pub const PUBLIC: &str = "https://api.example";
pub const IDP: &str = "https://idp.example";
pub const T0: u64 = 1_800_000_000;

/// A clock the test moves.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(pub Arc<AtomicU64>);

impl ManualClock {
    pub fn at(now: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(now)))
    }
    pub fn set(&self, now: u64) {
        self.0.store(now, Ordering::SeqCst);
    }
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the JWKS server answers.
#[derive(Debug)]
pub struct Served {
    pub status: u16,
    pub jwks: Value,
    pub cache_control: Option<String>,
}

#[derive(Debug, Clone)]
pub struct JwksServer {
    pub url: String,
    pub served: Arc<Mutex<Served>>,
    pub hits: Arc<AtomicU64>,
}

impl JwksServer {
    pub async fn start(jwks: Value) -> JwksServer {
        let served = Arc::new(Mutex::new(Served {
            status: 200,
            jwks,
            cache_control: Some("max-age=600".into()),
        }));
        let hits = Arc::new(AtomicU64::new(0));
        let app = Router::new()
            .route("/.well-known/edge-auth/jwks.json", get(answer))
            .with_state((Arc::clone(&served), Arc::clone(&hits)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/edge-auth/jwks.json",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        JwksServer { url, served, hits }
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
    pub fn fail(&self) {
        self.served.lock().unwrap().status = 500;
    }
    pub fn recover(&self) {
        self.served.lock().unwrap().status = 200;
    }
    pub fn serve(&self, jwks: Value) {
        self.served.lock().unwrap().jwks = jwks;
    }
    pub fn cache_control(&self, value: Option<&str>) {
        self.served.lock().unwrap().cache_control = value.map(str::to_owned);
    }
}

async fn answer(State((served, hits)): State<(Arc<Mutex<Served>>, Arc<AtomicU64>)>) -> Response {
    hits.fetch_add(1, Ordering::SeqCst);
    let served = served.lock().unwrap();
    let mut response = Response::builder().status(served.status);
    if let Some(cc) = &served.cache_control {
        response = response.header("cache-control", cc);
    }
    response
        .header("content-type", "application/jwk-set+json")
        .body(Body::from(served.jwks.to_string()))
        .unwrap()
}

pub fn key(alg: Algorithm) -> SigningKey {
    SigningKey::generate(alg, None, &mut rand_core::OsRng).unwrap()
}

pub fn jwks(keys: &[&SigningKey]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| Value::Object(k.public_key().to_jwk()))
        .collect();
    json!({ "keys": keys })
}

/// Remote settings for the tests: http on 127.0.0.1, short fetch timeout.
pub fn settings() -> RemoteSettings {
    RemoteSettings {
        allow_loopback_http: true,
        timeout_ms: 2_000,
        ..RemoteSettings::default()
    }
}

pub fn edge(server: &JwksServer, clock: &ManualClock) -> EdgeAuth {
    EdgeAuth::builder()
        .jwks_url(&server.url)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .public_url(PUBLIC)
        .remote_settings(settings())
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// The caller's token at the IdP, verified as the Worker verifies it (its scopes and roles).
pub fn caller(scopes: &str, roles: &[&str], now: u64) -> (String, VerifiedToken) {
    let idp = key(Algorithm::EdDsa);
    let claims = json!({
        "iss": IDP, "aud": "api", "sub": "user-42", "iat": now, "exp": now + 300,
        "scope": scopes, "roles": roles,
    });
    let token = mint(&idp, claims.as_object().unwrap(), &MintOptions::default());
    let keys = KeySet::from_jwks_json(jwks(&[&idp]).to_string().as_bytes()).unwrap();
    let policy = IssuerPolicy::builder(IDP, [Algorithm::EdDsa], keys)
        .audiences(["api"])
        .build()
        .unwrap();
    let verified = Verifier::new(vec![policy], Limits::default())
        .unwrap()
        .verify(&token, UnixTime(now))
        .unwrap();
    (token, verified)
}

/// An assertion as the Worker mints it (`mint_assertion`), for `method` on the public URL of `path`.
pub fn assertion(
    edge_key: &SigningKey,
    caller: &VerifiedToken,
    access_token: &str,
    method: &str,
    path: &str,
    now: u64,
) -> String {
    let settings = AssertionSettings {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        ttl_seconds: 60,
    };
    let url = AbsoluteUrl::parse(&format!("{PUBLIC}{path}")).unwrap();
    mint_assertion(
        edge_key,
        &settings,
        caller,
        &AssertionRequest {
            method,
            url: &url,
            access_token,
            now: UnixTime(now),
            jti: [7; 16],
        },
    )
    .unwrap()
}

/// The claims of a valid assertion for `GET /orders`, to be changed by a case.
pub fn claims(now: u64) -> Map<String, Value> {
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-42", "src_iss": IDP,
        "iat": now, "exp": now + 60, "jti": "AAAAAAAAAAAAAAAAAAAAAA",
        "scope": "orders:read", "roles": ["admin"],
        "htm": "GET", "htu": format!("{PUBLIC}/orders"),
        "ath": edge_auth_core::ath("caller-token"),
    })
    .as_object()
    .unwrap()
    .clone()
}

/// The app under test: `/orders` needs `orders:read`, `/admin` the role `admin`, `/any` a verified
/// caller; each handler echoes the identity.
pub fn app(edge: &EdgeAuth) -> Router {
    async fn echo(identity: Identity) -> axum::Json<Value> {
        axum::Json(identity.to_json())
    }
    Router::new()
        .route(
            "/orders",
            get(echo)
                .post(echo)
                .layer(edge.require_scopes(["orders:read"])),
        )
        .route("/admin", get(echo).layer(edge.require_roles(["admin"])))
        .route("/any", get(echo))
        .layer(edge.layer())
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub www_authenticate: Option<String>,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> Option<&str> {
        self.body.get("code").and_then(Value::as_str)
    }
}

pub async fn call(app: &Router, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), app.clone().call(request))
        .await
        .expect("answered within 10 s")
        .unwrap();
    let (status, www_authenticate, content_type, retry_after) = {
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        (
            response.status().as_u16(),
            header("www-authenticate"),
            header("content-type"),
            header("retry-after"),
        )
    };
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        www_authenticate,
        content_type,
        retry_after,
        body,
    }
}

/// Waits (bounded) until no key fetch runs and `fetches` were started: a background refresh has
/// recorded its outcome. A condition, not a duration.
pub async fn settled(edge: &EdgeAuth, fetches: u64) {
    let wait = async {
        loop {
            let status = edge.key_status();
            if status["fetching"] == false && status["fetches"] == fetches {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("key state did not settle: {}", edge.key_status()));
}
