//! The edge's JWKS over time, the way the Worker (`src/keys.rs`) and the JS package
//! (`crates/wasm/src/keys.rs`) run remote keys: every decision — fresh, stale-while-revalidate,
//! stale-if-error, single flight with a deadline and tickets, unknown-`kid` cooldown, failure backoff,
//! the `Cache-Control` clamp — is the core's [`KeyState`]; this module reads the clock, runs the
//! fetches on tokio and wakes the requests that wait for one.
//!
//! Every fetch runs as its own task, so a request that gives up (its client went away) never leaves
//! the single flight held; the requests that need its outcome wait on a [`Notify`], bounded by the
//! flight's deadline.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use edge_auth_core::{
    load_jwks, AssertionVerifier, FetchTicket, KeySet, KeyState, KidRefetch, Lookup, RemoteSettings,
};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::fetch::{get, HttpClient};

/// One remote key set: the edge's JWKS URL and its state.
#[derive(Debug)]
pub(crate) struct RemoteKeys {
    url: String,
    settings: RemoteSettings,
    client: HttpClient,
    clock: Arc<dyn Clock>,
    /// For [`IssuerPolicy::adopt`](edge_auth_core::IssuerPolicy::adopt): only EdDSA and ES256 keys.
    verifier: Arc<AssertionVerifier>,
    state: Mutex<KeyState>,
    /// Woken whenever a fetch's outcome has been recorded.
    settled: Notify,
}

/// What a request does after one look at the state.
enum Next {
    Ready(Arc<KeySet>),
    Wait,
    Unavailable(u64),
}

impl RemoteKeys {
    pub(crate) fn new(
        url: String,
        settings: RemoteSettings,
        client: HttpClient,
        clock: Arc<dyn Clock>,
        verifier: Arc<AssertionVerifier>,
    ) -> RemoteKeys {
        RemoteKeys {
            url,
            settings,
            client,
            clock,
            verifier,
            state: Mutex::new(KeyState::default()),
            settled: Notify::new(),
        }
    }

    /// The state is only touched between awaits; a panic elsewhere cannot leave it half-updated (each
    /// `KeyState` call is complete), so a poisoned lock is still usable.
    fn state(&self) -> MutexGuard<'_, KeyState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The keys for a request now: fresh or stale ones from memory (a stale set starts one background
    /// refresh when the state allows), or after a fetch this request starts or waits for. `Err`: no
    /// usable keys, retry after this many seconds.
    pub(crate) async fn keys(self: &Arc<Self>) -> Result<Arc<KeySet>, u64> {
        // At most: wait for a running fetch, then run one; a third look sees its outcome.
        for _ in 0..3 {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            // Registered before the state is read: an outcome recorded after the read wakes us.
            settled.as_mut().enable();
            let now = self.clock.now();
            let mut start = None;
            let next = {
                let mut state = self.state();
                match state.lookup(now, &self.settings) {
                    Lookup::Fresh(keys) => Next::Ready(keys),
                    Lookup::Stale { keys, refresh } => {
                        if refresh {
                            start = Some(state.start_fetch(now));
                        }
                        Next::Ready(keys)
                    }
                    Lookup::Fetch => {
                        if !state.fetching(now, &self.settings) {
                            start = Some(state.start_fetch(now));
                        }
                        Next::Wait
                    }
                    Lookup::Unavailable { retry_after } => Next::Unavailable(retry_after),
                }
            };
            if let Some(ticket) = start {
                self.spawn_fetch(ticket);
            }
            match next {
                Next::Ready(keys) => return Ok(keys),
                Next::Unavailable(retry_after) => return Err(retry_after),
                Next::Wait => self.wait(settled).await,
            }
        }
        Err(self.settings.error_backoff.max(1))
    }

    /// For an assertion whose `kid` the set does not hold (a rotation at the edge, or a forgery): one
    /// refetch if the cooldown and backoff allow (or the outcome of the fetch already running), and the
    /// set after it. `None`: refuse without one.
    pub(crate) async fn refetch_for_kid(self: &Arc<Self>) -> Option<Arc<KeySet>> {
        let settled = self.settled.notified();
        tokio::pin!(settled);
        settled.as_mut().enable();
        let now = self.clock.now();
        let ticket = {
            let mut state = self.state();
            match state.unknown_kid(now, &self.settings) {
                KidRefetch::Refuse => return None,
                // Another request's refetch (a rotation: its other requests arrive together).
                KidRefetch::Wait => None,
                KidRefetch::Start => Some(state.start_fetch(now)),
            }
        };
        if let Some(ticket) = ticket {
            self.spawn_fetch(ticket);
        }
        self.wait(settled).await;
        let after = self.clock.now();
        match self.state().lookup(after, &self.settings) {
            Lookup::Fresh(keys) | Lookup::Stale { keys, .. } => Some(keys),
            Lookup::Fetch | Lookup::Unavailable { .. } => None,
        }
    }

    /// Waits for the running fetch's outcome, at most as long as a fetch may take (the state reaps
    /// a flight past its deadline on the next look).
    async fn wait(&self, settled: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>) {
        let bound = Duration::from_secs(self.settings.flight_deadline());
        // Elapsed: the next look at the state decides (a reaped flight counts as failed).
        let _ = tokio::time::timeout(bound, settled).await;
    }

    /// Runs the fetch that owns `ticket` as its own task. Outside a tokio runtime (the fetch needs one)
    /// the fetch fails at once instead of panicking.
    fn spawn_fetch(self: &Arc<Self>, ticket: FetchTicket) {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let this = Arc::clone(self);
                runtime.spawn(async move { this.fetch_and_store(ticket).await });
            }
            Err(_) => {
                let now = self.clock.now();
                self.state()
                    .failed(ticket, now, "the JWKS fetch needs a tokio runtime");
                self.settled.notify_waiters();
            }
        }
    }

    /// One fetch: GET, load, adopt (EdDSA and ES256 keys only), then record the outcome and wake the
    /// waiting requests. An outcome after the flight's deadline is ignored by the state.
    async fn fetch_and_store(&self, ticket: FetchTicket) {
        let outcome = self.fetch().await;
        let now = self.clock.now();
        {
            let mut state = self.state();
            match outcome {
                Ok((keys, cache_control)) => {
                    // Whether the set changed does not matter here: nothing is cached from it (every
                    // assertion is new).
                    let _changed =
                        state.fetched(ticket, now, keys, cache_control.as_deref(), &self.settings);
                }
                Err(why) => state.failed(ticket, now, why),
            }
        }
        self.settled.notify_waiters();
    }

    async fn fetch(&self) -> Result<(KeySet, Option<String>), String> {
        let fetched = get(
            &self.client,
            &self.url,
            self.settings.timeout_ms,
            self.settings.max_bytes,
        )
        .await?;
        let keys =
            load_jwks(&fetched.body, &self.settings).map_err(|e| format!("{}: {e}", self.url))?;
        let policy = self
            .verifier
            .verifier()
            .issuer_at(0)
            .ok_or("the assertion verifier has no issuer")?;
        let keys = policy
            .adopt(keys)
            .map_err(|e| format!("{}: no EdDSA or ES256 key: {e}", self.url))?;
        Ok((keys, fetched.cache_control))
    }

    /// The key state as the Worker's status endpoint shows it: key ids, age, freshness, last error,
    /// fetch count, whether a fetch runs.
    pub(crate) fn status(&self) -> serde_json::Value {
        let now = self.clock.now();
        self.state().status(now)
    }
}
