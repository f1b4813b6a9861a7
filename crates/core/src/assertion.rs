//! The signed assertion the Worker forwards to the origin: a compact JWS with `typ: edge-auth+jwt`, short
//! lived, bound to the request in the style of RFC 9449 (`htm`, `htu`, `ath`). The origin checks it with
//! [`AssertionVerifier`] (Rust) or any JWT library against the Worker's JWKS.

use serde_json::Value;

use crate::absolute_url::AbsoluteUrl;
use crate::alg::Algorithm;
use crate::b64;
pub use crate::claims::ath;
use crate::claims::UnixTime;
use crate::error::{ClaimsError, VerifyError};
use crate::json::JsonObject;
use crate::jwk::SigningKey;
use crate::keyset::KeySet;
use crate::sign::attach_signature;
use crate::token::Limits;
use crate::verifier::{IssuerPolicy, IssuerPolicyBuilder, PolicyError, VerifiedToken, Verifier};

/// The `typ` header of every assertion.
pub const ASSERTION_TYP: &str = "edge-auth+jwt";
/// Leeway the origin allows by default: assertions live for seconds, clocks are close.
pub const DEFAULT_ASSERTION_LEEWAY: u64 = 10;

/// What the configuration says about assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionSettings {
    pub issuer: String,
    pub audience: String,
    pub ttl_seconds: u64,
}

/// The request an assertion is minted for.
#[derive(Debug, Clone, Copy)]
pub struct AssertionRequest<'a> {
    /// The HTTP method, as received (methods are case-sensitive, RFC 9110 §9.1).
    pub method: &'a str,
    /// The public request URL, parsed; its query and fragment are not part of `htu`. An assertion is
    /// never minted for a URL with userinfo.
    pub url: &'a AbsoluteUrl,
    /// The caller's original access token, for `ath`.
    pub access_token: &'a str,
    pub now: UnixTime,
    /// 128 random bits from the adapter (the core draws no randomness).
    pub jti: [u8; 16],
}

/// `htu` (RFC 9449 §4.2): scheme, host and path of an absolute http(s) URL, without query or fragment,
/// with the scheme and host lower-cased and a default port removed, as [`AbsoluteUrl`] reads it. `None`
/// for anything else (relative URLs, other schemes, userinfo).
pub fn htu(url: &str) -> Option<String> {
    let url = AbsoluteUrl::parse(url).ok()?;
    (!url.has_userinfo()).then(|| url.htu())
}

/// Mints the assertion for a verified caller. `None` when the request URL has userinfo.
pub fn mint_assertion(
    key: &SigningKey,
    settings: &AssertionSettings,
    caller: &VerifiedToken,
    request: &AssertionRequest<'_>,
) -> Option<String> {
    let input = assertion_signing_input(key, settings, caller, request)?;
    let signature = key.sign(input.as_bytes());
    Some(attach_signature(input, &signature))
}

/// The assertion's signing input, for a signer outside the core (WebCrypto in the Worker); complete it
/// with [`attach_signature`](crate::attach_signature).
pub fn assertion_signing_input(
    key: &SigningKey,
    settings: &AssertionSettings,
    caller: &VerifiedToken,
    request: &AssertionRequest<'_>,
) -> Option<String> {
    if request.url.has_userinfo() {
        return None;
    }
    let htu = request.url.htu();
    let registered = caller.registered();
    // Written member by member in key order: the bytes serde_json gave for the same claims as a sorted
    // `Map` (tests/assertion.rs checks it against that), without building a map of values per request.
    let mut header = JsonObject::new().str("alg", key.algorithm().name());
    if let Some(kid) = key.kid() {
        header = header.str("kid", kid);
    }
    let header = header.str("typ", ASSERTION_TYP).finish();
    let mut claims = JsonObject::new()
        .str("ath", &caller.ath(request.access_token))
        .str("aud", &settings.audience)
        .uint("exp", request.now.0.saturating_add(settings.ttl_seconds))
        .str("htm", request.method)
        .str("htu", &htu)
        .uint("iat", request.now.0)
        .str("iss", &settings.issuer)
        .str("jti", &b64::encode_public(&request.jti));
    let roles = caller.roles();
    if !roles.is_empty() {
        claims = claims.str_array("roles", roles);
    }
    let scopes = caller.scopes();
    if !scopes.is_empty() {
        claims = claims.str("scope", &scopes.join(" "));
    }
    // The session, so that an origin can end its own session state when the edge revokes it.
    if let Some(sid) = caller.sid() {
        claims = claims.str("sid", sid);
    }
    if let Some(src_iss) = &registered.iss {
        claims = claims.str("src_iss", src_iss);
    }
    if let Some(sub) = &registered.sub {
        claims = claims.str("sub", sub);
    }
    let claims = claims.finish();
    let mut input = b64::encode_public(header.as_bytes());
    input.push('.');
    input.push_str(&b64::encode_public(claims.as_bytes()));
    Some(input)
}

/// What the origin expects the assertion to be bound to.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// When the origin also receives the access token (`forward_token = true`), check `ath` too.
    pub access_token: Option<&'a str>,
}

/// Verifies assertions at the origin: the Worker's keys, issuer and audience, `typ: edge-auth+jwt`,
/// `iat`/`exp`/`jti` present, and optionally the request binding.
#[derive(Debug)]
pub struct AssertionVerifier {
    verifier: Verifier,
}

impl AssertionVerifier {
    /// `keys` is the Worker's JWKS (`/.well-known/edge-auth/jwks.json`); each key's own `alg` is the only
    /// algorithm it verifies (EdDSA, ES256 or HS256).
    pub fn new(
        keys: KeySet,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        leeway: u64,
    ) -> Result<AssertionVerifier, PolicyError> {
        let algorithms: Vec<Algorithm> = keys.declared_algorithms().iter().collect();
        if algorithms.is_empty() {
            return Err(PolicyError {
                field: "jwks".into(),
                reason: "assertion keys must name their `alg`".into(),
            });
        }
        let policy = IssuerPolicy::builder(issuer, algorithms, keys);
        AssertionVerifier::with_policy(policy, audience, leeway)
    }

    /// An assertion verifier whose keys are fetched at run time (the Worker's JWKS URL): the adapter
    /// loads them ([`IssuerPolicy::adopt`]) and verifies through [`verifier`](Self::verifier) with
    /// [`Routed::select_from`](crate::Routed::select_from), then [`check_binding`](Self::check_binding).
    /// Published assertion keys are EdDSA or ES256 (an HS256 key is a shared secret, never published).
    pub fn remote(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        leeway: u64,
    ) -> Result<AssertionVerifier, PolicyError> {
        let policy = IssuerPolicy::builder_remote(issuer, [Algorithm::EdDsa, Algorithm::Es256]);
        AssertionVerifier::with_policy(policy, audience, leeway)
    }

    /// The assertion rules on top of an issuer policy: the audience, `typ`, the leeway and the claims
    /// every assertion carries.
    fn with_policy(
        policy: IssuerPolicyBuilder,
        audience: impl Into<String>,
        leeway: u64,
    ) -> Result<AssertionVerifier, PolicyError> {
        let policy = policy
            .audiences([audience.into()])
            .typ(ASSERTION_TYP)
            .leeway(leeway)
            .require_claims(["iat", "jti", "htm", "htu", "ath"])
            .build()?;
        Ok(AssertionVerifier {
            verifier: Verifier::new(vec![policy], Limits::default())?,
        })
    }

    /// The verifier of the assertion itself (keys, issuer, audience, `typ`, time, required claims), for
    /// adapters that check signatures outside the core (WebCrypto); follow it with
    /// [`check_binding`](Self::check_binding).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Verifies `token` at `now`, and its binding when one is given.
    pub fn verify(
        &self,
        token: &str,
        now: UnixTime,
        binding: Option<&Binding<'_>>,
    ) -> Result<VerifiedToken, VerifyError> {
        let verified = self.verifier.verify(token, now)?;
        if let Some(binding) = binding {
            AssertionVerifier::check_binding(&verified, binding)?;
        }
        Ok(verified)
    }

    /// Checks a verified assertion's request binding: `htm` equals the method, `htu` names the same
    /// URL (scheme, host and path; the query is not part of it), and, when the origin receives the
    /// access token too, `ath` is its hash (compared in constant time).
    pub fn check_binding(
        verified: &VerifiedToken,
        binding: &Binding<'_>,
    ) -> Result<(), VerifyError> {
        let claim = |name: &str| verified.claims().get(name).and_then(Value::as_str);
        if claim("htm") != Some(binding.method) {
            return Err(ClaimsError::BindingMismatch { claim: "htm" }.into());
        }
        let expected = htu(binding.url);
        if expected.is_none() || claim("htu").and_then(htu) != expected {
            return Err(ClaimsError::BindingMismatch { claim: "htu" }.into());
        }
        if let Some(access_token) = binding.access_token {
            let expected = ath(access_token);
            let matches = claim("ath").is_some_and(|actual| {
                subtle::ConstantTimeEq::ct_eq(actual.as_bytes(), expected.as_bytes()).into()
            });
            if !matches {
                return Err(ClaimsError::BindingMismatch { claim: "ath" }.into());
            }
        }
        Ok(())
    }
}

/// Verifies an assertion in one call (builds the verifier each time; keep an [`AssertionVerifier`] to
/// verify many).
pub fn verify_assertion(
    token: &str,
    keys: KeySet,
    issuer: &str,
    audience: &str,
    now: UnixTime,
    binding: Option<&Binding<'_>>,
) -> Result<VerifiedToken, AssertionError> {
    let verifier = AssertionVerifier::new(keys, issuer, audience, DEFAULT_ASSERTION_LEEWAY)
        .map_err(AssertionError::Config)?;
    verifier
        .verify(token, now, binding)
        .map_err(AssertionError::Refused)
}

/// Why [`verify_assertion`] failed: the caller's setup, or the assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionError {
    Config(PolicyError),
    Refused(VerifyError),
}

impl core::fmt::Display for AssertionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AssertionError::Config(e) => write!(f, "{e}"),
            AssertionError::Refused(e) => write!(f, "{}: {e}", e.code()),
        }
    }
}

impl std::error::Error for AssertionError {}
