//! Remote key sources: the decisions a JWKS cache makes, without any I/O.
//!
//! The adapter (the Worker) fetches; this module decides *whether* to fetch, *what* to serve meanwhile
//! and *when* to give up, from `now` and what the adapter reports. Nothing here reads a clock or the
//! network, so every rule is tested with plain numbers:
//!
//! - [`check_url`]: only `https`, except loopback hosts when `remote_keys.allow_loopback_http` says so
//!   (local development and tests only).
//! - [`max_age`] / [`RemoteSettings::freshness`]: the provider's `Cache-Control: max-age`, clamped to
//!   configured bounds (default 5 min – 24 h); `no-store`/`no-cache` count as the minimum.
//! - [`discovery_jwks_uri`]: an OpenID discovery document whose `issuer` equals the configured one
//!   exactly (OpenID Connect Discovery §4.3), and its `jwks_uri`.
//! - [`KeyState`]: one issuer's keys over time — fresh, stale-while-revalidate, stale-if-error, a
//!   bounded refetch for an unknown `kid` (then a cooldown), and a backoff after failures, so that no
//!   input makes the Worker fetch more than once per interval. A fetch that has not reported back
//!   within [`RemoteSettings::flight_deadline`] counts as failed, so a provider that stalls cannot
//!   hold the single flight forever; what such a fetch reports later is ignored.

use std::sync::Arc;

use serde_json::Value;

use crate::absolute_url::{AbsoluteUrl, UrlError};
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
    /// Accept `http://` key URLs on loopback hosts. Default false; only for the demo and tests.
    pub allow_loopback_http: bool,
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
            allow_loopback_http: false,
        }
    }
}

impl RemoteSettings {
    /// Seconds after which a fetch still in flight counts as failed: a discovery document and a JWKS,
    /// each within `timeout_ms` (head and body), rounded up, plus one second for the whole-second
    /// clock the core is given.
    pub fn flight_deadline(&self) -> u64 {
        self.timeout_ms
            .saturating_mul(2)
            .div_ceil(1000)
            .saturating_add(1)
    }

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

/// Whether an absolute URL's host is loopback (`localhost`, `127.0.0.0/8`, `[::1]`).
pub fn is_loopback_url(url: &str) -> bool {
    AbsoluteUrl::parse(url).is_ok_and(|url| url.is_loopback())
}

/// Accepts `https://host/...`, and `http://` only for loopback hosts when `allow_loopback_http`.
/// Userinfo (`user@host`), fragments, spaces and control characters are refused.
pub fn check_url(url: &str, allow_loopback_http: bool) -> Result<(), RemoteError> {
    let refuse = |why: &str| Err(RemoteError::UrlRefused(why.to_owned()));
    // The WHATWG parser drops tabs and newlines silently: the text is checked as written.
    if url
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return refuse("spaces or control characters");
    }
    // The WHATWG parser reads `https:///x` as `https://x/`; a configured URL spells its host.
    if url
        .split_once("://")
        .is_none_or(|(_, rest)| rest.starts_with(['/', '\\']))
    {
        return refuse("no host after `://`");
    }
    let parsed = match AbsoluteUrl::parse(url) {
        Ok(parsed) => parsed,
        Err(UrlError::Scheme) => return refuse("only https"),
        Err(error) => return refuse(&error.to_string()),
    };
    if parsed.has_userinfo() {
        return refuse("userinfo is not allowed");
    }
    if parsed.has_fragment() || url.contains('#') {
        return refuse("a fragment is not allowed");
    }
    match (parsed.scheme(), parsed.is_loopback()) {
        ("https", _) => Ok(()),
        ("http", true) if allow_loopback_http => Ok(()),
        ("http", true) => refuse(
            "http to a loopback host needs remote_keys.allow_loopback_http = true \
             (for local development and tests only)",
        ),
        _ => refuse("only https (http only for loopback hosts in local development)"),
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

/// [`KeyState::unknown_kid`]'s answer for a token whose `kid` the set does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KidRefetch {
    /// Start a refetch (`start_fetch`), then verify once more with the set it brings.
    Start,
    /// A fetch is running: wait for its outcome (bounded by its deadline), then verify once more.
    Wait,
    /// Refuse the token without fetching (cooldown, backoff).
    Refuse,
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

/// A fetch that [`KeyState::start_fetch`] began. Its outcome is reported with it, and ignored when the
/// fetch no longer owns the flight (it outlived its deadline and another may have started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchTicket(u64);

#[derive(Debug, Clone, Copy)]
struct Flight {
    ticket: u64,
    started: u64,
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
    in_flight: Option<Flight>,
    /// How many fetches were started (for tests and the status endpoint; also numbers the tickets).
    fetches: u64,
}

impl KeyState {
    /// A fetch in flight past its deadline counts as failed now.
    fn reap(&mut self, now: u64, settings: &RemoteSettings) {
        let deadline = settings.flight_deadline();
        if let Some(flight) = self.in_flight {
            if now >= flight.started.saturating_add(deadline) {
                self.in_flight = None;
                self.last_error = Some((
                    now,
                    format!("the fetch did not finish within its deadline ({deadline} s)"),
                ));
            }
        }
    }

    fn may_attempt(&self, now: u64, settings: &RemoteSettings) -> bool {
        if self.in_flight.is_some() {
            return false;
        }
        match (self.last_error.as_ref(), self.last_attempt) {
            // After a failure, wait out the backoff before the next attempt.
            (Some((failed_at, _)), _) => now >= failed_at.saturating_add(settings.error_backoff),
            _ => true,
        }
    }

    /// The decision for a request at `now`.
    pub fn lookup(&mut self, now: u64, settings: &RemoteSettings) -> Lookup {
        self.reap(now, settings);
        match &self.loaded {
            Some(loaded) if now < loaded.fresh_until => Lookup::Fresh(Arc::clone(&loaded.keys)),
            Some(loaded) if now < loaded.fresh_until.saturating_add(settings.stale_if_error) => {
                Lookup::Stale {
                    keys: Arc::clone(&loaded.keys),
                    refresh: self.may_attempt(now, settings),
                }
            }
            _ if self.in_flight.is_some() => Lookup::Fetch,
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

    /// What to do for a token with a `kid` the set does not have. A fetch already running (a
    /// rotation's refetch another request started, or a refresh) may bring the key: wait for it and
    /// look once more ([`KidRefetch::Wait`]), so that the requests that arrive with a new `kid` at the
    /// same time all pass, not only the one that started the refetch. Otherwise at most one refetch per
    /// `kid_cooldown`, none during the failure backoff ([`KidRefetch::Start`]); else the caller refuses
    /// the token (`key_not_found`).
    pub fn unknown_kid(&mut self, now: u64, settings: &RemoteSettings) -> KidRefetch {
        self.reap(now, settings);
        if self.in_flight.is_some() {
            return KidRefetch::Wait;
        }
        let cooled = self
            .kid_refetch_at
            .is_none_or(|at| now >= at.saturating_add(settings.kid_cooldown));
        if cooled && self.may_attempt(now, settings) {
            self.kid_refetch_at = Some(now);
            KidRefetch::Start
        } else {
            KidRefetch::Refuse
        }
    }

    /// Whether a fetch is running (requests needing keys wait for it); one past its deadline is not.
    pub fn fetching(&mut self, now: u64, settings: &RemoteSettings) -> bool {
        self.reap(now, settings);
        self.in_flight.is_some()
    }

    /// A fetch begins (single flight: [`lookup`](Self::lookup) and
    /// [`unknown_kid`](Self::unknown_kid) start no other until it ends or its
    /// deadline passes).
    pub fn start_fetch(&mut self, now: u64) -> FetchTicket {
        self.fetches = self.fetches.saturating_add(1);
        self.in_flight = Some(Flight {
            ticket: self.fetches,
            started: now,
        });
        self.last_attempt = Some(now);
        FetchTicket(self.fetches)
    }

    /// Ends the flight `ticket` owns; false when it owns none (reaped, or another began since).
    fn land(&mut self, ticket: FetchTicket) -> bool {
        match self.in_flight {
            Some(flight) if flight.ticket == ticket.0 => {
                self.in_flight = None;
                true
            }
            _ => false,
        }
    }

    /// A fetch succeeded; the set is fresh for the provider's `Cache-Control`, clamped to the
    /// configured bounds. Returns true when the key set changed (the verified-token cache must then
    /// be dropped).
    pub fn fetched(
        &mut self,
        ticket: FetchTicket,
        now: u64,
        keys: KeySet,
        cache_control: Option<&str>,
        settings: &RemoteSettings,
    ) -> bool {
        let fresh_until = now.saturating_add(settings.freshness(cache_control));
        self.fetched_until(ticket, now, keys, fresh_until, settings)
    }

    /// A set was obtained that stays fresh until `fresh_until` (at most `max_ttl` from now): a set
    /// another isolate fetched keeps its remaining freshness, never raised to `min_ttl`. Returns true
    /// when the key set changed. The outcome of a fetch that no longer owns the flight is ignored.
    pub fn fetched_until(
        &mut self,
        ticket: FetchTicket,
        now: u64,
        keys: KeySet,
        fresh_until: u64,
        settings: &RemoteSettings,
    ) -> bool {
        if !self.land(ticket) {
            return false;
        }
        self.last_error = None;
        let changed = self
            .loaded
            .as_ref()
            .is_none_or(|old| public_form(&old.keys) != public_form(&keys));
        let fresh_until = fresh_until.min(now.saturating_add(settings.max_ttl));
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
    /// for the grace period. Ignored when the fetch no longer owns the flight.
    pub fn failed(&mut self, ticket: FetchTicket, now: u64, why: impl Into<String>) {
        if self.land(ticket) {
            self.last_error = Some((now, why.into()));
        }
    }

    /// Until when the loaded set may verify tokens (fresh, then stale while fetches fail): a verification
    /// cached from it must not outlive this. `None` without a set.
    pub fn usable_until(&self, settings: &RemoteSettings) -> Option<u64> {
        let loaded = self.loaded.as_ref()?;
        Some(loaded.fresh_until.saturating_add(settings.stale_if_error))
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
            "fetching": self.in_flight.is_some(),
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
        let first = state.start_fetch(0);
        assert_eq!(
            state.unknown_kid(0, &s),
            KidRefetch::Wait,
            "no second fetch while one runs: wait for it"
        );
        assert!(state.fetching(0, &s));
        assert_eq!(state.usable_until(&s), None);
        assert!(state.fetched(first, 1, jwks(1), Some("max-age=600"), &s));
        assert!(!state.fetching(1, &s));
        assert_eq!(state.usable_until(&s), Some(601 + s.stale_if_error));
        assert!(matches!(state.lookup(2, &s), Lookup::Fresh(_)));
        // Expired: served stale while one background refresh starts.
        let Lookup::Stale { refresh: true, .. } = state.lookup(601, &s) else {
            panic!("stale-while-revalidate")
        };
        let refresh = state.start_fetch(601);
        assert!(matches!(
            state.lookup(601, &s),
            Lookup::Stale { refresh: false, .. }
        ));
        // The provider is down: the last good set keeps serving for the grace period, with one retry
        // per backoff interval.
        state.failed(refresh, 606, "timeout");
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
        let last = state.start_fetch(end_of_grace);
        state.failed(last, end_of_grace, "connection refused");
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
    fn a_stalled_fetch_counts_as_failed_at_its_deadline() {
        // A provider that sends its headers and then stalls the body must not hold the single flight
        // forever: every request would wait, then get 503, until the isolate dies.
        let s = RemoteSettings {
            timeout_ms: 1_500,
            ..RemoteSettings::default()
        };
        assert_eq!(s.flight_deadline(), 4, "2 × 1.5 s, rounded up, + 1 s");
        let mut state = KeyState::default();
        let stalled = state.start_fetch(100);
        assert!(matches!(state.lookup(103, &s), Lookup::Fetch));
        assert!(state.fetching(103, &s), "still within its deadline");
        // At the deadline the flight is reaped and counted as a failure: back off, then fetch again.
        assert!(!state.fetching(104, &s));
        assert!(matches!(
            state.lookup(104, &s),
            Lookup::Unavailable { retry_after: 10 }
        ));
        assert!(state.status(104)["last_error"]["error"]
            .as_str()
            .unwrap()
            .contains("deadline"));
        assert!(matches!(state.lookup(114, &s), Lookup::Fetch));
        let retry = state.start_fetch(114);
        // The stalled fetch finally reports: it no longer owns the flight, so it changes nothing.
        assert!(!state.fetched(stalled, 115, jwks(1), None, &s));
        state.failed(stalled, 115, "late failure");
        assert!(state.fetching(115, &s), "the retry still runs");
        assert!(state.fetched(retry, 115, jwks(1), None, &s));
        assert!(matches!(state.lookup(116, &s), Lookup::Fresh(_)));
        assert_eq!(state.status(116)["last_error"], Value::Null);
    }

    #[test]
    fn a_shared_set_keeps_its_remaining_freshness() {
        let s = RemoteSettings::default();
        let mut state = KeyState::default();
        let ticket = state.start_fetch(1_000);
        // Another isolate's copy is fresh for 20 more seconds: not raised to min_ttl (300 s).
        assert!(state.fetched_until(ticket, 1_000, jwks(1), 1_020, &s));
        assert!(matches!(state.lookup(1_019, &s), Lookup::Fresh(_)));
        assert!(matches!(
            state.lookup(1_020, &s),
            Lookup::Stale { refresh: true, .. }
        ));
        // …and never more than max_ttl from now, whatever the entry says.
        let mut state = KeyState::default();
        let ticket = state.start_fetch(0);
        state.fetched_until(ticket, 0, jwks(1), u64::MAX, &s);
        assert_eq!(state.status(0)["fresh_for_seconds"], s.max_ttl);
    }

    #[test]
    fn unknown_kids_are_bounded() {
        let s = RemoteSettings::default();
        let mut state = KeyState::default();
        let ticket = state.start_fetch(0);
        state.fetched(ticket, 0, jwks(1), None, &s);
        // A burst of random kids over 100 seconds: one refetch per cooldown (30 s), not one per token.
        let mut refetches = 0;
        for t in 0..100u64 {
            for _ in 0..50 {
                if state.unknown_kid(t, &s) == KidRefetch::Start {
                    refetches += 1;
                    let ticket = state.start_fetch(t);
                    let keys = state_keys(&mut state, t);
                    let same = state.fetched(ticket, t, keys, None, &s);
                    assert!(!same, "an unchanged set is not a change");
                }
            }
        }
        assert_eq!(refetches, 4, "t = 0, 30, 60, 90");
        // A rotation: the refetch brings a new set, and the caller drops its token cache.
        assert_eq!(state.unknown_kid(120, &s), KidRefetch::Start);
        let ticket = state.start_fetch(120);
        // The requests with the new kid that arrive while it runs wait for it (a rotation under load).
        assert_eq!(state.unknown_kid(120, &s), KidRefetch::Wait);
        assert!(state.fetched(ticket, 120, jwks(2), None, &s));
    }

    fn state_keys(state: &mut KeyState, now: u64) -> KeySet {
        let keys = match state.lookup(now, &RemoteSettings::default()) {
            Lookup::Fresh(keys) | Lookup::Stale { keys, .. } => keys,
            other => panic!("keys expected, got {other:?}"),
        };
        let jwks: Vec<Value> = keys
            .keys()
            .iter()
            .map(|k| Value::Object(k.to_jwk()))
            .collect();
        KeySet::from_jwks_json(serde_json::json!({ "keys": jwks }).to_string().as_bytes()).unwrap()
    }
}
