//! What one verifier keeps between calls (a `createVerifier` verifier, a gate, an origin's assertion
//! verifier): its compiled configuration, the verified-token cache, the WebCrypto backend with its
//! imported keys, the remote key sets and the JS side's I/O. The bottom layer: `keys` and `verify` use
//! it; it uses neither.

use std::cell::RefCell;
use std::collections::HashMap;

use edge_auth_core::{
    AssertionVerifier, CacheSettings, GateConfig, KeyState, RemoteSettings, RemoteSource,
    TokenCache, Verifier, VerifierConfig,
};
use edge_auth_webcrypto::WebCrypto;

use crate::error::Failure;
use crate::host::{random16, Host};

/// A compiled configuration that verifies tokens: its verifier and, for issuers whose keys come from a
/// URL, where they are fetched and under which bounds.
pub(crate) trait Verifies {
    fn verifier(&self) -> &Verifier;
    /// Where the issuer at `index` fetches its keys (`None`: inline keys).
    fn remote_source(&self, index: usize) -> Option<&RemoteSource>;
    fn remote_settings(&self) -> &RemoteSettings;
}

impl Verifies for GateConfig {
    fn verifier(&self) -> &Verifier {
        &self.verifier
    }
    fn remote_source(&self, index: usize) -> Option<&RemoteSource> {
        self.remote_sources.get(index)?.as_ref().map(|r| &r.source)
    }
    fn remote_settings(&self) -> &RemoteSettings {
        &self.remote
    }
}

impl Verifies for VerifierConfig {
    fn verifier(&self) -> &Verifier {
        &self.verifier
    }
    fn remote_source(&self, index: usize) -> Option<&RemoteSource> {
        self.remote_sources.get(index)?.as_ref().map(|r| &r.source)
    }
    fn remote_settings(&self) -> &RemoteSettings {
        &self.remote
    }
}

/// An origin's assertion verifier: the Worker's (or gate's) JWKS inline, or from its URL.
#[derive(Debug)]
pub(crate) struct AssertionKeys {
    pub(crate) verifier: AssertionVerifier,
    /// `Some` for a `jwks_uri`: the one issuer's keys come from it.
    pub(crate) source: Option<RemoteSource>,
    pub(crate) settings: RemoteSettings,
}

impl Verifies for AssertionKeys {
    fn verifier(&self) -> &Verifier {
        self.verifier.verifier()
    }
    fn remote_source(&self, index: usize) -> Option<&RemoteSource> {
        self.source.as_ref().filter(|_| index == 0)
    }
    fn remote_settings(&self) -> &RemoteSettings {
        &self.settings
    }
}

/// One remote issuer's keys.
#[derive(Debug, Default)]
pub(crate) struct RemoteIssuer {
    pub(crate) state: KeyState,
    /// The JWKS URL (configured, or found by discovery).
    pub(crate) jwks_uri: Option<String>,
}

/// A verifier's state. Shared (`Rc`) with the calls in flight; each cell is borrowed only between two
/// awaits, never across one.
#[derive(Debug)]
pub(crate) struct Engine<C> {
    pub(crate) config: C,
    pub(crate) cache: RefCell<TokenCache>,
    pub(crate) crypto: WebCrypto,
    /// Remote key sets, per issuer index.
    pub(crate) remote: RefCell<HashMap<usize, RemoteIssuer>>,
    pub(crate) host: Host,
}

impl<C: Verifies> Engine<C> {
    /// `cache`: the verified-token cache's bounds (a `max_ttl_seconds` of 0 caches nothing). Its hash is
    /// keyed by 16 random bytes: std's `RandomState` has no randomness on wasm32.
    pub(crate) fn new(config: C, cache: CacheSettings, host: Host) -> Result<Engine<C>, Failure> {
        let seed = random16().map_err(Failure::Runtime)?;
        let crypto = WebCrypto::new().map_err(|e| {
            Failure::Runtime(format!(
                "this runtime has no usable crypto.subtle ({})",
                edge_auth_webcrypto::describe(&e)
            ))
        })?;
        Ok(Engine {
            config,
            cache: RefCell::new(cache.token_cache(seed)),
            crypto,
            remote: RefCell::new(HashMap::new()),
            host,
        })
    }

    /// Runs `f` on the remote issuer at `index` (made on first use).
    pub(crate) fn with_issuer<R>(&self, index: usize, f: impl FnOnce(&mut RemoteIssuer) -> R) -> R {
        f(self.remote.borrow_mut().entry(index).or_default())
    }

    /// An issuer's fetched keys changed: verified tokens and imported keys of the old set go.
    pub(crate) fn keys_changed(&self) {
        self.cache.borrow_mut().clear();
        self.crypto.clear();
    }
}
