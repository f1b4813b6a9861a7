//! One GET of the edge's JWKS: hyper's client over rustls (ring, the system's root certificates),
//! the whole exchange within the timeout, the body read under the size limit, no redirects followed.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The HTTP client every key fetch of one [`EdgeAuth`](crate::EdgeAuth) shares (its connections are
/// kept alive between fetches).
pub(crate) type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// A client that speaks https (TLS 1.2 and 1.3, rustls with ring) and plain http (the URL rule has
/// already refused http anywhere but on a loopback host, and there only when allowed). Root
/// certificates are the system's; when none can be read, https fetches fail (each failure is recorded
/// as the key state's last error) instead of the service refusing to start.
pub(crate) fn client() -> Result<HttpClient, String> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable or malformed system certificates are skipped; `errors` only lists them.
    let native = rustls_native_certs::load_native_certs();
    let (_added, _ignored) = roots.add_parsable_certificates(native.certs);
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// A `200` answer: its body and `Cache-Control`.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) body: Bytes,
    pub(crate) cache_control: Option<String>,
}

/// GETs `url`: head and body within `timeout_ms`, the body at most `max_bytes`. The error says what
/// went wrong, for the key state's status (never a token: the URL is configuration).
pub(crate) async fn get(
    client: &HttpClient,
    url: &str,
    timeout_ms: u64,
    max_bytes: usize,
) -> Result<Fetched, String> {
    let exchange = async {
        let uri: http::Uri = url.parse().map_err(|e| format!("fetch {url}: {e}"))?;
        let request = http::Request::get(uri)
            .header(
                http::header::ACCEPT,
                "application/jwk-set+json, application/json",
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("fetch {url}: {e}"))?;
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("fetch {url}: {e}"))?;
        let status = response.status();
        if status != http::StatusCode::OK {
            let note = if status.is_redirection() {
                " (redirects are not followed)"
            } else {
                ""
            };
            return Err(format!("fetch {url}: status {}{note}", status.as_u16()));
        }
        let cache_control = joined(response.headers(), http::header::CACHE_CONTROL);
        let body = Limited::new(response.into_body(), max_bytes)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    format!("fetch {url}: the body is more than {max_bytes} bytes")
                } else {
                    format!("fetch {url}: {e}")
                }
            })?
            .to_bytes();
        Ok::<Fetched, String>(Fetched {
            body,
            cache_control,
        })
    };
    tokio::time::timeout(Duration::from_millis(timeout_ms), exchange)
        .await
        .map_err(|_| format!("fetch {url}: no complete answer within {timeout_ms} ms"))?
}

/// Every value of a header, joined with `, ` (as the Fetch API's `Headers.get` does); `None` when
/// absent or not visible ASCII.
pub(crate) fn joined(
    headers: &http::HeaderMap,
    name: impl http::header::AsHeaderName,
) -> Option<String> {
    let mut values = Vec::new();
    for value in headers.get_all(name) {
        values.push(value.to_str().ok()?);
    }
    (!values.is_empty()).then(|| values.join(", "))
}
