//! Verification as the Worker runs it (`src/verify.rs`), for every verifier of the package: the
//! verified-token cache in front, then the core with the issuer's keys (remote keys from [`crate::keys`],
//! with one bounded refetch for an unknown `kid`) and WebCrypto for RS*, PS*, ES256/384/512 and EdDSA
//! (HS* and ES256K in Rust).

use std::rc::Rc;
use std::sync::Arc;

use edge_auth_core::{CacheGeneration, SelectError, UnixTime, VerifiedToken, VerifyError};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::Failure;
use crate::host::wall_clock;
use crate::keys;
use crate::state::{Engine, Verifies};

/// The key set a verification used, as the token cache needs it.
struct KeysUsed {
    /// The cache's generation when the set was selected.
    generation: CacheGeneration,
    /// Until when the set may verify tokens (remote keys only), in the verification's time.
    usable_until: Option<u64>,
}

/// Verifies `token` at `now`, through the cache.
pub(crate) async fn verify<C: Verifies + 'static>(
    engine: &Rc<Engine<C>>,
    token: &str,
    now: UnixTime,
) -> Result<Arc<VerifiedToken>, Failure> {
    let cached = engine.cache.borrow_mut().get(token, now);
    if let Some(hit) = cached {
        // The signature and the other claims cannot have changed; the time rules are checked again.
        engine.config.verifier().recheck(&hit, now)?;
        return Ok(hit);
    }
    let (verified, used) = verify_uncached(engine, token, now).await?;
    // Not cached when the keys changed after they were selected, and never kept longer than the key set
    // that verified it stays usable.
    Ok(engine
        .cache
        .borrow_mut()
        .insert(token, verified, now, used.generation, used.usable_until))
}

async fn verify_uncached<C: Verifies + 'static>(
    engine: &Rc<Engine<C>>,
    token: &str,
    now: UnixTime,
) -> Result<(VerifiedToken, KeysUsed), Failure> {
    let routed = engine.config.verifier().route(token)?;
    let remote = routed.policy().is_remote().then(|| routed.issuer_index());
    let pending = if let Some(index) = remote {
        let mut keys = match keys::keys_for(engine, index).await {
            Ok(keys) => keys,
            Err(unavailable) => {
                return Err(Failure::Token {
                    error: VerifyError::Select(SelectError::KeysUnavailable),
                    retry_after: Some(unavailable.retry_after),
                    why: unavailable.why,
                })
            }
        };
        // A `kid` the set does not hold may be a rotation: one bounded refetch.
        if let Some(kid) = routed.kid() {
            if !keys.keys().iter().any(|k| k.kid() == Some(kid)) {
                if let Some(fresh) = keys::refetch_for_kid(engine, index).await {
                    keys = fresh;
                }
            }
        }
        routed.select_from(keys)?
    } else {
        routed.select()?
    };
    // Read now, with the set in hand: a refetch that replaces it from here on clears the cache, and this
    // verification is then not inserted. The set's usable life is in wall-clock seconds; a caller's own
    // `now` gets the same remaining life.
    let used = KeysUsed {
        generation: engine.cache.borrow().generation(),
        usable_until: remote
            .and_then(|index| keys::usable_until(engine, index))
            .map(|until| now.0.saturating_add(until.saturating_sub(wall_clock()))),
    };
    let outcomes = engine.crypto.check(&pending).await;
    let verified = pending.verify_signature(&outcomes)?.check_claims(now)?;
    Ok((verified, used))
}

/// A verified token as JS sees it: `{ header, claims, issuer, scopes, roles }`, serialized from borrows
/// (no copy of the claims).
#[derive(Serialize)]
pub(crate) struct Identity<'a> {
    header: &'a Map<String, Value>,
    claims: &'a Map<String, Value>,
    pub(crate) issuer: Option<&'a str>,
    scopes: &'a [String],
    roles: &'a [String],
}

pub(crate) fn identity(verified: &VerifiedToken) -> Identity<'_> {
    Identity {
        header: verified.header().raw(),
        claims: verified.claims(),
        issuer: verified.registered().iss.as_deref(),
        scopes: verified.scopes(),
        roles: verified.roles(),
    }
}

impl Identity<'_> {
    /// JSON text for JS (`JSON.parse` on the other side). Maps with string keys always serialize.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
