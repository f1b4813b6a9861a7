//! Registered claims (RFC 7519 §4.1), typed strictly, and the time/audience/typ rules (RFC 8725).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::error::ClaimsError;
use crate::token::media_type_eq;

/// Seconds since the Unix epoch. The core never reads a clock: callers pass this in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(pub u64);

/// The registered claims, with their types checked. Numeric dates are rounded towards refusal:
/// `exp` down, `nbf` and `iat` up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisteredClaims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub aud: Vec<String>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    pub jti: Option<String>,
}

#[derive(Clone, Copy)]
enum Round {
    Down,
    Up,
}

fn string_claim(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<String>, ClaimsError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ClaimsError::Invalid {
            claim,
            expected: "a string",
        }),
    }
}

fn date_claim(
    claims: &Map<String, Value>,
    claim: &'static str,
    round: Round,
) -> Result<Option<i64>, ClaimsError> {
    let invalid = ClaimsError::Invalid {
        claim,
        expected: "a JSON number of seconds (NumericDate)",
    };
    let Some(value) = claims.get(claim) else {
        return Ok(None);
    };
    let Value::Number(n) = value else {
        return Err(invalid);
    };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    if n.is_u64() {
        // Larger than i64::MAX seconds: no real date.
        return Err(invalid);
    }
    let f = n.as_f64().ok_or_else(|| invalid.clone())?;
    let rounded = match round {
        Round::Down => f.floor(),
        Round::Up => f.ceil(),
    };
    // ±2^62 s is far beyond any real date and safely inside i64.
    const LIMIT: f64 = 4_611_686_018_427_387_904.0;
    if !rounded.is_finite() || rounded.abs() >= LIMIT {
        return Err(invalid);
    }
    // In range and integral after the checks above, so the conversion is exact.
    #[allow(clippy::cast_possible_truncation, reason = "range checked just above")]
    Ok(Some(rounded as i64))
}

impl RegisteredClaims {
    /// Extracts and type-checks the registered claims. A string `exp` is an error, not "no expiry".
    pub fn extract(claims: &Map<String, Value>) -> Result<RegisteredClaims, ClaimsError> {
        let aud = match claims.get("aud") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(ClaimsError::Invalid {
                        claim: "aud",
                        expected: "a string or an array of strings",
                    }),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(ClaimsError::Invalid {
                    claim: "aud",
                    expected: "a string or an array of strings",
                })
            }
        };
        Ok(RegisteredClaims {
            iss: string_claim(claims, "iss")?,
            sub: string_claim(claims, "sub")?,
            aud,
            exp: date_claim(claims, "exp", Round::Down)?,
            nbf: date_claim(claims, "nbf", Round::Up)?,
            iat: date_claim(claims, "iat", Round::Up)?,
            jti: string_claim(claims, "jti")?,
        })
    }
}

/// The claim rules of one issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimRules {
    /// `None` only through the CLI's explicit "audience not checked" mode.
    pub audiences: Option<Vec<String>>,
    pub leeway: u64,
    pub require_exp: bool,
    pub max_age: Option<u64>,
    pub require_sub: bool,
    pub required_claims: Vec<String>,
    pub typ: Option<String>,
}

impl ClaimRules {
    pub(crate) fn check_typ(&self, typ: Option<&str>) -> Result<(), ClaimsError> {
        match (&self.typ, typ) {
            (None, _) => Ok(()),
            (Some(expected), Some(actual)) if media_type_eq(actual, expected) => Ok(()),
            (Some(expected), _) => Err(ClaimsError::TypMismatch {
                expected: expected.clone(),
            }),
        }
    }

    pub(crate) fn check(
        &self,
        claims: &Map<String, Value>,
        now: UnixTime,
    ) -> Result<RegisteredClaims, ClaimsError> {
        let registered = RegisteredClaims::extract(claims)?;
        let now_s = i128::from(now.0);
        let leeway = i128::from(self.leeway);
        match registered.exp {
            Some(exp) if now_s >= i128::from(exp) + leeway => {
                return Err(ClaimsError::Expired {
                    exp,
                    now: now.0,
                    leeway: self.leeway,
                })
            }
            None if self.require_exp => {
                return Err(ClaimsError::Missing {
                    claim: "exp".into(),
                })
            }
            _ => {}
        }
        if let Some(nbf) = registered.nbf {
            if now_s + leeway < i128::from(nbf) {
                return Err(ClaimsError::NotYetValid {
                    nbf,
                    now: now.0,
                    leeway: self.leeway,
                });
            }
        }
        if let Some(iat) = registered.iat {
            if i128::from(iat) > now_s + leeway {
                return Err(ClaimsError::IssuedInFuture {
                    iat,
                    now: now.0,
                    leeway: self.leeway,
                });
            }
        }
        if let Some(max_age) = self.max_age {
            // Age is measured from `iat` rounded down, so a fractional `iat` never makes a token younger.
            let Some(iat) = date_claim(claims, "iat", Round::Down)? else {
                return Err(ClaimsError::Missing {
                    claim: "iat".into(),
                });
            };
            if now_s - i128::from(iat) > i128::from(max_age) + leeway {
                return Err(ClaimsError::TooOld {
                    iat,
                    now: now.0,
                    max_age,
                });
            }
        }
        if let Some(accepted) = &self.audiences {
            if !registered.aud.iter().any(|aud| accepted.contains(aud)) {
                return Err(ClaimsError::AudienceMismatch);
            }
        }
        if self.require_sub && registered.sub.is_none() {
            return Err(ClaimsError::Missing {
                claim: "sub".into(),
            });
        }
        for claim in &self.required_claims {
            if matches!(claims.get(claim), None | Some(Value::Null)) {
                return Err(ClaimsError::Missing {
                    claim: claim.clone(),
                });
            }
        }
        Ok(registered)
    }
}

/// `ath` (RFC 9449 §4.2): base64url SHA-256 of the access token's ASCII bytes. (Here, below both the
/// verifier, which keeps a verified token's `ath`, and the assertion, which carries it.)
pub fn ath(access_token: &str) -> String {
    b64::encode_public(&Sha256::digest(access_token.as_bytes()))
}
