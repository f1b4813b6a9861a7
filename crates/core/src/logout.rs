//! OIDC Back-Channel Logout 1.0 §2.6: the checks a logout token passes after its signature verified
//! with its issuer's keys (the same keys and algorithms as the issuer's access tokens, never the
//! access-token claim rules: the audience is the configured client id, the type `logout+jwt`).

use std::fmt;

use serde_json::Value;

use crate::claims::{ClaimRules, RegisteredClaims, UnixTime};
use crate::error::ClaimsError;
use crate::token::media_type_eq;
use crate::verifier::SignedToken;

/// The `events` member a logout token must carry (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The explicit type of a logout token (§2.4, RFC 8725 §3.11).
pub const LOGOUT_TYP: &str = "logout+jwt";

/// A logout token that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutToken {
    pub iss: String,
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

/// Why a signed logout token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutError {
    /// A registered claim's rule (`aud` = the client id, `iat`, `exp`, `jti`, types).
    Claims(ClaimsError),
    /// `typ` present and not `logout+jwt`.
    Typ,
    /// No `events` object with the back-channel logout member (an object).
    Events,
    /// A `nonce` claim (forbidden: it would let an ID token pass as a logout token).
    Nonce,
    /// Neither `sub` nor `sid`, or one of them not a string.
    Subject,
}

impl LogoutError {
    /// The stable code: the core's claim codes, else `logout_token_invalid`.
    pub fn code(&self) -> &'static str {
        match self {
            LogoutError::Claims(e) => e.code(),
            LogoutError::Typ | LogoutError::Events | LogoutError::Nonce | LogoutError::Subject => {
                "logout_token_invalid"
            }
        }
    }
}

impl fmt::Display for LogoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogoutError::Claims(e) => write!(f, "{e}"),
            LogoutError::Typ => f.write_str("typ is not logout+jwt"),
            LogoutError::Events => write!(f, "events has no {BACKCHANNEL_LOGOUT_EVENT} object"),
            LogoutError::Nonce => f.write_str("a logout token must not carry nonce"),
            LogoutError::Subject => f.write_str("neither sub nor sid (strings)"),
        }
    }
}

impl From<ClaimsError> for LogoutError {
    fn from(e: ClaimsError) -> LogoutError {
        LogoutError::Claims(e)
    }
}

impl SignedToken<'_> {
    /// Checks a logout token whose signature verified: `typ`, `iss` (already the issuer's, by exact
    /// match), `aud` containing `client_id`, `iat` and `exp` (the issuer's leeway), `jti`, `events`, no
    /// `nonce`, and `sub` and/or `sid`.
    pub fn check_logout(self, now: UnixTime, client_id: &str) -> Result<LogoutToken, LogoutError> {
        let (policy_rules, header, claims) = self.logout_parts();
        if let Some(typ) = header.typ() {
            if !media_type_eq(typ, LOGOUT_TYP) {
                return Err(LogoutError::Typ);
            }
        }
        let rules = ClaimRules {
            audiences: Some(vec![client_id.to_owned()]),
            leeway: policy_rules.leeway,
            require_exp: true,
            max_age: None,
            require_sub: false,
            required_claims: vec!["iat".into(), "jti".into()],
            typ: None,
        };
        let RegisteredClaims {
            iss,
            sub,
            iat,
            exp,
            jti,
            ..
        } = rules.check(claims, now)?;
        let events = claims.get("events").and_then(Value::as_object);
        if !events
            .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT))
            .is_some_and(Value::is_object)
        {
            return Err(LogoutError::Events);
        }
        if claims.contains_key("nonce") {
            return Err(LogoutError::Nonce);
        }
        let sid = match claims.get("sid") {
            None => None,
            Some(Value::String(sid)) if !sid.is_empty() => Some(sid.clone()),
            Some(_) => return Err(LogoutError::Subject),
        };
        if sid.is_none() && sub.as_deref().is_none_or(str::is_empty) {
            return Err(LogoutError::Subject);
        }
        let missing = |claim: &str| ClaimsError::Missing {
            claim: claim.into(),
        };
        Ok(LogoutToken {
            iss: iss.ok_or_else(|| missing("iss"))?,
            sub,
            sid,
            jti: jti.ok_or_else(|| missing("jti"))?,
            iat: iat.ok_or_else(|| missing("iat"))?,
            exp: exp.ok_or_else(|| missing("exp"))?,
        })
    }
}
