//! `edge-auth revoke`: one POST to the Worker's admin endpoint (`revocation.admin_path`, issue 14) with the
//! admin's bearer token and the JSON body `{"iss"?, "jti" [+ "exp"] | "sid" | "sub"}`; prints the answer's
//! `revoked` record.
//!
//! The transport is hyper's client over rustls with ring and the system's root certificates, the stack
//! `crates/origin` already uses (nothing new in Cargo.lock; `deny.toml` allows ring only under rustls).
//! https only, http only to a loopback host (the core's URL rule, [`check_url`]); no redirect is followed;
//! the whole exchange is bounded by `--timeout`; the answer's body by [`MAX_ANSWER_BYTES`]. The token is
//! never printed: no message here formats it, and hyper's errors carry no header.
//!
//! Exit codes (README, "The CLI"): 0 recorded; 1 refused by the Worker (4xx: `revoke_request_invalid`,
//! an admin token that does not pass `revocation.admin`, …); 2 usage, file or token errors (no request
//! sent); 3 the Worker could not record it now (5xx: `revocation_unavailable`, `revocation_store_full`);
//! 4 no usable answer (connection, TLS, timeout, a redirect, an answer that is not the contract's).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use clap::Args;
use edge_auth_core::{check_url, AbsoluteUrl};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Map, Value};

/// The environment variable holding the admin token when neither `--token` nor `--token-file` is given.
pub const TOKEN_ENV: &str = "EDGE_AUTH_ADMIN_TOKEN";
/// The largest answer read: a `revoked` record or a problem is far below it.
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The largest token file read.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// The Worker's admin endpoint (`revocation.admin_path`), for example
    /// https://edge.example/.well-known/edge-auth/revoke. https only; http only to a loopback host.
    #[arg(long)]
    url: String,
    /// A file holding the admin's bearer token (a token passing `revocation.admin`).
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// The admin's bearer token (visible to other local users in the process list: prefer --token-file or
    /// EDGE_AUTH_ADMIN_TOKEN, which is read when neither option is given).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    #[command(flatten)]
    what: What,
    /// With --jti: the revoked token's `exp` (Unix seconds); the record is kept until then (without it,
    /// for the Worker's `max_token_lifetime_seconds`).
    #[arg(long, value_name = "UNIX")]
    exp: Option<u64>,
    /// The issuer (may be left out when the Worker's `revocation.issuers` has one entry).
    #[arg(long, value_name = "ISS")]
    iss: Option<String>,
    /// Give up after this many seconds (connection, request and answer).
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    timeout: u64,
}

/// Exactly one of the three kinds of record.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
struct What {
    /// Revoke one token, by its `jti`.
    #[arg(long, value_name = "JTI")]
    jti: Option<String>,
    /// Revoke every token of one session (OIDC `sid`).
    #[arg(long, value_name = "SID")]
    sid: Option<String>,
    /// Revoke every token of one subject issued up to now (`sub`).
    #[arg(long, value_name = "SUB")]
    sub: Option<String>,
}

/// How `revoke` ended, each with its exit code.
#[derive(Debug)]
pub enum RevokeFailure {
    /// 1: the Worker refused the request (4xx).
    Refused,
    /// 2: usage, file or token error; nothing was sent.
    Usage(String),
    /// 3: the Worker could not record it now (5xx).
    NotRecorded,
    /// 4: no usable answer.
    NoAnswer(String),
}

impl RevokeFailure {
    pub fn exit_code(&self) -> u8 {
        match self {
            RevokeFailure::Refused => 1,
            RevokeFailure::Usage(_) => 2,
            RevokeFailure::NotRecorded => 3,
            RevokeFailure::NoAnswer(_) => 4,
        }
    }
}

/// The JSON body of the contract.
fn body(args: &RevokeArgs) -> Value {
    let mut body = Map::new();
    if let Some(iss) = &args.iss {
        body.insert("iss".into(), iss.clone().into());
    }
    let kinds = [
        ("jti", &args.what.jti),
        ("sid", &args.what.sid),
        ("sub", &args.what.sub),
    ];
    for (kind, value) in kinds {
        if let Some(value) = value {
            body.insert(kind.into(), value.clone().into());
        }
    }
    if let Some(exp) = args.exp {
        body.insert("exp".into(), exp.into());
    }
    Value::Object(body)
}

/// The token from --token-file, --token or the environment, trimmed; it must be a valid header value.
/// No message names the token itself.
fn admin_token(args: &RevokeArgs) -> Result<String, String> {
    let text = if let Some(path) = &args.token_file {
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_TOKEN_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| format!("--token-file {}: {e}", path.display()))?;
        if bytes.len() as u64 > MAX_TOKEN_BYTES {
            return Err(format!(
                "--token-file {}: more than {MAX_TOKEN_BYTES} bytes",
                path.display()
            ));
        }
        String::from_utf8(bytes)
            .map_err(|_| format!("--token-file {}: not UTF-8", path.display()))?
    } else if let Some(token) = &args.token {
        token.clone()
    } else {
        match std::env::var(TOKEN_ENV) {
            Ok(token) => token,
            Err(std::env::VarError::NotPresent) => {
                return Err(format!(
                    "no admin token: give --token-file, --token or {TOKEN_ENV}"
                ))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(format!("{TOKEN_ENV} is not UTF-8"))
            }
        }
    };
    let token = text.trim();
    if token.is_empty() {
        return Err("the admin token is empty".into());
    }
    // A bearer token is visible ASCII without spaces (RFC 6750 b64token, loosely); anything else would
    // not survive as a header value.
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the admin token holds spaces, control or non-ASCII characters".into());
    }
    Ok(token.to_owned())
}

/// Runs `edge-auth revoke`: prints the answer (`{"revoked": {…}}`) on stdout, or the refusal's code and
/// status on stderr.
pub fn revoke(args: &RevokeArgs) -> Result<(), RevokeFailure> {
    // (clap's `requires` does not see into the flattened group: checked here.)
    if args.exp.is_some() && args.what.jti.is_none() {
        return Err(RevokeFailure::Usage(
            "--exp goes with --jti (a session or subject record is kept for max_token_lifetime_seconds)".into(),
        ));
    }
    check_url(&args.url, true)
        .map_err(|e| RevokeFailure::Usage(format!("--url {:?}: {e}", args.url)))?;
    // What is sent is what was checked: the URL as the WHATWG parser serializes it.
    let href = AbsoluteUrl::parse(&args.url)
        .map_err(|e| RevokeFailure::Usage(format!("--url {:?}: {e}", args.url)))?;
    let uri: http::Uri = href
        .as_str()
        .parse()
        .map_err(|e| RevokeFailure::Usage(format!("--url {:?}: {e}", args.url)))?;
    let token = admin_token(args).map_err(RevokeFailure::Usage)?;
    let body = body(args).to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RevokeFailure::NoAnswer(format!("starting the runtime: {e}")))?;
    let timeout = Duration::from_secs(args.timeout);
    let (status, answer) = runtime
        .block_on(async { tokio::time::timeout(timeout, post(uri, &token, body)).await })
        .map_err(|_| {
            RevokeFailure::NoAnswer(format!(
                "{}: no complete answer within {} s",
                args.url, args.timeout
            ))
        })?
        .map_err(|e| RevokeFailure::NoAnswer(format!("{}: {e}", args.url)))?;
    judge(status, &answer)
}

/// What the answer means (status and body), printed.
fn judge(status: u16, answer: &[u8]) -> Result<(), RevokeFailure> {
    let json: Option<Value> = serde_json::from_slice(answer).ok();
    match status {
        200 => match json {
            Some(answer @ Value::Object(_))
                if answer.get("revoked").is_some_and(Value::is_object) =>
            {
                let text = serde_json::to_string_pretty(&answer)
                    .map_err(|e| RevokeFailure::NoAnswer(e.to_string()))?;
                // Recorded whatever happens to stdout; a closed pipe is said, not a panic.
                writeln!(std::io::stdout(), "{text}").map_err(|e| {
                    RevokeFailure::NoAnswer(format!("recorded, but writing the answer failed: {e}"))
                })
            }
            _ => Err(RevokeFailure::NoAnswer(
                "200 without a `revoked` record: is --url the Worker's revocation admin_path?"
                    .into(),
            )),
        },
        300..=399 => Err(RevokeFailure::NoAnswer(format!(
            "status {status}: redirects are not followed (give the endpoint's own URL)"
        ))),
        400..=599 => {
            // The problem's code (problem+json `code`; the OAuth-style `error` otherwise) and detail.
            let field = |name: &str| {
                json.as_ref()
                    .and_then(|j| j.get(name))
                    .and_then(Value::as_str)
                    .map(|s| s.escape_debug().to_string())
            };
            let code = field("code")
                .or_else(|| field("error"))
                .unwrap_or_else(|| "-".into());
            let detail = field("detail")
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            eprintln!("error: {code}: HTTP {status}{detail}");
            Err(if status < 500 {
                RevokeFailure::Refused
            } else {
                RevokeFailure::NotRecorded
            })
        }
        _ => Err(RevokeFailure::NoAnswer(format!(
            "unexpected status {status}"
        ))),
    }
}

/// One POST; the status and at most [`MAX_ANSWER_BYTES`] of the body.
async fn post(uri: http::Uri, token: &str, body: String) -> Result<(u16, Bytes), String> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped: an https endpoint then fails its handshake, reported.
    let (_added, _ignored) =
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // http is reachable only for loopback hosts: `check_url` refused it anywhere else.
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let request = http::Request::post(uri)
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(
            http::header::ACCEPT,
            "application/json, application/problem+json",
        )
        .body(Full::new(Bytes::from(body)))
        // The header value was checked (visible ASCII); this cannot name the token.
        .map_err(|_| "the request could not be built".to_owned())?;
    let response = client.request(request).await.map_err(|e| {
        // The source chain says why (refused, TLS, …); none of it holds a header.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    })?;
    let status = response.status().as_u16();
    let bytes = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                format!("the answer is more than {MAX_ANSWER_BYTES} bytes")
            } else {
                format!("reading the answer: {e}")
            }
        })?
        .to_bytes();
    Ok((status, bytes))
}
