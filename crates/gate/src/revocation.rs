//! Revocation at the gate, pure: which tokens are checked and against what, the refusal when the state
//! cannot be read, the back-channel logout request (form, issuer, records, answer) and the admin
//! endpoint's body. The adapter moves the bytes (the object's answers, the request body).

use edge_auth_core::{
    parse_json_object, GateConfig, LogoutError, LogoutToken, RevocationFail, RevocationIssuer,
    RevocationKind, RevocationRecord, RevocationView, RevokeOutcome, SeenLogout, UnixTime,
    VerifiedToken, VerifyError, MAX_RECORD_VALUE,
};
use serde_json::Value;

use crate::refusal::Refusal;

/// The issuer under revocation whose tokens `verified` is one of (`None`: not checked).
pub fn revocation_issuer<'c>(
    config: &'c GateConfig,
    verified: &VerifiedToken,
) -> Option<&'c RevocationIssuer> {
    let iss = verified.registered().iss.as_deref()?;
    config.revocation.as_ref()?.issuer(iss)
}

/// What the adapter could read of an issuer's revocation state.
#[derive(Debug, Clone, Copy)]
pub enum RevocationRead<'a> {
    /// A copy synced within `cache_seconds`.
    Current(&'a RevocationView),
    /// No fresh copy (the object did not answer): the last copy, if any.
    Unavailable(Option<&'a RevocationView>),
}

/// How the revocation check went, for the decision log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationCheck {
    /// The token's issuer is not under revocation.
    NotCovered,
    /// Checked against a fresh copy: not revoked.
    Passed,
    /// The state could not be read and `fail = "open"`: checked against the last copy (if any) only.
    FailedOpen,
}

impl RevocationCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationCheck::NotCovered => "none",
            RevocationCheck::Passed => "checked",
            RevocationCheck::FailedOpen => "failed_open",
        }
    }
}

/// Checks a verified token (fresh or from the verified-token cache) against its issuer's revocation
/// state. `read` is ignored for a token whose issuer is not under revocation.
pub fn check_revocation(
    config: &GateConfig,
    verified: &VerifiedToken,
    read: RevocationRead<'_>,
    now: UnixTime,
) -> Result<RevocationCheck, Refusal> {
    let Some(revocation) = &config.revocation else {
        return Ok(RevocationCheck::NotCovered);
    };
    if revocation_issuer(config, verified).is_none() {
        return Ok(RevocationCheck::NotCovered);
    }
    let check = |view: &RevocationView| {
        view.check(verified.registered(), verified.sid(), now.0)
            .map_err(|revoked| Refusal::Revoked(revoked.kind))
    };
    match (read, revocation.fail) {
        (RevocationRead::Current(view), _) => check(view).map(|()| RevocationCheck::Passed),
        (RevocationRead::Unavailable(_), RevocationFail::Closed) => {
            Err(Refusal::RevocationUnavailable)
        }
        (RevocationRead::Unavailable(last), RevocationFail::Open) => {
            last.map_or(Ok(()), check)?;
            Ok(RevocationCheck::FailedOpen)
        }
    }
}

/// Whether an admin token may revoke: the `revocation.admin` rule.
pub fn authorize_admin(config: &GateConfig, verified: &VerifiedToken) -> Result<(), Refusal> {
    let Some(admin) = config.revocation.as_ref().and_then(|r| r.admin.as_ref()) else {
        // The plan only routes here when the rule exists.
        return Err(Refusal::Internal);
    };
    let caller = edge_auth_core::Caller {
        scopes: verified.scopes(),
        roles: verified.roles(),
        claims: verified.claims(),
    };
    admin
        .authorize(verified.registered().iss.as_deref(), &caller, &[])
        .map_err(|denial| match denial {
            edge_auth_core::Denial::IssuerNotAllowed => Refusal::IssuerNotAllowed,
            edge_auth_core::Denial::Unmet(unmet) => Refusal::Forbidden(unmet),
        })
}

/// Reads the admin endpoint's body, `{"iss"?, "jti"|"sid"|"sub", "exp"?}`, into the record to store
/// and the issuer whose object stores it. `iss` may be left out when one issuer is under revocation;
/// `exp` (a `jti`'s token expiry) shortens the record's life, never lengthens it.
pub fn revoke_request<'c>(
    config: &'c GateConfig,
    body: &str,
    now: UnixTime,
) -> Result<(&'c RevocationIssuer, RevocationRecord), Refusal> {
    // Each refusal built where it happens, not cloned: `Refusal`'s `Clone` is 1.7 KB of wasm.
    let invalid = || Refusal::RevokeRequestInvalid;
    let revocation = config.revocation.as_ref().ok_or(Refusal::Internal)?;
    // The strict parser: a duplicate member is ambiguous, so it is refused.
    let object = parse_json_object(body.as_bytes()).map_err(|_| invalid())?;
    if object
        .keys()
        .any(|k| !matches!(k.as_str(), "iss" | "jti" | "sid" | "sub" | "exp"))
    {
        return Err(invalid());
    }
    let text = |name: &str| -> Result<Option<String>, Refusal> {
        match object.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_RECORD_VALUE => {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(Refusal::RevokeRequestInvalid),
        }
    };
    let issuer = match (text("iss")?, revocation.issuers.as_slice()) {
        (Some(iss), _) => revocation.issuer(&iss).ok_or_else(invalid)?,
        (None, [only]) => only,
        (None, _) => return Err(invalid()),
    };
    let mut given = [
        (RevocationKind::Jti, text("jti")?),
        (RevocationKind::Sid, text("sid")?),
        (RevocationKind::Sub, text("sub")?),
    ]
    .into_iter()
    .filter_map(|(kind, value)| value.map(|value| (kind, value)));
    let (Some((kind, value)), None) = (given.next(), given.next()) else {
        return Err(invalid());
    };
    let keep_until = now.0.saturating_add(issuer.keep_seconds);
    let until = match (kind, object.get("exp")) {
        (_, None) => keep_until,
        // Past the token's own `exp` (plus the leeway the time rules grant) it is refused anyway.
        (RevocationKind::Jti, Some(exp)) => {
            let exp = exp.as_u64().ok_or_else(invalid)?;
            keep_until.min(exp.saturating_add(issuer.leeway_seconds).saturating_add(1))
        }
        (_, Some(_)) => return Err(invalid()),
    };
    Ok((
        issuer,
        RevocationRecord {
            kind,
            iss: issuer.issuer.clone(),
            value,
            at: now.0,
            until,
        },
    ))
}

/// The admin endpoint's answer for a stored record.
pub fn revoked_body(record: &RevocationRecord) -> String {
    edge_auth_core::JsonObject::new()
        .raw("revoked", &record.to_json())
        .finish()
}

/// The object's answer to a revoke as the admin endpoint's outcome.
pub fn admin_outcome(outcome: RevokeOutcome) -> Result<(), Refusal> {
    match outcome {
        RevokeOutcome::Stored { .. } => Ok(()),
        RevokeOutcome::Full => Err(Refusal::RevocationStoreFull),
        // The admin endpoint sends no logout token: an object that says so is not ours to trust.
        RevokeOutcome::Replayed => Err(Refusal::Internal),
    }
}

/// Why a back-channel logout request is refused: every one is `400` with this code (OIDC Back-Channel
/// Logout 1.0 §2.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutRefusal {
    /// Not a form with exactly one `logout_token`.
    Form,
    /// The logout token failed parsing, issuer, key or signature checks.
    Token(VerifyError),
    /// The logout token's own rules (§2.6).
    Logout(LogoutError),
    /// The token's issuer does not take back-channel logout here.
    IssuerNotConfigured,
    /// The same logout token (`iss`, `jti`) was seen before.
    Replayed,
    /// The revocation object is full.
    StoreFull,
    /// The revocation object could not be reached.
    Unavailable,
}

impl LogoutRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            LogoutRefusal::Form => "logout_token_missing",
            LogoutRefusal::Token(e) => e.code(),
            LogoutRefusal::Logout(e) => e.code(),
            LogoutRefusal::IssuerNotConfigured => "logout_not_configured",
            LogoutRefusal::Replayed => "logout_token_replayed",
            LogoutRefusal::StoreFull => "revocation_store_full",
            LogoutRefusal::Unavailable => "revocation_unavailable",
        }
    }

    /// `(status, body)`: `400` with `{"error":"invalid_request","error_description":<code>}`.
    pub fn to_http(&self) -> (u16, String) {
        let body = edge_auth_core::JsonObject::new()
            .str("error", "invalid_request")
            .str("error_description", self.code())
            .finish();
        (400, body)
    }
}

/// The headers of every logout answer (§2.8: no caching).
pub const LOGOUT_HEADERS: [(&str, &str); 2] = [
    ("content-type", "application/json"),
    ("cache-control", "no-store"),
];

/// The `logout_token` of an `application/x-www-form-urlencoded` body (§2.5): exactly one, non-empty.
pub fn logout_token_from_form(
    content_type: Option<&str>,
    body: &str,
) -> Result<String, LogoutRefusal> {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(LogoutRefusal::Form);
    }
    let mut found = None;
    for pair in body.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(name).as_deref() != Some("logout_token") {
            continue;
        }
        if found.is_some() {
            return Err(LogoutRefusal::Form);
        }
        found = Some(form_decode(value).ok_or(LogoutRefusal::Form)?);
    }
    found
        .filter(|token| !token.is_empty())
        .ok_or(LogoutRefusal::Form)
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space); `None` on a malformed
/// escape or non-UTF-8 bytes.
fn form_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = char::from(bytes.next()?).to_digit(16)?;
                let lo = char::from(bytes.next()?).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// The client id a logout token from the issuer at configuration position `index` must name in its
/// `aud` (asked before the token's claims are checked).
pub fn logout_client(config: &GateConfig, index: usize) -> Result<&str, LogoutRefusal> {
    config
        .revocation
        .as_ref()
        .and_then(|r| r.issuer_at(index))
        .and_then(|i| i.logout_client_id.as_deref())
        .ok_or(LogoutRefusal::IssuerNotConfigured)
}

/// What a valid logout token revokes, and the replay record of the token itself: its `sid` when it has
/// one (that session ends, not the user's others), else every token of its `sub` issued up to now.
pub fn logout_records<'c>(
    config: &'c GateConfig,
    logout: &LogoutToken,
    now: UnixTime,
) -> Result<(&'c RevocationIssuer, RevocationRecord, SeenLogout), LogoutRefusal> {
    let issuer = config
        .revocation
        .as_ref()
        .and_then(|r| r.issuer(&logout.iss))
        .filter(|i| i.logout_client_id.is_some())
        .ok_or(LogoutRefusal::IssuerNotConfigured)?;
    let (kind, value) = match (&logout.sid, &logout.sub) {
        (Some(sid), _) => (RevocationKind::Sid, sid),
        (None, Some(sub)) => (RevocationKind::Sub, sub),
        (None, None) => return Err(LogoutRefusal::Logout(LogoutError::Subject)),
    };
    if value.len() > MAX_RECORD_VALUE || logout.jti.len() > MAX_RECORD_VALUE {
        return Err(LogoutRefusal::Logout(LogoutError::Subject));
    }
    let until = now.0.saturating_add(issuer.keep_seconds);
    let seen_until = u64::try_from(logout.exp)
        .unwrap_or(0)
        .saturating_add(1)
        .clamp(now.0.saturating_add(1), until);
    Ok((
        issuer,
        RevocationRecord {
            kind,
            iss: issuer.issuer.clone(),
            value: value.clone(),
            at: now.0,
            until,
        },
        SeenLogout {
            iss: issuer.issuer.clone(),
            jti: logout.jti.clone(),
            until: seen_until,
        },
    ))
}

/// The object's answer to a logout's revoke as the logout's outcome.
pub fn logout_outcome(outcome: RevokeOutcome) -> Result<(), LogoutRefusal> {
    match outcome {
        RevokeOutcome::Stored { .. } => Ok(()),
        RevokeOutcome::Replayed => Err(LogoutRefusal::Replayed),
        RevokeOutcome::Full => Err(LogoutRefusal::StoreFull),
    }
}
