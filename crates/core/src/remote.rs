//! Remote key sources (issue 5 groundwork): the decisions a JWKS cache makes, without any I/O.
//!
//! The adapter (the Worker) fetches; this module decides *whether* to fetch, *what* to serve meanwhile
//! and *when* to give up, from `now` and what the adapter reports. Nothing here reads a clock or the
//! network, so every rule is tested with plain numbers:
//!
//! - [`check_url`]: only `https`, except loopback hosts when allowed (local development and tests).
//! - [`max_age`] / [`RemoteSettings::freshness`]: the provider's `Cache-Control: max-age`, clamped to
//!   configured bounds (default 5 min – 24 h); `no-store`/`no-cache` count as the minimum.
//! - [`discovery_jwks_uri`]: an OpenID discovery document whose `issuer` equals the configured one
//!   exactly (OpenID Connect Discovery §4.3), and its `jwks_uri`.
//! - [`KeyState`]: one issuer's keys over time — fresh, stale-while-revalidate, stale-if-error, a
//!   bounded refetch for an unknown `kid` (then a cooldown), and a backoff after failures, so that no
//!   input makes the Worker fetch more than once per interval.

use std::sync::Arc;

use serde_json::Value;

use crate::json;
use crate::keyset::KeySet;

/// Bounds for one issuer's remote keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteSettings {
    /// Freshness is at least this (seconds), whatever the provider says. Default 300.
    pub min_ttl: u64,
    /// …and at most this. Default 86 400.
    pub max_ttl: u64,
    /// After a refetch for an unknown `kid`, unknown `kid`s are refused without fetching for this long.
    /// Default 30.
    pub kid_cooldown: u64,
    /// How long the last good set keeps serving after it expired while fetches fail. Default 86 400.
    pub stale_if_error: u64,
    /// After a failed fetch, no new attempt for this long (seconds). Default 10.
    pub error_backoff: u64,
    /// Fetch timeout in milliseconds (the adapter enforces it). Default 5000.
    pub timeout_ms: u64,
    /// Largest JWKS or discovery document accepted, in bytes. Default 256 KiB.
    pub max_bytes: usize,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        RemoteSettings {
            min_ttl: 300,
            max_ttl: 86_400,
            kid_cooldown: 30,
            stale_if_error: 86_400,
            error_backoff: 10,
            timeout_ms: 5_000,
            max_bytes: 256 * 1024,
        }
    }
}

impl RemoteSettings {
    /// Seconds a fetched set stays fresh, from its `Cache-Control` header (if any).
    pub fn freshness(&self, cache_control: Option<&str>) -> u64 {
        let asked = match cache_control {
            Some(header) if no_store(header) => self.min_ttl,
            Some(header) => max_age(header).unwrap_or(self.min_ttl),
            None => self.min_ttl,
        };
        asked.clamp(self.min_ttl, self.max_ttl.max(self.min_ttl))
    }
}

/// Why a remote document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteError {
    /// Not `https` (or `http` on a loopback host when allowed), or not a URL at all.
    UrlRefused(String),
    /// The document is larger than `max_bytes`.
    TooLarge { len: usize, max: usize },
    /// Not a JSON object, or a member has the wrong type.
    Malformed(String),
    /// The discovery document names another issuer.
    IssuerMismatch,
    /// The JWKS does not load (reason from [`KeySet::from_jwks_json`]).
    Keys(String),
}

impl core::fmt::Display for RemoteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RemoteError::UrlRefused(why) => write!(f, "URL refused: {why}"),
            RemoteError::TooLarge { len, max } => {
                write!(f, "document of {len} bytes is larger than {max}")
            }
            RemoteError::Malformed(why) => write!(f, "malformed document: {why}"),
            RemoteError::IssuerMismatch => {
                f.write_str("the discovery document's issuer is not the configured issuer")
            }
            RemoteError::Keys(why) => write!(f, "the JWKS does not load: {why}"),
        }
    }
}

impl std::error::Error for RemoteError {}

/// The host of an authority (`host[:port]`, `[v6][:port]`).
fn host_of(authority: &str) -> &str {
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    }
}

/// `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host.strip_prefix("127.").is_some_and(|rest| {
            rest.split('.').count() == 3 && rest.split('.').all(|o| o.parse::<u8>().is_ok())
        })
}

/// Whether an absolute URL's host is loopback (`localhost`, `127.0.0.0/8`, `[::1]`).
pub fn is_loopback_url(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    is_loopback_host(host_of(authority))
}

/// Accepts `https://host/...`, and `http://` only for loopback hosts when `allow_loopback_http`.
/// Userinfo (`user@host`) and fragments are refused.
pub fn check_url(url: &str, allow_loopback_http: bool) -> Result<(), RemoteError> {
    let refuse = |why: &str| Err(RemoteError::UrlRefused(why.to_owned()));
    let Some((scheme, rest)) = url.split_once("://") else {
        return refuse("not an absolute URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return refuse("no host");
    }
    if authority.contains('@') {
        return refuse("userinfo is not allowed");
    }
    if url.contains('#') {
        return refuse("a fragment is not allowed");
    }
    if url
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return refuse("spaces or control characters");
    }
    let loopback = is_loopback_host(host_of(authority));
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if loopback && allow_loopback_http => Ok(()),
        "http" if loopback => {
            refuse("http is allowed only for loopback hosts in local development")
        }
        "http" => refuse("only https (http only for loopback hosts in local development)"),
        _ => refuse("only https"),
    }
}

fn directives(header: &str) -> impl Iterator<Item = (String, Option<&str>)> {
    header.split(',').filter_map(|part| {
        let part = part.trim();
        if part.is_empty() {
            return None;
        }
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (part, None),
        };
        Some((name.to_ascii_lowercase(), value))
    })
}

fn no_store(header: &str) -> bool {
    directives(header).any(|(name, _)| name == "no-store" || name == "no-cache")
}

/// `max-age` (or `s-maxage`, which wins for shared caches) from a `Cache-Control` header.
pub fn max_age(header: &str) -> Option<u64> {
    let mut max_age = None;
    let mut s_maxage = None;
    for (name, value) in directives(header) {
        let parsed = value.and_then(|v| v.parse::<u64>().ok());
        match name.as_str() {
            "max-age" => max_age = max_age.or(parsed),
            "s-maxage" => s_maxage = s_maxage.or(parsed),
            _ => {}
        }
    }
    s_maxage.or(max_age)
}

fn object(body: &[u8], max: usize) -> Result<serde_json::Map<String, Value>, RemoteError> {
    if body.len() > max {
        return Err(RemoteError::TooLarge {
            len: body.len(),
            max,
        });
    }
    json::parse_object(body).map_err(|e| RemoteError::Malformed(e.to_string()))
}

/// The `jwks_uri` of an OpenID discovery document, after checking that its `issuer` is exactly
/// `expected_issuer` and that the URI is acceptable.
pub fn discovery_jwks_uri(
    body: &[u8],
    expected_issuer: &str,
    settings: &RemoteSettings,
    allow_loopback_http: bool,
) -> Result<String, RemoteError> {
    let document = object(body, settings.max_bytes)?;
    match document.get("issuer") {
        Some(Value::String(issuer)) if issuer == expected_issuer => {}
        Some(Value::String(_)) => return Err(RemoteError::IssuerMismatch),
        _ => return Err(RemoteError::Malformed("`issuer` is not a string".into())),
    }
    let Some(Value::String(uri)) = document.get("jwks_uri") else {
        return Err(RemoteError::Malformed("`jwks_uri` is not a string".into()));
    };
    check_url(uri, allow_loopback_http)?;
    Ok(uri.clone())
}

/// A fetched JWKS body, loaded under the size limit.
pub fn load_jwks(body: &[u8], settings: &RemoteSettings) -> Result<KeySet, RemoteError> {
    if body.len() > settings.max_bytes {
        return Err(RemoteError::TooLarge {
            len: body.len(),
            max: settings.max_bytes,
        });
    }
    KeySet::from_jwks_json(body).map_err(|e| RemoteError::Keys(e.to_string()))
}

/// A set's public keys as JWKs, to tell whether a refetch changed anything.
fn public_form(keys: &KeySet) -> Vec<serde_json::Map<String, Value>> {
    keys.keys().iter().map(crate::jwk::Key::to_jwk).collect()
}

/// A loaded set and its times.
#[derive(Debug, Clone)]
struct Loaded {
    keys: Arc<KeySet>,
    fetched_at: u64,
    fresh_until: u64,
}

/// What to do for a request that needs this issuer's keys.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Fresh keys: use them.
    Fresh(Arc<KeySet>),
    /// Expired keys, still usable: use them and refresh in the background (stale-while-revalidate), or,
    /// while fetches fail, for the `stale_if_error` grace period. `refresh` says whether a background
    /// fetch may start now (at most one per backoff interval).
    Stale { keys: Arc<KeySet>, refresh: bool },
    /// No usable keys, and a fetch may start now: wait for it.
    Fetch,
    /// No usable keys and no fetch allowed yet: refuse with `503`, `Retry-After` this many seconds.
    Unavailable { retry_after: u64 },
}

/// One issuer's remote keys over time. The adapter calls [`lookup`](Self::lookup) per request,
/// [`start_fetch`](Self::start_fetch) when it begins a fetch (so concurrent requests share it),
/// and [`fetched`](Self::fetched) / [`failed`](Self::failed) with the outcome.
#[derive(Debug, Clone, Default)]
pub struct KeyState {
    loaded: Option<Loaded>,
    /// When the last fetch started (successful or not).
    last_attempt: Option<u64>,
    /// The last failure: when, and why (for the status endpoint and logs).
    last_error: Option<(u64, String)>,
    /// When an unknown `kid` last caused a refetch.
    kid_refetch_at: Option<u64>,
    /// A fetch is running: other requests wait for it instead of starting one (single flight).
    in_flight: bool,
    /// How many fetches were started (for tests and the status endpoint).
    fetches: u64,
}

impl KeyState {
    fn may_attempt(&self, now: u64, settings: &RemoteSettings) -> bool {
        if self.in_flight {
            return false;
        }
        match (self.last_error.as_ref(), self.last_attempt) {
            // After a failure, wait out the backoff before the next attempt.
            (Some((failed_at, _)), _) => now >= failed_at.saturating_add(settings.error_backoff),
            _ => true,
        }
    }

    /// The decision for a request at `now`.
    pub fn lookup(&self, now: u64, settings: &RemoteSettings) -> Lookup {
        match &self.loaded {
            Some(loaded) if now < loaded.fresh_until => Lookup::Fresh(Arc::clone(&loaded.keys)),
            Some(loaded) if now < loaded.fresh_until.saturating_add(settings.stale_if_error) => {
                Lookup::Stale {
                    keys: Arc::clone(&loaded.keys),
                    refresh: self.may_attempt(now, settings),
                }
            }
            _ if self.in_flight => Lookup::Fetch,
            _ if self.may_attempt(now, settings) => Lookup::Fetch,
            _ => Lookup::Unavailable {
                retry_after: self
                    .last_error
                    .as_ref()
                    .map_or(settings.error_backoff, |(at, _)| {
                        at.saturating_add(settings.error_backoff)
                            .saturating_sub(now)
                            .max(1)
                    }),
            },
        }
    }

    /// Whether a token with a `kid` the fresh set does not have may trigger a refetch now. At most one
    /// per `kid_cooldown`, and never while a fetch runs or during the failure backoff; the caller
    /// refuses the token (`key_not_found`) when this says no.
    pub fn unknown_kid_refetch(&mut self, now: u64, settings: &RemoteSettings) -> bool {
        let cooled = self
            .kid_refetch_at
            .is_none_or(|at| now >= at.saturating_add(settings.kid_cooldown));
        if cooled && self.may_attempt(now, settings) {
            self.kid_refetch_at = Some(now);
            true
        } else {
            false
        }
    }

    /// Whether a fetch is running (requests needing keys wait for it).
    pub fn fetching(&self) -> bool {
        self.in_flight
    }

    /// A fetch begins (single flight: [`lookup`](Self::lookup) and
    /// [`unknown_kid_refetch`](Self::unknown_kid_refetch) start no other until it ends).
    pub fn start_fetch(&mut self, now: u64) {
        self.in_flight = true;
        self.last_attempt = Some(now);
        self.fetches = self.fetches.saturating_add(1);
    }

    /// A fetch succeeded. Returns true when the key set changed (the verified-token cache must then be
    /// dropped).
    pub fn fetched(
        &mut self,
        now: u64,
        keys: KeySet,
        cache_control: Option<&str>,
        settings: &RemoteSettings,
    ) -> bool {
        self.in_flight = false;
        self.last_error = None;
        let changed = self
            .loaded
            .as_ref()
            .is_none_or(|old| public_form(&old.keys) != public_form(&keys));
        let fresh_until = now.saturating_add(settings.freshness(cache_control));
        let keys = match &self.loaded {
            Some(old) if !changed => Arc::clone(&old.keys),
            _ => Arc::new(keys),
        };
        self.loaded = Some(Loaded {
            keys,
            fetched_at: now,
            fresh_until,
        });
        changed
    }

    /// A fetch failed (timeout, status, size, parse, keys). The last good set, if any, keeps serving
    /// for the grace period.
    pub fn failed(&mut self, now: u64, why: impl Into<String>) {
        self.in_flight = false;
        self.last_error = Some((now, why.into()));
    }

    /// For the status endpoint: the key ids, the age of the set, the last error and the fetch count.
    pub fn status(&self, now: u64) -> Value {
        let loaded = self.loaded.as_ref();
        serde_json::json!({
            "kids": loaded.map(|l| l.keys.keys().iter().filter_map(|k| k.kid()).collect::<Vec<_>>()),
            "age_seconds": loaded.map(|l| now.saturating_sub(l.fetched_at)),
            "fresh_for_seconds": loaded.map(|l| l.fresh_until.saturating_sub(now)),
            "last_error": self.last_error.as_ref().map(|(at, why)| serde_json::json!({
                "seconds_ago": now.saturating_sub(*at), "error": why
            })),
            "fetches": self.fetches,
        })
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests"
)]
mod tests {
    use super::*;
    use crate::alg::Algorithm;
    use crate::jwk::SigningKey;

    fn jwks(n: usize) -> KeySet {
        let keys: Vec<Value> = (0..n)
            .map(|_| {
                let key =
                    SigningKey::generate(Algorithm::Es256, None, &mut rand_core::OsRng).unwrap();
                Value::Object(key.public_key().to_jwk())
            })
            .collect();
        KeySet::from_jwks_json(serde_json::json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn urls() {
        for ok in ["https://idp.example/jwks", "HTTPS://idp.example:8443/x?y=1"] {
            assert_eq!(check_url(ok, false), Ok(()), "{ok}");
        }
        for local in [
            "http://127.0.0.1:9000/jwks",
            "http://localhost/x",
            "http://[::1]:80/",
        ] {
            assert_eq!(check_url(local, true), Ok(()), "{local}");
            assert!(check_url(local, false).is_err(), "{local}");
        }
        for bad in [
            "http://idp.example/jwks",
            "http://127.0.0.1.evil.example/",
            "ftp://idp.example/",
            "https://user@idp.example/",
            "https://idp.example/#x",
            "https:///x",
            "idp.example/jwks",
            "https://idp.example/a b",
        ] {
            assert!(check_url(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn freshness() {
        let s = RemoteSettings::default();
        assert_eq!(max_age("public, max-age=600"), Some(600));
        assert_eq!(max_age("max-age=600, s-maxage=900"), Some(900));
        assert_eq!(max_age("max-age=\"60\""), Some(60));
        assert_eq!(max_age("max-age=abc"), None);
        assert_eq!(s.freshness(Some("max-age=600")), 600);
        assert_eq!(s.freshness(Some("max-age=5")), 300);
        assert_eq!(s.freshness(Some("max-age=9999999")), 86_400);
        assert_eq!(s.freshness(Some("no-store")), 300);
        assert_eq!(s.freshness(Some("no-cache, max-age=3600")), 300);
        assert_eq!(s.freshness(None), 300);
    }

    #[test]
    fn discovery() {
        let s = RemoteSettings::default();
        let doc = |iss: &str, uri: &str| {
            serde_json::json!({"issuer": iss, "jwks_uri": uri})
                .to_string()
                .into_bytes()
        };
        let iss = "https://idp.example/realms/a";
        assert_eq!(
            discovery_jwks_uri(&doc(iss, "https://idp.example/jwks"), iss, &s, false),
            Ok("https://idp.example/jwks".into())
        );
        // Exact comparison: a trailing slash is another issuer (OIDC Discovery §4.3).
        assert_eq!(
            discovery_jwks_uri(
                &doc("https://idp.example/realms/a/", "https://x/"),
                iss,
                &s,
                false
            ),
            Err(RemoteError::IssuerMismatch)
        );
        assert!(matches!(
            discovery_jwks_uri(&doc(iss, "http://idp.example/jwks"), iss, &s, false),
            Err(RemoteError::UrlRefused(_))
        ));
        assert!(matches!(
            discovery_jwks_uri(b"[1]", iss, &s, false),
            Err(RemoteError::Malformed(_))
        ));
        let small = RemoteSettings { max_bytes: 10, ..s };
        assert!(matches!(
            discovery_jwks_uri(&doc(iss, "https://x/"), iss, &small, false),
            Err(RemoteError::TooLarge { .. })
        ));
        assert!(matches!(load_jwks(b"{}", &s), Err(RemoteError::Keys(_))));
    }

    #[test]
    fn lifecycle() {
        let s = RemoteSettings::default();
        let mut state = KeyState::default();
        // Cold: fetch; concurrent requests wait for the same fetch (single flight).
        assert!(matches!(state.lookup(0, &s), Lookup::Fetch));
        state.start_fetch(0);
        assert!(
            !state.unknown_kid_refetch(0, &s),
            "no second fetch while one runs"
        );
        assert!(state.fetched(1, jwks(1), Some("max-age=600"), &s));
        assert!(matches!(state.lookup(2, &s), Lookup::Fresh(_)));
        // Expired: served stale while one background refresh starts.
        let Lookup::Stale { refresh: true, .. } = state.lookup(601, &s) else {
            panic!("stale-while-revalidate")
        };
        state.start_fetch(601);
        assert!(matches!(
            state.lookup(601, &s),
            Lookup::Stale { refresh: false, .. }
        ));
        // The provider is down: the last good set keeps serving for the grace period, with one retry
        // per backoff interval.
        state.failed(606, "timeout");
        assert!(matches!(
            state.lookup(610, &s),
            Lookup::Stale { refresh: false, .. }
        ));
        assert!(matches!(
            state.lookup(616, &s),
            Lookup::Stale { refresh: true, .. }
        ));
        let end_of_grace = 601 + s.stale_if_error;
        assert!(matches!(
            state.lookup(end_of_grace - 1, &s),
            Lookup::Stale { .. }
        ));
        assert!(matches!(state.lookup(end_of_grace, &s), Lookup::Fetch));
        state.start_fetch(end_of_grace);
        state.failed(end_of_grace, "connection refused");
        assert!(matches!(
            state.lookup(end_of_grace + 3, &s),
            Lookup::Unavailable { retry_after: 7 }
        ));
        assert_eq!(state.status(end_of_grace + 3)["fetches"], 3);
        assert_eq!(
            state.status(end_of_grace + 3)["last_error"]["error"],
            "connection refused"
        );
    }

    #[test]
    fn unknown_kids_are_bounded() {
        let s = RemoteSettings::default();
        let mut state = KeyState::default();
        state.start_fetch(0);
        state.fetched(0, jwks(1), None, &s);
        // A burst of random kids over 100 seconds: one refetch per cooldown (30 s), not one per token.
        let mut refetches = 0;
        for t in 0..100u64 {
            for _ in 0..50 {
                if state.unknown_kid_refetch(t, &s) {
                    refetches += 1;
                    state.start_fetch(t);
                    let same = state.fetched(t, state_keys(&state), None, &s);
                    assert!(!same, "an unchanged set is not a change");
                }
            }
        }
        assert_eq!(refetches, 4, "t = 0, 30, 60, 90");
        // A rotation: the refetch brings a new set, and the caller drops its token cache.
        assert!(state.unknown_kid_refetch(120, &s));
        state.start_fetch(120);
        assert!(state.fetched(120, jwks(2), None, &s));
    }

    fn state_keys(state: &KeyState) -> KeySet {
        let Lookup::Fresh(keys) = state.lookup(0, &RemoteSettings::default()) else {
            panic!("fresh keys expected")
        };
        let jwks: Vec<Value> = keys
            .keys()
            .iter()
            .map(|k| Value::Object(k.to_jwk()))
            .collect();
        KeySet::from_jwks_json(serde_json::json!({ "keys": jwks }).to_string().as_bytes()).unwrap()
    }
}
