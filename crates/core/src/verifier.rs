//! The verifier: issuer policies compiled once, then `parse → select key → signature → claims`.

use core::fmt;

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::alg::{AlgSet, Algorithm};
use crate::backend::{RustCrypto, SignatureBackend, SignatureCheck};
use crate::claims::{ClaimRules, RegisteredClaims, UnixTime};
use crate::error::{KeyLoadError, SelectError, SignatureError, VerifyError};
use crate::keyset::{KeySet, Selection};
use crate::policy::ClaimMapping;
use crate::token::{Header, Limits, PayloadKind, UntrustedToken};

/// Default clock leeway (seconds).
pub const DEFAULT_LEEWAY: u64 = 60;
/// The largest leeway a policy accepts: more would quietly switch the time checks off.
pub const MAX_LEEWAY: u64 = 3600;

/// Validates an algorithm allowlist: not empty, and not mixing HMAC with asymmetric algorithms.
fn allowlist(algorithms: impl IntoIterator<Item = Algorithm>) -> Result<AlgSet, PolicyError> {
    let algorithms: AlgSet = algorithms.into_iter().collect();
    if algorithms.is_empty() {
        return Err(policy_error("algorithms", "empty list; name at least one"));
    }
    let symmetric = algorithms.iter().any(Algorithm::is_symmetric);
    if symmetric && algorithms.iter().any(|a| !a.is_symmetric()) {
        return Err(policy_error(
            "algorithms",
            "mixes HMAC (HS*) and asymmetric algorithms; use separate issuers",
        ));
    }
    Ok(algorithms)
}

fn check_limits(limits: &Limits) -> Result<(), PolicyError> {
    if limits.max_untargeted_keys == 0 {
        return Err(policy_error(
            "limits.max_untargeted_keys",
            "must be at least 1",
        ));
    }
    if limits.max_token_bytes == 0 {
        return Err(policy_error("limits.max_token_bytes", "must be at least 1"));
    }
    Ok(())
}

/// A configuration mistake, naming the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub field: String,
    pub reason: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for PolicyError {}

fn policy_error(field: impl Into<String>, reason: impl Into<String>) -> PolicyError {
    PolicyError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Which `iss` a policy answers for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum IssuerMatch {
    Exact(String),
    /// Any `iss` (or none). Only through [`IssuerPolicyBuilder::dangerous_any_issuer`].
    Any,
}

/// One issuer: its keys, allowed algorithms and claim rules. Immutable once built.
#[derive(Debug)]
pub struct IssuerPolicy {
    issuer: IssuerMatch,
    algorithms: AlgSet,
    keys: KeySet,
    /// The keys come from a URL at run time ([`Routed::select_from`]); `keys` is empty.
    remote: bool,
    rules: ClaimRules,
    mapping: ClaimMapping,
}

/// Builds an [`IssuerPolicy`]. No security-relevant field has a silent default: the issuer, the
/// algorithms and the audiences are always stated (or explicitly waived with a `dangerous_` call).
#[derive(Debug)]
pub struct IssuerPolicyBuilder {
    issuer: IssuerMatch,
    algorithms: Vec<Algorithm>,
    keys: KeySet,
    audiences: Option<Vec<String>>,
    audiences_waived: bool,
    remote: bool,
    rules: ClaimRules,
    mapping: ClaimMapping,
}

impl IssuerPolicy {
    /// Starts a policy for tokens whose `iss` equals `issuer` exactly.
    pub fn builder(
        issuer: impl Into<String>,
        algorithms: impl IntoIterator<Item = Algorithm>,
        keys: KeySet,
    ) -> IssuerPolicyBuilder {
        IssuerPolicyBuilder {
            issuer: IssuerMatch::Exact(issuer.into()),
            algorithms: algorithms.into_iter().collect(),
            keys,
            audiences: None,
            audiences_waived: false,
            remote: false,
            rules: ClaimRules {
                audiences: None,
                leeway: DEFAULT_LEEWAY,
                require_exp: true,
                max_age: None,
                require_sub: false,
                required_claims: Vec::new(),
                typ: None,
            },
            mapping: ClaimMapping::default(),
        }
    }

    /// The exact issuer this policy answers for (`None` for the CLI's any-issuer mode).
    pub fn issuer(&self) -> Option<&str> {
        match &self.issuer {
            IssuerMatch::Exact(s) => Some(s),
            IssuerMatch::Any => None,
        }
    }

    pub fn algorithms(&self) -> AlgSet {
        self.algorithms
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Starts a policy whose keys are fetched at run time (a JWKS URL or OIDC discovery); the adapter
    /// loads them with [`adopt`](Self::adopt) and verifies with [`Routed::select_from`].
    pub fn builder_remote(
        issuer: impl Into<String>,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> IssuerPolicyBuilder {
        let mut builder = IssuerPolicy::builder(issuer, algorithms, KeySet::empty());
        builder.remote = true;
        builder
    }

    /// Whether the keys come from a URL.
    pub fn is_remote(&self) -> bool {
        self.remote
    }

    /// A fetched key set, restricted to this issuer's algorithms (keys that fit none are skipped; a set
    /// left with no key is an error).
    pub fn adopt(&self, keys: KeySet) -> Result<KeySet, KeyLoadError> {
        keys.restrict(self.algorithms)
    }
}

impl IssuerPolicyBuilder {
    /// Accepted audiences: the token's `aud` must contain at least one.
    #[must_use]
    pub fn audiences(mut self, audiences: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.audiences = Some(audiences.into_iter().map(Into::into).collect());
        self
    }

    /// Do not check `aud` at all. For development tools only.
    #[must_use]
    pub fn dangerous_any_audience(mut self) -> Self {
        self.audiences_waived = true;
        self
    }

    /// Accept any `iss`. For development tools only; a [`Verifier`] with such a policy holds no other.
    #[must_use]
    pub fn dangerous_any_issuer(mut self) -> Self {
        self.issuer = IssuerMatch::Any;
        self
    }

    /// Clock leeway in seconds for `exp`, `nbf`, `iat` (default 60, at most [`MAX_LEEWAY`]).
    #[must_use]
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.rules.leeway = seconds;
        self
    }

    /// Accept tokens without `exp` (required by default).
    #[must_use]
    pub fn exp_optional(mut self) -> Self {
        self.rules.require_exp = false;
        self
    }

    /// Refuse tokens issued more than `seconds` ago (then `iat` is required).
    #[must_use]
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.rules.max_age = Some(seconds);
        self
    }

    #[must_use]
    pub fn require_sub(mut self) -> Self {
        self.rules.require_sub = true;
        self
    }

    /// Claims that must be present (and not null).
    #[must_use]
    pub fn require_claims(mut self, claims: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.rules
            .required_claims
            .extend(claims.into_iter().map(Into::into));
        self
    }

    /// Where this issuer's tokens carry scopes and roles (default: `scope`, `scp`; `roles`).
    #[must_use]
    pub fn claim_mapping(mut self, mapping: ClaimMapping) -> Self {
        self.mapping = mapping;
        self
    }

    /// A required `typ` header (for example `at+jwt`, RFC 9068), compared case-insensitively with any
    /// `application/` prefix ignored.
    #[must_use]
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.rules.typ = Some(typ.into());
        self
    }

    /// Validates and compiles the policy.
    pub fn build(self) -> Result<IssuerPolicy, PolicyError> {
        if let IssuerMatch::Exact(issuer) = &self.issuer {
            if issuer.is_empty() {
                return Err(policy_error("issuer", "must not be empty"));
            }
        }
        let algorithms = allowlist(self.algorithms)?;
        if self.rules.leeway > MAX_LEEWAY {
            return Err(policy_error(
                "leeway_seconds",
                format!(
                    "{} is more than the maximum of {MAX_LEEWAY}",
                    self.rules.leeway
                ),
            ));
        }
        let mut rules = self.rules;
        rules.audiences = match (self.audiences, self.audiences_waived) {
            (Some(list), _) if list.iter().any(String::is_empty) => {
                return Err(policy_error("audiences", "contains an empty string"))
            }
            (Some(list), _) if !list.is_empty() => Some(list),
            (_, true) => None,
            (Some(_), false) => return Err(policy_error("audiences", "empty list")),
            (None, false) => {
                return Err(policy_error(
                    "audiences",
                    "missing: name the accepted audiences",
                ))
            }
        };
        if let Some(typ) = &rules.typ {
            if typ.is_empty() {
                return Err(policy_error("typ", "must not be empty"));
            }
        }
        let keys = if self.remote {
            self.keys
        } else {
            self.keys
                .restrict(algorithms)
                .map_err(|e: KeyLoadError| policy_error("jwks", e.to_string()))?
        };
        Ok(IssuerPolicy {
            issuer: self.issuer,
            algorithms,
            keys,
            remote: self.remote,
            rules,
            mapping: self.mapping,
        })
    }
}

/// Verifies tokens from one or more issuers. Build once; share immutably.
#[derive(Debug)]
pub struct Verifier {
    issuers: Vec<IssuerPolicy>,
    limits: Limits,
}

impl Verifier {
    /// The issuer policies, in configuration order.
    pub fn issuers(&self) -> impl Iterator<Item = &IssuerPolicy> {
        self.issuers.iter()
    }

    pub fn new(issuers: Vec<IssuerPolicy>, limits: Limits) -> Result<Verifier, PolicyError> {
        if issuers.is_empty() {
            return Err(policy_error("issuers", "empty list"));
        }
        let any = issuers.iter().any(|p| p.issuer == IssuerMatch::Any);
        if any && issuers.len() > 1 {
            return Err(policy_error(
                "issuers",
                "an any-issuer policy cannot be combined with others",
            ));
        }
        for (i, policy) in issuers.iter().enumerate() {
            if let Some(j) = issuers
                .iter()
                .skip(i + 1)
                .position(|p| p.issuer == policy.issuer)
            {
                return Err(policy_error(
                    format!("issuers[{}].issuer", i + 1 + j),
                    format!("configured twice (also issuers[{i}])"),
                ));
            }
        }
        check_limits(&limits)?;
        Ok(Verifier { issuers, limits })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The policy for an `iss` (exact match, or the any-issuer policy).
    fn policy_for(&self, iss: Option<&str>) -> Result<&IssuerPolicy, SelectError> {
        self.index_for(iss)
            .and_then(|i| self.issuers.get(i).ok_or(SelectError::IssuerUnknown))
    }

    /// The issuer policy at a configuration position.
    pub fn issuer_at(&self, index: usize) -> Option<&IssuerPolicy> {
        self.issuers.get(index)
    }

    /// Re-checks a cached verification at `now`: the issuer's time rules (`exp`, `nbf`, `iat`, maximum
    /// age) with its leeway. The signature and the other claims cannot have changed.
    pub fn recheck(&self, verified: &VerifiedToken, now: UnixTime) -> Result<(), VerifyError> {
        let policy = self.policy_for(verified.registered.iss.as_deref())?;
        policy.rules.check(&verified.claims, now)?;
        Ok(())
    }

    /// Full verification with the native backend.
    pub fn verify(&self, token: &str, now: UnixTime) -> Result<VerifiedToken, VerifyError> {
        self.verify_with(token, now, &RustCrypto)
    }

    /// Full verification with a given signature backend.
    pub fn verify_with(
        &self,
        token: &str,
        now: UnixTime,
        backend: &dyn SignatureBackend,
    ) -> Result<VerifiedToken, VerifyError> {
        self.begin(token)?
            .verify_signature(backend)?
            .check_claims(now)
    }

    /// Parses the token, picks the issuer by its exact `iss`, and selects the candidate keys. Nothing is
    /// trusted yet: the `iss` used here is only a lookup key, confirmed by the signature.
    pub fn begin<'v, 't>(&'v self, token: &'t str) -> Result<Pending<'v, 't>, VerifyError> {
        self.route(token)?.select()
    }

    /// The first half of [`begin`](Self::begin): parse, and find the issuer policy by exact `iss`. For
    /// an issuer whose keys come from a URL, the adapter then loads them and calls
    /// [`Routed::select_from`].
    pub fn route<'v, 't>(&'v self, token: &'t str) -> Result<Routed<'v, 't>, VerifyError> {
        let token = UntrustedToken::parse(token, &self.limits, PayloadKind::JwtClaims)?;
        let iss = match token.claims().and_then(|c| c.get("iss")) {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(SelectError::IssuerNotString.into()),
        };
        let index = self.index_for(iss)?;
        let policy = self.issuers.get(index).ok_or(SelectError::IssuerUnknown)?;
        Ok(Routed {
            policy,
            index,
            token,
            limits: &self.limits,
        })
    }

    fn index_for(&self, iss: Option<&str>) -> Result<usize, SelectError> {
        self.issuers
            .iter()
            .position(|p| match &p.issuer {
                IssuerMatch::Any => true,
                IssuerMatch::Exact(expected) => Some(expected.as_str()) == iss,
            })
            .ok_or(SelectError::IssuerUnknown)
    }
}

/// A parsed token and its issuer policy, before key selection.
#[derive(Debug)]
pub struct Routed<'v, 't> {
    policy: &'v IssuerPolicy,
    index: usize,
    token: UntrustedToken<'t>,
    limits: &'v Limits,
}

impl<'v, 't> Routed<'v, 't> {
    /// The issuer's position in the configuration.
    pub fn issuer_index(&self) -> usize {
        self.index
    }

    pub fn policy(&self) -> &'v IssuerPolicy {
        self.policy
    }

    /// The token's `kid` (untrusted; a lookup key).
    pub fn kid(&self) -> Option<&str> {
        self.token.header().kid()
    }

    /// Selects keys from the policy's own (inline) set. A remote-keys policy has none:
    /// `keys_unavailable`.
    pub fn select(self) -> Result<Pending<'v, 't>, VerifyError> {
        if self.policy.remote {
            return Err(SelectError::KeysUnavailable.into());
        }
        let selection =
            self.policy
                .keys
                .select(self.token.header(), self.policy.algorithms, self.limits)?;
        Ok(Pending {
            policy: self.policy,
            token: self.token,
            selection,
            keys: SetRef::Policy(&self.policy.keys),
        })
    }

    /// Selects keys from a set fetched for this issuer (already [`IssuerPolicy::adopt`]ed).
    pub fn select_from(self, keys: Arc<KeySet>) -> Result<Pending<'v, 't>, VerifyError> {
        let selection = keys.select(self.token.header(), self.policy.algorithms, self.limits)?;
        Ok(Pending {
            policy: self.policy,
            token: self.token,
            selection,
            keys: SetRef::Fetched(keys),
        })
    }
}

/// The key set a verification selected from.
#[derive(Debug)]
enum SetRef<'v> {
    Policy(&'v KeySet),
    Fetched(Arc<KeySet>),
}

impl SetRef<'_> {
    fn get(&self) -> &KeySet {
        match self {
            SetRef::Policy(keys) => keys,
            SetRef::Fetched(keys) => keys,
        }
    }
}

/// A parsed token with its issuer and candidate keys, waiting for its signature check.
#[derive(Debug)]
pub struct Pending<'v, 't> {
    policy: &'v IssuerPolicy,
    token: UntrustedToken<'t>,
    selection: Selection,
    keys: SetRef<'v>,
}

impl<'v> Pending<'v, '_> {
    /// The signature checks to run, in order; the first that passes wins.
    pub fn checks(&self) -> impl Iterator<Item = SignatureCheck<'_>> {
        checks(self.keys.get(), &self.selection, &self.token)
    }

    pub fn policy(&self) -> &'v IssuerPolicy {
        self.policy
    }

    /// The fetched key set the checks come from (`None` for the policy's inline keys).
    pub fn fetched_keys(&self) -> Option<Arc<KeySet>> {
        match &self.keys {
            SetRef::Fetched(keys) => Some(Arc::clone(keys)),
            SetRef::Policy(_) => None,
        }
    }

    /// Runs the checks on `backend`.
    pub fn verify_signature(
        self,
        backend: &dyn SignatureBackend,
    ) -> Result<SignedToken<'v>, VerifyError> {
        let (verified_by, error) = first_passing(self.checks(), backend);
        let Some(kid) = verified_by else {
            return Err(error.into());
        };
        let alg = self.selection.alg;
        let (header, _, claims) = self.token.into_parts();
        Ok(SignedToken {
            policy: self.policy,
            header,
            claims: claims.unwrap_or_default(),
            alg,
            kid,
        })
    }
}

/// The checks for the selected candidate keys, in order.
fn checks<'a>(
    keys: &'a KeySet,
    selection: &'a Selection,
    token: &'a UntrustedToken<'_>,
) -> impl Iterator<Item = SignatureCheck<'a>> {
    selection
        .candidates
        .iter()
        .filter_map(|&i| keys.keys().get(i))
        .map(|key| SignatureCheck {
            alg: selection.alg,
            key,
            signing_input: token.signing_input(),
            signature: token.signature(),
        })
}

/// Runs checks until one passes: `(Some(kid of the key), _)` or `(None, the error to report)`.
fn first_passing<'a>(
    checks: impl Iterator<Item = SignatureCheck<'a>>,
    backend: &dyn SignatureBackend,
) -> (Option<Option<String>>, SignatureError) {
    let mut error = SignatureError::Invalid;
    let mut tried = 0usize;
    for check in checks {
        tried += 1;
        // The exact-length rule (fixed-size R‖S for ECDSA, modulus length for RSA) belongs to the core,
        // not to each backend: no backend ever sees a signature of the wrong length.
        let expected = check.expected_len();
        if expected != Some(check.signature.len()) {
            error = SignatureError::Length {
                expected: expected.unwrap_or(0),
                found: check.signature.len(),
            };
            continue;
        }
        match backend.verify(&check) {
            Ok(()) => return (Some(check.key.kid().map(str::to_owned)), error),
            Err(e) => error = e,
        }
    }
    if tried > 1 {
        // Several keys tried: their individual reasons mean nothing to the caller.
        error = SignatureError::Invalid;
    }
    (None, error)
}

/// A token whose signature verified, before its claims are checked.
#[derive(Debug)]
pub struct SignedToken<'v> {
    policy: &'v IssuerPolicy,
    header: Header,
    claims: Map<String, Value>,
    alg: Algorithm,
    kid: Option<String>,
}

impl SignedToken<'_> {
    /// The issuer's claim rules, the header and the claims, for the logout-token check.
    pub(crate) fn logout_parts(&self) -> (&ClaimRules, &Header, &Map<String, Value>) {
        (&self.policy.rules, &self.header, &self.claims)
    }

    /// Checks `typ` and the claims against the issuer's rules at `now`.
    pub fn check_claims(self, now: UnixTime) -> Result<VerifiedToken, VerifyError> {
        let rules = &self.policy.rules;
        rules.check_typ(self.header.typ())?;
        let registered = rules.check(&self.claims, now)?;
        let mapping = &self.policy.mapping;
        Ok(VerifiedToken {
            scopes: mapping.scopes(&self.claims),
            roles: mapping.roles(&self.claims),
            header: self.header,
            claims: self.claims,
            registered,
            alg: self.alg,
            key_id: self.kid,
            ath: OnceLock::new(),
        })
    }
}

/// A token that passed every check. The only way to get one is [`Verifier::verify`] (or its parts).
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    header: Header,
    claims: Map<String, Value>,
    registered: RegisteredClaims,
    alg: Algorithm,
    key_id: Option<String>,
    scopes: Vec<String>,
    roles: Vec<String>,
    /// `ath` of the token, kept after the first assertion minted for it (see [`VerifiedToken::ath`]).
    ath: OnceLock<AthMemo>,
}

/// A token's `ath` and the token it was computed from.
#[derive(Clone)]
struct AthMemo {
    token: Box<str>,
    ath: String,
}

impl fmt::Debug for AthMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the token (it is a bearer credential), not even in debug output.
        f.write_str("AthMemo(..)")
    }
}

impl VerifiedToken {
    /// `ath` (RFC 9449 §4.2: base64url SHA-256) of `access_token`, the token this was verified from.
    /// Computed on the first call and kept with a copy of the token, so that a token served from the
    /// verified-token cache is hashed once rather than on every request (the copy costs a token's
    /// length per cache entry that minted an assertion). Any other token gets its own hash: the kept
    /// one is given back only for a byte-for-byte equal token.
    pub fn ath(&self, access_token: &str) -> Cow<'_, str> {
        let memo = self.ath.get_or_init(|| AthMemo {
            token: access_token.into(),
            ath: crate::claims::ath(access_token),
        });
        if *memo.token == *access_token {
            Cow::Borrowed(&memo.ath)
        } else {
            Cow::Owned(crate::claims::ath(access_token))
        }
    }

    /// An over-estimate of the heap bytes this holds, including the copy of the token and the hash
    /// that [`ath`](Self::ath) keeps once called (`token_len`: the token's length), and its own
    /// allocation behind an `Arc`. The verified-token cache bounds its memory with it.
    pub fn held_bytes(&self, token_len: usize) -> usize {
        use crate::heap::{map, optional, strings, PER_ALLOCATION};
        let (header, registered) = (&self.header, &self.registered);
        std::mem::size_of::<Self>()
            + 2 * std::mem::size_of::<usize>()
            + map(&header.raw)
            + optional(Some(&header.alg))
            + optional(header.kid.as_ref())
            + optional(header.typ.as_ref())
            + map(&self.claims)
            + optional(registered.iss.as_ref())
            + optional(registered.sub.as_ref())
            + optional(registered.jti.as_ref())
            + strings(&registered.aud, registered.aud.capacity())
            + optional(self.key_id.as_ref())
            + strings(&self.scopes, self.scopes.capacity())
            + strings(&self.roles, self.roles.capacity())
            // The `ath` memo: the token and its 43-character hash.
            + token_len
            + 43
            + 3 * PER_ALLOCATION
    }

    /// The caller's scopes, from the issuer's `scope_claims`, without duplicates.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// The caller's roles, from the issuer's `role_claims`, without duplicates.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }
    pub fn header(&self) -> &Header {
        &self.header
    }
    /// All claims (sorted by name).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
    /// The OIDC session id (`sid`), when the token has one as a string.
    pub fn sid(&self) -> Option<&str> {
        self.claims.get("sid").and_then(Value::as_str)
    }
    pub fn registered(&self) -> &RegisteredClaims {
        &self.registered
    }
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
    /// The `kid` of the key that verified the signature.
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }
}

/// Signature-only verification: structure, header rules, key selection and signature — no claims, and
/// any payload bytes.
#[derive(Debug)]
pub struct SignatureVerifier {
    keys: KeySet,
    algorithms: AlgSet,
    limits: Limits,
}

/// A token whose signature verified; its payload is whatever bytes it carries.
#[derive(Debug, Clone)]
pub struct SignatureVerified {
    pub header: Header,
    pub payload: Vec<u8>,
    pub alg: Algorithm,
    pub key_id: Option<String>,
}

impl SignatureVerifier {
    pub fn new(
        keys: KeySet,
        algorithms: impl IntoIterator<Item = Algorithm>,
        limits: Limits,
    ) -> Result<SignatureVerifier, PolicyError> {
        let algorithms = allowlist(algorithms)?;
        check_limits(&limits)?;
        let keys = keys
            .restrict(algorithms)
            .map_err(|e| policy_error("jwks", e.to_string()))?;
        Ok(SignatureVerifier {
            keys,
            algorithms,
            limits,
        })
    }

    pub fn verify(
        &self,
        token: &str,
        backend: &dyn SignatureBackend,
    ) -> Result<SignatureVerified, VerifyError> {
        self.begin(token)?.verify_signature(backend)
    }

    /// Parses the token and selects the candidate keys; the signature is checked by
    /// [`PendingSignature::verify_signature`] (with an async backend, run
    /// [`PendingSignature::checks`] outside the core first, as for [`Pending`]).
    pub fn begin<'v, 't>(
        &'v self,
        token: &'t str,
    ) -> Result<PendingSignature<'v, 't>, VerifyError> {
        let token = UntrustedToken::parse(token, &self.limits, PayloadKind::Opaque)?;
        let selection = self
            .keys
            .select(token.header(), self.algorithms, &self.limits)?;
        Ok(PendingSignature {
            keys: &self.keys,
            token,
            selection,
        })
    }
}

/// A signature-only verification waiting for its signature check ([`SignatureVerifier::begin`]).
#[derive(Debug)]
pub struct PendingSignature<'v, 't> {
    keys: &'v KeySet,
    token: UntrustedToken<'t>,
    selection: Selection,
}

impl PendingSignature<'_, '_> {
    /// The signature checks to run, in order; the first that passes wins.
    pub fn checks(&self) -> impl Iterator<Item = SignatureCheck<'_>> {
        checks(self.keys, &self.selection, &self.token)
    }

    /// Runs the checks on `backend`.
    pub fn verify_signature(
        self,
        backend: &dyn SignatureBackend,
    ) -> Result<SignatureVerified, VerifyError> {
        let (verified_by, error) = first_passing(self.checks(), backend);
        let Some(key_id) = verified_by else {
            return Err(error.into());
        };
        let alg = self.selection.alg;
        let (header, payload, _) = self.token.into_parts();
        Ok(SignatureVerified {
            header,
            payload,
            alg,
            key_id,
        })
    }
}
