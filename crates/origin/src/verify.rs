//! [`EdgeAuth`]: a request's assertion, verified against the request the origin received.

use std::sync::Arc;

use axum::extract::OriginalUri;
use edge_auth_core::{AssertionVerifier, Binding, RustCrypto, UnixTime, VerifiedToken};
use edge_auth_gate::{extract_token, Refusal};
use http::request::Parts;
use http::HeaderName;

use crate::clock::Clock;
use crate::fetch::joined;
use crate::identity::Identity;
use crate::keys::RemoteKeys;
use crate::rejection::Rejection;

/// The origin's assertion verifier: cheap to clone (shared state), one per service. Build it with
/// [`EdgeAuth::builder`]; use it as a layer ([`layer`](Self::layer), [`require_scopes`](Self::require_scopes),
/// [`require_roles`](Self::require_roles)), as an `Extension` for the [`Identity`] extractor, or call
/// [`verify`](Self::verify) from any framework on `http` types.
///
/// [`EdgeAuthBuilder`]: crate::EdgeAuthBuilder
#[derive(Debug, Clone)]
pub struct EdgeAuth {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) verifier: Arc<AssertionVerifier>,
    pub(crate) keys: Arc<RemoteKeys>,
    /// `scheme://host[:port][/prefix]`, no trailing `/`.
    pub(crate) public_url: Option<String>,
    pub(crate) trust_forwarded: bool,
    pub(crate) header: HeaderName,
    pub(crate) realm: Arc<str>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl EdgeAuth {
    /// The header the assertion is read from (lower-case).
    pub fn header_name(&self) -> &HeaderName {
        &self.inner.header
    }

    /// Loads the edge's keys now (or waits for the fetch that runs), under the same rules as a request:
    /// call it at start-up to have them before the first request. An `Err` (`503 keys_unavailable`)
    /// is not fatal: requests fetch again after the backoff.
    pub async fn load_keys(&self) -> Result<(), Rejection> {
        self.inner
            .keys
            .keys()
            .await
            .map(|_| ())
            .map_err(|retry_after| Rejection::keys_unavailable(&self.inner.realm, retry_after))
    }

    /// The key cache, as the Worker's status endpoint shows it: `{ kids, age_seconds,
    /// fresh_for_seconds, last_error: { seconds_ago, error }, fetches, fetching }`.
    pub fn key_status(&self) -> serde_json::Value {
        self.inner.keys.status()
    }

    /// Verifies the request's assertion: the signature with the edge's keys, the claims at the clock's
    /// `now`, then the binding — `htm` = the method, `htu` = [the public URL](crate::EdgeAuthBuilder::public_url)
    /// of the path received (before any `nest`: axum's `OriginalUri` when present), and `ath` = the hash
    /// of the `Authorization: Bearer` token when one reached the origin.
    pub async fn verify(&self, parts: &Parts) -> Result<Identity, Rejection> {
        let inner = &self.inner;
        let refuse = |refusal| Rejection::new(refusal, &inner.realm);
        let assertion = {
            let mut values = parts.headers.get_all(&inner.header).iter();
            match (values.next(), values.next()) {
                (None, _) => return Err(refuse(Refusal::TokenMissing)),
                // Not visible ASCII: the core refuses it as malformed.
                (Some(value), None) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
                // The edge sends one and drops any the client sent: two are not from the edge.
                (Some(_), Some(_)) => return Err(refuse(Refusal::MultipleTokens)),
            }
        };
        let authorization = joined(&parts.headers, http::header::AUTHORIZATION);
        let access_token = extract_token(authorization.as_deref(), None, None)
            .map_err(refuse)?
            .map(|found| found.token);
        let now = inner.clock.now();
        let verified = self.verify_assertion(&assertion, UnixTime(now)).await?;
        let url = self.request_url(parts).unwrap_or_default();
        let binding = Binding {
            method: parts.method.as_str(),
            url: &url,
            access_token: access_token.as_deref(),
        };
        AssertionVerifier::check_binding(&verified, &binding)
            .map_err(|e| refuse(Refusal::Token(e)))?;
        Identity::from_verified(verified, &inner.realm)
    }

    /// The assertion itself: parse and issuer first (junk never causes a fetch), then the keys, with
    /// one bounded refetch for an unknown `kid`, then signature and claims.
    async fn verify_assertion(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<VerifiedToken, Rejection> {
        let inner = &self.inner;
        let refuse = |e| Rejection::new(Refusal::Token(e), &inner.realm);
        let kid = inner
            .verifier
            .verifier()
            .route(token)
            .map_err(refuse)?
            .kid()
            .map(str::to_owned);
        let mut keys = inner
            .keys
            .keys()
            .await
            .map_err(|retry_after| Rejection::keys_unavailable(&inner.realm, retry_after))?;
        if let Some(kid) = &kid {
            if !keys.keys().iter().any(|k| k.kid() == Some(kid.as_str())) {
                if let Some(fresh) = inner.keys.refetch_for_kid().await {
                    keys = fresh;
                }
            }
        }
        inner
            .verifier
            .verifier()
            .route(token)
            .and_then(|routed| routed.select_from(keys))
            .and_then(|pending| pending.verify_signature(&RustCrypto))
            .and_then(|signed| signed.check_claims(now))
            .map_err(refuse)
    }

    /// The public URL the request names: the configured (or, when trusted, forwarded) scheme and host
    /// with the path received. `None` when there is none (the binding then fails).
    fn request_url(&self, parts: &Parts) -> Option<String> {
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path(), |original| original.0.path());
        let base = if self.inner.trust_forwarded {
            forwarded_base(&parts.headers).or_else(|| self.inner.public_url.clone())?
        } else {
            self.inner.public_url.clone()?
        };
        Some(format!("{base}{path}"))
    }
}

/// `proto://host` from the first `Forwarded` element (RFC 7239), else `X-Forwarded-Proto` and
/// `X-Forwarded-Host` (their first values). Scheme defaults to `https`; no host, no base.
fn forwarded_base(headers: &http::HeaderMap) -> Option<String> {
    let first = |value: String| {
        value
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let (mut proto, mut host) = (None, None);
    if let Some(forwarded) = joined(headers, http::header::FORWARDED).map(first) {
        for pair in forwarded.split(';') {
            if let Some((name, value)) = pair.split_once('=') {
                let value = value.trim().trim_matches('"').to_owned();
                match name.trim().to_ascii_lowercase().as_str() {
                    "proto" => proto = Some(value),
                    "host" => host = Some(value),
                    _ => {}
                }
            }
        }
    } else {
        proto = joined(headers, "x-forwarded-proto").map(first);
        host = joined(headers, "x-forwarded-host").map(first);
    }
    let host = host.filter(|h| !h.is_empty())?;
    let proto = proto
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "https".to_owned());
    // The core reads the result as an absolute http(s) URL; anything else fails the binding.
    Some(format!("{}://{host}", proto.to_ascii_lowercase()))
}
