//! Verification as the Worker runs it: the verified-token cache in front, then the core with the
//! issuer's keys (remote keys from [`crate::keys`]) and WebCrypto for asymmetric signatures; and the
//! assertion's signature.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use edge_auth_core::{
    attach_signature, CacheGeneration, GateConfig, LogoutToken, Routed, SelectError, SignedToken,
    UnixTime, VerifiedToken, VerifyError,
};
use edge_auth_gate::{self as gate, sign_in_rust, LogoutRefusal};
use edge_auth_webcrypto::uses_webcrypto;

use crate::isolate::Isolate;
use crate::keys::{self, KeysFrom};
use crate::runtime::ExecutionContext;

/// The verified-token cache's part in a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheUse {
    Hit,
    Miss,
}

impl CacheUse {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CacheUse::Hit => "hit",
            CacheUse::Miss => "miss",
        }
    }
}

/// How a verification went, for the decision log.
pub(crate) struct Sources {
    pub(crate) cache: CacheUse,
    /// For remote-keys issuers: where the keys came from.
    pub(crate) keys: Option<KeysFrom>,
    /// Seconds to announce in `Retry-After` when the keys are unavailable.
    pub(crate) retry_after: Option<u64>,
    /// How the revocation check went (`None`: not reached).
    pub(crate) revocation: Option<&'static str>,
}

/// Verification with the cache in front.
pub(crate) async fn verify(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    token: &str,
    now: UnixTime,
    ctx: Option<&ExecutionContext>,
) -> (Result<Arc<VerifiedToken>, VerifyError>, Sources) {
    let mut sources = Sources {
        cache: CacheUse::Hit,
        keys: None,
        retry_after: None,
        revocation: None,
    };
    let cached = isolate.borrow_mut().cache.get(token, now);
    if let Some(hit) = cached {
        return (config.verifier.recheck(&hit, now).map(|()| hit), sources);
    }
    sources.cache = CacheUse::Miss;
    let result = verify_uncached(isolate, config, token, now, ctx, &mut sources).await;
    // Not cached when the keys changed after they were selected (the cache was cleared in between),
    // and never kept longer than the key set that verified it stays usable.
    let result = result.map(|(verified, keys)| {
        isolate
            .borrow_mut()
            .cache
            .insert(token, verified, now, keys.generation, keys.usable_until)
    });
    (result, sources)
}

/// The key set a verification used, as the token cache needs it.
struct KeysUsed {
    /// The cache's generation when the set was selected.
    generation: CacheGeneration,
    /// Until when the set may verify tokens (remote keys only).
    usable_until: Option<u64>,
}

async fn verify_uncached(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    token: &str,
    now: UnixTime,
    ctx: Option<&ExecutionContext>,
    sources: &mut Sources,
) -> Result<(VerifiedToken, KeysUsed), VerifyError> {
    let routed = config.verifier.route(token)?;
    let (signed, used) = verify_signature(isolate, config, routed, ctx, sources).await?;
    Ok((signed.check_claims(now)?, used))
}

/// The signature check of a routed token: its issuer's keys (remote keys from [`crate::keys`], one
/// bounded refetch for an unknown `kid`), then WebCrypto or Rust.
async fn verify_signature<'c>(
    isolate: &Rc<RefCell<Isolate>>,
    config: &'c Rc<GateConfig>,
    routed: Routed<'c, '_>,
    ctx: Option<&ExecutionContext>,
    sources: &mut Sources,
) -> Result<(SignedToken<'c>, KeysUsed), VerifyError> {
    let remote = routed.policy().is_remote().then(|| routed.issuer_index());
    let pending = if let Some(index) = remote {
        let (mut keys, from) = match keys::keys_for(isolate, config, index, ctx).await {
            Ok(found) => found,
            Err(unavailable) => {
                sources.retry_after = Some(unavailable.retry_after);
                return Err(SelectError::KeysUnavailable.into());
            }
        };
        sources.keys = Some(from);
        // A `kid` the set does not hold may be a rotation: one bounded refetch.
        if let Some(kid) = routed.kid() {
            if !keys.keys().iter().any(|k| k.kid() == Some(kid)) {
                if let Some(fresh) = keys::refetch_for_kid(isolate, config, index, ctx).await {
                    keys = fresh;
                    sources.keys = Some(KeysFrom::FetchKid);
                }
            }
        }
        routed.select_from(keys)?
    } else {
        routed.select()?
    };
    // Read now, with the set in hand: a refetch that replaces it from here on clears the cache, and
    // this verification is then not inserted.
    let (used, crypto) = {
        let state = isolate.borrow();
        let used = KeysUsed {
            generation: state.cache.generation(),
            usable_until: remote.and_then(|index| keys::usable_until(&state, config, index)),
        };
        (used, Rc::clone(&state.crypto))
    };
    let outcomes = crypto.check(&pending).await;
    Ok((pending.verify_signature(&outcomes)?, used))
}

/// A back-channel logout token: its issuer (one that takes logout tokens), its signature with that
/// issuer's keys, then the logout token's own rules (the core's `check_logout`). Never cached.
pub(crate) async fn verify_logout(
    isolate: &Rc<RefCell<Isolate>>,
    config: &Rc<GateConfig>,
    token: &str,
    now: UnixTime,
    ctx: Option<&ExecutionContext>,
) -> Result<LogoutToken, LogoutRefusal> {
    let routed = config.verifier.route(token).map_err(LogoutRefusal::Token)?;
    let client_id = gate::logout_client(config, routed.issuer_index())?;
    let mut sources = Sources {
        cache: CacheUse::Miss,
        keys: None,
        retry_after: None,
        revocation: None,
    };
    let (signed, _) = verify_signature(isolate, config, routed, ctx, &mut sources)
        .await
        .map_err(LogoutRefusal::Token)?;
    signed
        .check_logout(now, client_id)
        .map_err(LogoutRefusal::Logout)
}

/// Signs the assertion: EdDSA and ES256 with WebCrypto (native code, the key imported once per
/// isolate), HS256 in Rust (cheaper than a round trip to JS). A WebCrypto failure is an error the
/// caller answers with 500 and logs: there is no silent second signer.
pub(crate) async fn sign_assertion(
    isolate: &Rc<RefCell<Isolate>>,
    config: &GateConfig,
    input: String,
) -> Result<String, String> {
    let key = &config.assertion.signing_key;
    if !uses_webcrypto(key.algorithm()) {
        // HS256, the one assertion key that is not a WebCrypto one.
        return sign_in_rust(config, input)
            .ok_or_else(|| format!("no Rust signer for a {} assertion key", key.algorithm()));
    }
    let crypto = Rc::clone(&isolate.borrow().crypto);
    match crypto.sign(key, input.as_bytes()).await {
        Ok(signature) => Ok(attach_signature(input, &signature)),
        Err(error) => Err(format!(
            "WebCrypto {} signing failed: {}",
            key.algorithm(),
            edge_auth_webcrypto::describe(&error)
        )),
    }
}
