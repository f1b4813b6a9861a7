//! The module's `fetch` handler: it translates. Request → [`edge_auth_gate::plan`] → verification
//! ([`crate::verify`]) → [`edge_auth_gate::authorize`] → forward or refuse, with one log line per
//! decision. Every decision is the gate's or the core's; the one refusal → HTTP mapping is the gate's
//! [`Refusal::to_http`].
//!
//! It works on the runtime's own `Request`, `Headers` and `Response` objects (`web-sys`), not the
//! `worker` crate's wrappers: the outbound headers are one `new Headers(request.headers)` (made, changed
//! as the gate instructs and sent in one call into JS, [`send_to_origin`]), and the
//! origin's response is returned as the runtime gave it (rebuilt only when CORS headers change), so no
//! header and no body crosses into Rust on the way through.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;

use edge_auth_core::{AbsoluteUrl, GateConfig, VerifiedToken};
use edge_auth_gate::{self as gate, Forward, Plan, Refusal, RequestHead};
use edge_auth_webcrypto::{AbortWatch, Settled};
use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::future_to_promise;
use web_sys::{Headers, Request, Response, ResponseInit};

use crate::endpoints;
use crate::http::{problem, problem_with_retry, respond, JsResult};
use crate::isolate::{self, now, Isolate};
use crate::keys;
use crate::log;
use crate::revocation;
use crate::runtime::{now_ms, Env, ExecutionContext};
use crate::verify::{sign_assertion, verify, Sources};

/// `future`, boxed behind `dyn Future`: its state machine stays its own wasm function instead of being
/// inlined into the caller's. Otherwise the whole handler is one ~77 KB function, which V8 compiles
/// (lazily, with Liftoff) on the first request even when that request takes none of its paths.
fn boxed<'a, T>(future: impl Future<Output = T> + 'a) -> Pin<Box<dyn Future<Output = T> + 'a>> {
    Box::pin(future)
}

/// Every `(name, value)` of a `Headers` (names lower-case, as the runtime gives them).
fn header_list(headers: &Headers) -> JsResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    let Some(entries) = js_sys::try_iter(headers)? else {
        return Err(JsValue::from_str("Headers is not iterable"));
    };
    for entry in entries {
        let pair: js_sys::Array = entry?.dyn_into()?;
        match (pair.get(0).as_string(), pair.get(1).as_string()) {
            (Some(name), Some(value)) => out.push((name, value)),
            _ => {
                return Err(JsValue::from_str(
                    "a Headers entry is not a pair of strings",
                ))
            }
        }
    }
    Ok(out)
}

/// One structured log line per decision. Never the token; the subject only as a keyed hash (HMAC under
/// a per-deployment key, so that a log reader cannot confirm a guessed subject). `io_wait_ms` is the
/// time from the request's arrival to the decision as `Date.now()` sees it: the Workers runtime
/// advances that clock only while the isolate awaits I/O (key fetches, WebCrypto), so it measures
/// waiting, not computation.
fn log_decision(
    config: Option<&GateConfig>,
    started: f64,
    route: Option<usize>,
    decision: &str,
    code: Option<&str>,
    verified: Option<&VerifiedToken>,
    sources: Option<&Sources>,
) {
    // `decision_log = "refusals"`: a refusal always carries its code; anything else is not logged.
    if config.is_some_and(|config| !config.decision_log.logs(code.is_some())) {
        return;
    }
    let sub_hash = verified
        .and_then(|v| v.registered().sub.as_deref())
        .zip(config)
        .map(|(sub, config)| {
            let tag = config.decision_log_key.mac(&[sub.as_bytes()]);
            edge_auth_core::hex(tag.get(..8).unwrap_or_default())
        });
    // Members in key order, as serde_json's `json!` wrote them before (its map is sorted); absent
    // values are `null`. `io_wait_ms` is a whole number: `Date.now()` counts whole milliseconds.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a difference of two Date.now() values: whole milliseconds, saturated at 0"
    )]
    let io_wait_ms = (now_ms() - started).max(0.0) as u64;
    let line = edge_auth_core::JsonObject::new()
        .opt_str("cache", sources.map(|s| s.cache.as_str()))
        .opt_str("code", code)
        .str("decision", decision)
        .str("event", "decision")
        .uint("io_wait_ms", io_wait_ms)
        .opt_str(
            "issuer",
            verified.and_then(|v| v.registered().iss.as_deref()),
        )
        .opt_str("keys", sources.and_then(|s| s.keys).map(|k| k.as_str()))
        .opt_str("revocation", sources.and_then(|s| s.revocation))
        .opt_uint("route", route.and_then(|route| u64::try_from(route).ok()))
        .opt_str("sub_hash", sub_hash.as_deref());
    log::info(line);
}

/// The module's `fetch` handler: the main module (`src/module.mjs`) calls it, through worker-build's
/// entrypoint function, with the request, `env` and `ctx`. The promise always resolves to a response:
/// a failure inside is logged and answered with the generic problem, and [`glue_error`] covers the one
/// case where even that cannot be built.
///
/// The handler races its client: when the runtime reports that the client went away (`abort` on the
/// request's `signal`, with the compatibility flag `enable_request_signal`), the handler's future is
/// dropped where it waits, unpolled, so none of its code runs again (no forward, no signature, no
/// decision line) and nothing of it stays in the isolate; the runtime would never settle the promises
/// it waits on. A `request_cancelled` line says so.
#[wasm_bindgen]
pub fn fetch(req: Request, env: Env, ctx: ExecutionContext) -> Promise {
    let client_gone = AbortWatch::new(&req);
    future_to_promise(async move {
        // Set while the request does what must not stop half done (a revocation being stored): the
        // race then lets it finish (`runtime::Finishing`).
        let finishing = Cell::new(false);
        let mut client_gone = client_gone;
        // Pinned here, inside the task's own allocation; dropped with it when the task ends, whichever
        // side of the race won. The watch is polled first: once the client is gone, the handler is
        // never polled again.
        let mut handling = std::pin::pin!(handle(req, &env, &ctx, &finishing));
        let raced = std::future::poll_fn(|cx| {
            if !finishing.get() && Pin::new(&mut client_gone).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            handling.as_mut().poll(cx).map(Some)
        });
        let Some(handled) = raced.await else {
            return Ok(cancelled().into());
        };
        let response = match handled {
            Ok(response) => response,
            Err(error) => {
                // A runtime failure never escapes as an exception page: a generic problem, details logged.
                log::error_event("internal_error", &edge_auth_webcrypto::describe(&error));
                match problem(&Refusal::Internal, "edge-auth") {
                    Ok(response) => response,
                    Err(error) => glue_error(error),
                }
            }
        };
        Ok(response.into())
    })
}

/// What a cancelled request resolves to (its client is gone: nobody reads it): a bare `499`, nginx's
/// "client closed request", after a `request_cancelled` log line.
#[cold]
fn cancelled() -> Response {
    log::info(edge_auth_core::JsonObject::new().str("event", "request_cancelled"));
    let init = ResponseInit::new();
    init.set_status(499);
    Response::new_with_opt_buffer_source_and_init(None, &init).unwrap_or_else(glue_error)
}

/// The answer when even the problem response could not be built (the runtime's `Headers` and `Response`
/// constructors never fail so; never seen): the error on the console and a bare `500` whose body is the
/// bytes `INTERNAL SERVER ERROR`, as the `worker` crate's `#[event(fetch)]` glue answered. A failure to
/// build even that ends the isolate, as that glue's `unwrap` did.
#[cold]
fn glue_error(error: JsValue) -> Response {
    log::error_event("internal_error", &edge_auth_webcrypto::describe(&error));
    let init = ResponseInit::new();
    init.set_status(500);
    let body = js_sys::Uint8Array::from(&b"INTERNAL SERVER ERROR"[..]);
    match Response::new_with_opt_buffer_source_and_init(Some(&body), &init) {
        Ok(response) => response,
        Err(_) => std::process::abort(),
    }
}

async fn handle(
    req: Request,
    env: &Env,
    ctx: &ExecutionContext,
    finishing: &Cell<bool>,
) -> JsResult<Response> {
    let started = now_ms();
    let isolate = match isolate::isolate(env) {
        Ok(isolate) => isolate,
        Err(error) => {
            log::error_event("internal_error", &error);
            log_decision(
                None,
                started,
                None,
                "refuse",
                Some("internal_error"),
                None,
                None,
            );
            return problem(&Refusal::Internal, "edge-auth");
        }
    };
    let Ok(config) = isolate.borrow().config.clone() else {
        log_decision(
            None,
            started,
            None,
            "refuse",
            Some("config_invalid"),
            None,
            None,
        );
        return problem(&Refusal::ConfigInvalid, "edge-auth");
    };
    // The runtime's URL is already WHATWG-serialized (punycode host); failing to read it is our fault.
    let url = AbsoluteUrl::parse(&req.url())
        .map_err(|e| JsValue::from_str(&format!("request URL: {e}")))?;
    let method = req.method();
    let headers = req.headers();
    // Only the headers this configuration can look at cross into Rust (each is a runtime call and
    // a string copy); the gate decides which.
    let reads = gate::header_reads(&config, &method);
    let header = |read: bool, name: &str| {
        if read {
            headers.get(name).ok().flatten()
        } else {
            None
        }
    };
    let authorization = header(true, "authorization");
    let cookie = header(reads.cookie, "cookie");
    let (origin, referer, sec_fetch_site) = (
        header(reads.origin, "origin"),
        header(reads.csrf, "referer"),
        header(reads.csrf, "sec-fetch-site"),
    );
    let (cors_method, cors_headers) = (
        header(reads.preflight, "access-control-request-method"),
        header(reads.preflight, "access-control-request-headers"),
    );
    let host = url.authority();
    let head = RequestHead {
        method: &method,
        url: url.as_str(),
        path: url.path(),
        host,
        authorization: authorization.as_deref(),
        cookie: cookie.as_deref(),
        origin: origin.as_deref(),
        referer: referer.as_deref(),
        sec_fetch_site: sec_fetch_site.as_deref(),
        cors_method: cors_method.as_deref(),
        cors_headers: cors_headers.as_deref(),
    };
    let response = boxed(decide(
        &req, ctx, &isolate, &config, &url, &head, started, finishing,
    ))
    .await?;
    if config.cors.is_none() {
        // `response_headers` would say `None`: skip reading the headers into Rust.
        return Ok(response);
    }
    match gate::response_headers(&config, &head, header_list(&response.headers())?) {
        None => Ok(response),
        Some(list) => {
            // The response's own headers may be immutable: it is rebuilt around the new list, with
            // its status and its body stream as they are.
            let headers = Headers::new()?;
            for (name, value) in &list {
                headers.append(name, value)?;
            }
            let init = ResponseInit::new();
            init.set_status(response.status());
            init.set_status_text(&response.status_text());
            init.set_headers(&headers);
            Response::new_with_opt_readable_stream_and_init(response.body().as_ref(), &init)
        }
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "the request's parts, each borrowed from the handler; a struct would only rename them"
)]
async fn decide(
    req: &Request,
    ctx: &ExecutionContext,
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    url: &AbsoluteUrl,
    head: &RequestHead<'_>,
    started: f64,
    finishing: &Cell<bool>,
) -> JsResult<Response> {
    match gate::plan(config, head) {
        Plan::BackchannelLogout => {
            let handled = boxed(endpoints::logout(req, isolate, config, ctx, finishing)).await?;
            log_decision(
                Some(config),
                started,
                None,
                "logout",
                handled.code,
                None,
                None,
            );
            Ok(handled.response)
        }
        Plan::Revoke { token } => {
            let handled = boxed(endpoints::admin(
                req, isolate, config, &token, ctx, finishing,
            ))
            .await?;
            log_decision(
                Some(config),
                started,
                None,
                "revoke",
                handled.code,
                handled.verified.as_deref(),
                handled.sources.as_ref(),
            );
            Ok(handled.response)
        }
        Plan::ServeJwks => {
            log_decision(Some(config), started, None, "jwks", None, None, None);
            respond(200, gate::JWKS_HEADERS, Some(&config.assertion.jwks_json))
        }
        Plan::ServeStatus => {
            log_decision(Some(config), started, None, "status", None, None, None);
            let body = keys::status(isolate, config).to_string();
            respond(200, gate::STATUS_HEADERS, Some(&body))
        }
        Plan::Preflight(extra) => {
            log_decision(Some(config), started, None, "preflight", None, None, None);
            respond(
                204,
                extra.iter().map(|(name, value)| (*name, value.as_str())),
                None,
            )
        }
        Plan::Refuse(refusal) => {
            log_decision(
                Some(config),
                started,
                None,
                "refuse",
                Some(refusal.code()),
                None,
                None,
            );
            problem(&refusal, &config.realm)
        }
        Plan::ForwardAnonymous { route, path } => {
            log_decision(
                Some(config),
                started,
                route,
                "forward_anonymous",
                None,
                None,
                None,
            );
            let how = gate::forward_anonymous(config, head, path);
            boxed(forward(req, isolate, config, url, how)).await
        }
        Plan::Verify {
            token,
            route,
            params,
            path,
        } => {
            let now = now();
            let (result, mut sources) =
                boxed(verify(isolate, config, &token, now, Some(ctx))).await;
            // Every verified token, a cache hit too, against its issuer's revocation state.
            let result = match result {
                Ok(verified) if config.revocation.is_some() => {
                    let check = boxed(revocation::check(isolate, config, &verified, now)).await;
                    sources.revocation = Some(check.as_ref().map_or("refused", |c| c.as_str()));
                    check.map(|_| verified)
                }
                other => other.map_err(Refusal::Token),
            };
            let verified = match result.and_then(|verified| {
                gate::authorize(config, route, &params, &verified).map(|()| verified)
            }) {
                Ok(verified) => verified,
                Err(refusal) => {
                    log_decision(
                        Some(config),
                        started,
                        route,
                        "refuse",
                        Some(refusal.code()),
                        None,
                        Some(&sources),
                    );
                    return problem_with_retry(&refusal, &config.realm, sources.retry_after);
                }
            };
            // Neither can fail for a request the runtime parsed; if one does, it is our fault (500),
            // not the configuration's.
            let mut jti = [0u8; 16];
            let input = edge_auth_webcrypto::random_bytes(&mut jti)
                .ok()
                .and_then(|()| {
                    gate::assertion_input(
                        config,
                        head.method,
                        url,
                        &path,
                        &verified,
                        &token,
                        now,
                        jti,
                    )
                });
            let assertion = match input {
                Some(input) => boxed(sign_assertion(isolate, config, input)).await,
                None => Err("no jti or htu for the assertion".to_owned()),
            };
            let assertion = match assertion {
                Ok(assertion) => assertion,
                Err(error) => {
                    log::error_event("assertion_sign_error", &error);
                    log_decision(
                        Some(config),
                        started,
                        route,
                        "refuse",
                        Some(Refusal::Internal.code()),
                        Some(&verified),
                        Some(&sources),
                    );
                    return problem(&Refusal::Internal, &config.realm);
                }
            };
            let instructions = gate::forward_verified(config, head, path, assertion);
            log_decision(
                Some(config),
                started,
                route,
                "forward",
                None,
                Some(&verified),
                Some(&sources),
            );
            boxed(forward(req, isolate, config, url, instructions)).await
        }
    }
}

/// Forwards to the origin (`ORIGIN` with its path prefix, or the request's own URL) with the inbound
/// assertion headers removed, the instructed header changes, the method and the streamed body.
async fn forward(
    req: &Request,
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    url: &AbsoluteUrl,
    how: Forward,
) -> JsResult<Response> {
    // The origin gets the normalized path the rules matched, not the one received.
    let target = gate::forward_url(isolate.borrow().upstream.as_ref(), url, &how.path);
    let (cookie_change, cookie) = match how.cookie {
        Some(cookie) => (true, cookie),
        None => (false, None),
    };
    let sent = send_to_origin(
        req,
        target.as_str(),
        &config.assertion.header,
        how.assertion.as_deref(),
        how.remove_authorization,
        cookie_change,
        cookie.as_deref(),
    )?;
    // The origin's response goes back as the runtime delivered it: status, headers and body stream.
    // Awaited through a promise slot, not a `JsFuture`: no two closures made and registered per request.
    match Settled::new(&sent).await {
        Ok(response) => response.dyn_into(),
        Err(error) => {
            log::error_event("origin_error", &edge_auth_webcrypto::describe(&error));
            problem(&Refusal::OriginUnreachable, &config.realm)
        }
    }
}

// The outbound request, built and sent in one call into JS rather than about fifteen (the headers'
// copy, each change, the `RequestInit` member by member, the `Request`, the global's `fetch`): one
// copy of the inbound headers inside the runtime, so no header value crosses into Rust. Headers are
// case-insensitive: one `delete` removes every inbound copy of a name, whatever its casing. The
// method and the body stream are the request's own; redirects go back to the caller as they are.
#[wasm_bindgen(
    inline_js = "export function send_to_origin(request, target, assertion_header, assertion, remove_authorization, cookie_change, cookie) {
  const headers = new Headers(request.headers);
  headers.delete(assertion_header);
  if (remove_authorization) headers.delete('authorization');
  if (cookie_change) {
    if (cookie === undefined) headers.delete('cookie');
    else headers.set('cookie', cookie);
  }
  if (assertion !== undefined) headers.set(assertion_header, assertion);
  return fetch(new Request(target, { method: request.method, headers, redirect: 'manual', body: request.body }));
}"
)]
extern "C" {
    /// The origin's answer (a promise of its `Response`); throws when the request cannot be made.
    #[wasm_bindgen(catch)]
    fn send_to_origin(
        request: &Request,
        target: &str,
        assertion_header: &str,
        assertion: Option<&str>,
        remove_authorization: bool,
        cookie_change: bool,
        cookie: Option<&str>,
    ) -> Result<Promise, JsValue>;
}
