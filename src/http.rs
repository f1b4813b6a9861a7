//! The responses the Worker builds itself (on the runtime's own `Headers` and `Response`), and the
//! refusal as HTTP through the gate's one mapping ([`Refusal::to_http`]). Used by the fetch handler and
//! the revocation endpoints.

use edge_auth_gate::Refusal;
use wasm_bindgen::JsValue;
use web_sys::{Headers, Response, ResponseInit};

/// A runtime call that threw (a JS exception): the fetch handler answers 500 and logs it.
pub(crate) type JsResult<T> = Result<T, JsValue>;

/// A response built here: `status`, `headers`, an optional text body.
pub(crate) fn respond<'a>(
    status: u16,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: Option<&str>,
) -> JsResult<Response> {
    let list = Headers::new()?;
    for (name, value) in headers {
        list.set(name, value)?;
    }
    let init = ResponseInit::new();
    init.set_status(status);
    init.set_headers(&list);
    Response::new_with_opt_str_and_init(body, &init)
}

pub(crate) fn problem(refusal: &Refusal, realm: &str) -> JsResult<Response> {
    problem_with_retry(refusal, realm, None)
}

/// A refusal with the gate's headers; a 503 carries `Retry-After` (`retry_after` seconds, else 30).
pub(crate) fn problem_with_retry(
    refusal: &Refusal,
    realm: &str,
    retry_after: Option<u64>,
) -> JsResult<Response> {
    let http = refusal.to_http(realm);
    let headers = http.headers(retry_after);
    respond(
        http.status,
        headers.iter().map(|(name, value)| (*name, value.as_str())),
        Some(&http.body),
    )
}
