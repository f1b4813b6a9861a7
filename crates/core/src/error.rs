//! One error enum per phase (parse, key selection, signature, claims) plus the load-time key errors.
//! Every variant has a stable snake_case [`code`](VerifyError::code); adapters map codes to the wire in
//! exactly one place each. Messages never contain key material, secrets or the token itself.

use core::fmt;

use crate::alg::Algorithm;
use crate::json::{quoted_short, JsonError};

/// The three parts of a compact JWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Header,
    Payload,
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        })
    }
}

/// Structure and header rules, checked before any key is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Longer than the configured limit; checked before any decoding.
    TooLarge { len: usize, max: usize },
    /// Not three dot-separated parts.
    PartCount { found: usize },
    /// Five parts: a JWE. Encrypted tokens are not accepted.
    Jwe,
    /// A JWS JSON serialization (starts with `{`); only the compact form is accepted.
    JsonSerialization,
    /// A part is not strict unpadded base64url.
    Base64 { part: Part },
    /// A part is not a JSON object with unique members.
    Json { part: Part, error: JsonError },
    /// A header member has the wrong JSON type.
    HeaderMemberType {
        member: &'static str,
        expected: &'static str,
    },
    /// No `alg` in the header.
    AlgMissing,
    /// `alg: none` in any casing.
    AlgNone,
    /// `jwk`, `jku`, `x5u` or `x5c`: keys embedded in or referenced by the token are never used.
    EmbeddedKey { member: &'static str },
    /// A `crit` entry this verifier does not implement (it implements none).
    CritUnsupported { name: String },
    /// `b64: false` (RFC 7797 unencoded payload).
    UnencodedPayload,
    /// `cty: JWT`: a nested JWT.
    NestedJwt,
    /// An `enc` member: a JWE header.
    EncryptedHeader,
}

/// Load-time key errors (JWK/JWKS). `member` names the JWK member at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    Json(JsonError),
    MissingMember {
        member: &'static str,
    },
    MemberType {
        member: &'static str,
        expected: &'static str,
    },
    Base64 {
        member: &'static str,
    },
    UnsupportedKeyType {
        kty: String,
    },
    UnsupportedCurve {
        crv: String,
    },
    UnknownAlgorithm {
        alg: String,
    },
    /// `use` is not `sig`, `key_ops` lacks the operation, or `alg` is an encryption algorithm.
    NotForSignatures {
        reason: String,
    },
    /// The key's `alg` does not fit its type or curve (for example `ES256` on an RSA key).
    AlgMismatch {
        alg: Algorithm,
        key: String,
    },
    RsaModulusTooSmall {
        bits: usize,
        min: usize,
    },
    RsaModulusTooLarge {
        bits: usize,
        max: usize,
    },
    RsaBadExponent,
    RsaInvalid,
    /// An EC coordinate that is not the full size for the curve (RFC 7518 §6.2.1.2).
    CoordinateLength {
        member: &'static str,
        expected: usize,
        found: usize,
    },
    /// The point is not on the named curve (or is the identity).
    PointNotOnCurve {
        crv: &'static str,
    },
    /// An Ed25519 public key that does not decode, or has small order.
    WeakEd25519,
    HmacTooShort {
        len: usize,
        min: usize,
    },
    /// A verification key carrying private material (`d`, `p`, …): the config holds a private key.
    PrivateMaterial {
        member: &'static str,
    },
    /// A signing key without its private part.
    NotPrivate,
    /// The private part does not match the public part.
    KeyMismatch,
    /// Multi-prime RSA (`oth`) is not supported.
    MultiPrimeRsa,
    /// The key can serve none of the allowed algorithms.
    NoAllowedAlgorithm {
        allowed: String,
    },
    /// A set mixes symmetric and asymmetric keys (RFC 8725 §3.1: never let the type be the token's choice).
    MixedSymmetry,
    /// Two usable keys share a `kid` and an algorithm, so selection would be ambiguous.
    DuplicateKid {
        kid: String,
    },
    /// No usable signature key in the set.
    NoUsableKey,
    TooManyKeys {
        max: usize,
    },
    /// A `keys` member that is missing or not an array.
    NotAKeySet,
}

/// A key error located in a set: `keys[2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLoadError {
    pub index: Option<usize>,
    pub error: KeyError,
}

/// Issuer and key selection, before the signature: the token's `iss` picks the issuer (only as a lookup
/// key), then its header is matched against that issuer's keys and allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectError {
    /// No issuer is configured for the token's `iss` (or the token has none).
    IssuerUnknown,
    /// The token's `iss` is not a string.
    IssuerNotString,
    /// The token's `alg` is unknown or not in the issuer's allowlist.
    AlgNotAllowed { alg: String },
    /// No key with this `kid` (or, without `kid`, no key) fits the algorithm.
    KeyNotFound { kid: Option<String>, alg: Algorithm },
    /// No `kid` (or one that names no key), and more compatible keys without a `kid` than the bound on
    /// untargeted tries.
    KeyAmbiguous {
        kid: Option<String>,
        candidates: usize,
        max: usize,
    },
    /// The issuer's keys come from a URL and no usable set is loaded (never fetched, or the provider has
    /// been failing for longer than the grace period). Adapters answer 503 with `Retry-After`.
    KeysUnavailable,
}

/// The signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// Wrong length for the algorithm and key (for ECDSA: not the fixed-size R‖S form).
    Length { expected: usize, found: usize },
    /// r or s out of range, or an encoding the algorithm refuses.
    Malformed,
    /// The signature does not verify.
    Invalid,
}

/// Claims and the `typ` header, checked only after the signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimsError {
    /// A registered claim has the wrong JSON type or an impossible value.
    Invalid {
        claim: &'static str,
        expected: &'static str,
    },
    Missing {
        claim: String,
    },
    Expired {
        exp: i64,
        now: u64,
        leeway: u64,
    },
    NotYetValid {
        nbf: i64,
        now: u64,
        leeway: u64,
    },
    IssuedInFuture {
        iat: i64,
        now: u64,
        leeway: u64,
    },
    TooOld {
        iat: i64,
        now: u64,
        max_age: u64,
    },
    AudienceMismatch,
    TypMismatch {
        expected: String,
    },
    /// An assertion's request binding (`htm`, `htu` or `ath`) does not match the request.
    BindingMismatch {
        claim: &'static str,
    },
}

/// Any reason a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    Parse(ParseError),
    Select(SelectError),
    Signature(SignatureError),
    Claims(ClaimsError),
}

/// Every code [`VerifyError::code`] can return. Adapters may rely on this list being stable.
pub const ERROR_CODES: &[&str] = &[
    "token_too_large",
    "token_malformed",
    "token_unsupported",
    "alg_not_allowed",
    "embedded_key_refused",
    "crit_unsupported",
    "key_not_found",
    "key_ambiguous",
    "signature_invalid",
    "issuer_unknown",
    "claim_invalid",
    "claim_missing",
    "token_expired",
    "token_not_yet_valid",
    "token_issued_in_future",
    "token_too_old",
    "audience_mismatch",
    "typ_mismatch",
    "binding_mismatch",
    "keys_unavailable",
];

impl ParseError {
    pub fn code(&self) -> &'static str {
        match self {
            ParseError::TooLarge { .. } => "token_too_large",
            ParseError::PartCount { .. }
            | ParseError::Base64 { .. }
            | ParseError::Json { .. }
            | ParseError::HeaderMemberType { .. }
            | ParseError::AlgMissing => "token_malformed",
            ParseError::Jwe
            | ParseError::JsonSerialization
            | ParseError::UnencodedPayload
            | ParseError::NestedJwt
            | ParseError::EncryptedHeader => "token_unsupported",
            ParseError::AlgNone => "alg_not_allowed",
            ParseError::EmbeddedKey { .. } => "embedded_key_refused",
            ParseError::CritUnsupported { .. } => "crit_unsupported",
        }
    }
}

impl SelectError {
    pub fn code(&self) -> &'static str {
        match self {
            SelectError::IssuerUnknown => "issuer_unknown",
            SelectError::IssuerNotString => "claim_invalid",
            SelectError::AlgNotAllowed { .. } => "alg_not_allowed",
            SelectError::KeyNotFound { .. } => "key_not_found",
            SelectError::KeyAmbiguous { .. } => "key_ambiguous",
            SelectError::KeysUnavailable => "keys_unavailable",
        }
    }
}

impl SignatureError {
    pub fn code(&self) -> &'static str {
        "signature_invalid"
    }
}

impl ClaimsError {
    pub fn code(&self) -> &'static str {
        match self {
            ClaimsError::Invalid { .. } => "claim_invalid",
            ClaimsError::Missing { .. } => "claim_missing",
            ClaimsError::Expired { .. } => "token_expired",
            ClaimsError::NotYetValid { .. } => "token_not_yet_valid",
            ClaimsError::IssuedInFuture { .. } => "token_issued_in_future",
            ClaimsError::TooOld { .. } => "token_too_old",
            ClaimsError::AudienceMismatch => "audience_mismatch",
            ClaimsError::TypMismatch { .. } => "typ_mismatch",
            ClaimsError::BindingMismatch { .. } => "binding_mismatch",
        }
    }
}

impl VerifyError {
    /// The stable snake_case code, one of [`ERROR_CODES`].
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Parse(e) => e.code(),
            VerifyError::Select(e) => e.code(),
            VerifyError::Signature(e) => e.code(),
            VerifyError::Claims(e) => e.code(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooLarge { len, max } => {
                write!(f, "token is {len} bytes; the limit is {max}")
            }
            ParseError::PartCount { found } => write!(
                f,
                "a compact JWS has 3 dot-separated parts; this has {found}"
            ),
            ParseError::Jwe => f.write_str("encrypted tokens (JWE) are not accepted"),
            ParseError::JsonSerialization => {
                f.write_str("JWS JSON serialization is not accepted; use the compact form")
            }
            ParseError::Base64 { part } => write!(f, "{part} is not strict unpadded base64url"),
            ParseError::Json { part, error } => write!(f, "{part}: {error}"),
            ParseError::HeaderMemberType { member, expected } => {
                write!(f, "header member `{member}` must be {expected}")
            }
            ParseError::AlgMissing => f.write_str("header has no `alg`"),
            ParseError::AlgNone => f.write_str("`alg: none` is never accepted"),
            ParseError::EmbeddedKey { member } => write!(
                f,
                "header member `{member}` embeds or references a key; such keys are never used"
            ),
            ParseError::CritUnsupported { name } => write!(
                f,
                "critical header extension {} is not supported",
                quoted_short(name)
            ),
            ParseError::UnencodedPayload => {
                f.write_str("unencoded payloads (`b64: false`) are not accepted")
            }
            ParseError::NestedJwt => f.write_str("nested JWTs (`cty: JWT`) are not accepted"),
            ParseError::EncryptedHeader => {
                f.write_str("header has `enc`: encrypted tokens (JWE) are not accepted")
            }
        }
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Json(e) => write!(f, "{e}"),
            KeyError::MissingMember { member } => write!(f, "{member}: required member missing"),
            KeyError::MemberType { member, expected } => write!(f, "{member}: must be {expected}"),
            KeyError::Base64 { member } => {
                write!(f, "{member}: not strict unpadded base64url")
            }
            KeyError::UnsupportedKeyType { kty } => {
                write!(f, "kty: unsupported key type {}", quoted_short(kty))
            }
            KeyError::UnsupportedCurve { crv } => {
                write!(f, "crv: unsupported curve {}", quoted_short(crv))
            }
            KeyError::UnknownAlgorithm { alg } => {
                write!(f, "alg: unknown algorithm {}", quoted_short(alg))
            }
            KeyError::NotForSignatures { reason } => {
                write!(f, "not a signature key: {reason}")
            }
            KeyError::AlgMismatch { alg, key } => {
                write!(f, "alg: {alg} cannot be used with {key}")
            }
            KeyError::RsaModulusTooSmall { bits, min } => {
                write!(f, "n: RSA modulus is {bits} bits; at least {min} required")
            }
            KeyError::RsaModulusTooLarge { bits, max } => {
                write!(f, "n: RSA modulus is {bits} bits; at most {max} supported")
            }
            KeyError::RsaBadExponent => f.write_str(
                "e: RSA public exponent must be odd and between 3 and 2^32 (65537 is usual)",
            ),
            KeyError::RsaInvalid => f.write_str("not a valid RSA key"),
            KeyError::CoordinateLength {
                member,
                expected,
                found,
            } => write!(
                f,
                "{member}: coordinate is {found} bytes; the curve needs exactly {expected}"
            ),
            KeyError::PointNotOnCurve { crv } => {
                write!(f, "x, y: the point is not on curve {crv}")
            }
            KeyError::WeakEd25519 => f.write_str("x: not a valid, full-order Ed25519 public key"),
            KeyError::HmacTooShort { len, min } => write!(
                f,
                "k: HMAC key is {len} bytes; at least {min} required (the hash output length)"
            ),
            KeyError::PrivateMaterial { member } => write!(
                f,
                "{member}: private key material in a verification key; give the public key only"
            ),
            KeyError::NotPrivate => f.write_str("d: a signing key needs its private part"),
            KeyError::KeyMismatch => f.write_str("the private part does not match the public part"),
            KeyError::MultiPrimeRsa => f.write_str("oth: multi-prime RSA keys are not supported"),
            KeyError::NoAllowedAlgorithm { allowed } => write!(
                f,
                "the key cannot be used with any allowed algorithm ({allowed})"
            ),
            KeyError::MixedSymmetry => f.write_str(
                "the key set mixes symmetric (oct) and asymmetric keys; use separate issuers",
            ),
            KeyError::DuplicateKid { kid } => write!(
                f,
                "kid: {} is used by two keys for the same algorithm",
                quoted_short(kid)
            ),
            KeyError::NoUsableKey => f.write_str("no usable signature verification key"),
            KeyError::TooManyKeys { max } => write!(f, "more than {max} keys"),
            KeyError::NotAKeySet => f.write_str("keys: a JWK Set needs a `keys` array"),
        }
    }
}

impl fmt::Display for KeyLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(index) => write!(f, "keys[{index}]: {}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectError::AlgNotAllowed { alg } => {
                write!(
                    f,
                    "algorithm {} is not allowed for this issuer",
                    quoted_short(alg)
                )
            }
            SelectError::KeyNotFound {
                kid: Some(kid),
                alg,
            } => write!(f, "no key with kid {} for {alg}", quoted_short(kid)),
            SelectError::KeyNotFound { kid: None, alg } => write!(f, "no key for {alg}"),
            SelectError::IssuerUnknown => f.write_str("no issuer is configured for the token's iss"),
            SelectError::KeysUnavailable => {
                f.write_str("the issuer's keys are not available (remote key set not loaded)")
            }
            SelectError::IssuerNotString => f.write_str("claim `iss` must be a string"),
            SelectError::KeyAmbiguous {
                kid: None,
                candidates,
                max,
            } => write!(
                f,
                "token has no kid and {candidates} keys fit its algorithm; at most {max} are tried"
            ),
            SelectError::KeyAmbiguous {
                kid: Some(kid),
                candidates,
                max,
            } => write!(
                f,
                "no key has kid {}, and {candidates} keys without a kid fit its algorithm; at most {max} are tried",
                quoted_short(kid)
            ),
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignatureError::Length { expected, found } => write!(
                f,
                "signature is {found} bytes; the algorithm and key need exactly {expected}"
            ),
            SignatureError::Malformed => f.write_str("signature is malformed for its algorithm"),
            SignatureError::Invalid => f.write_str("signature does not verify"),
        }
    }
}

impl fmt::Display for ClaimsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimsError::Invalid { claim, expected } => {
                write!(f, "claim `{claim}` must be {expected}")
            }
            ClaimsError::Missing { claim } => {
                write!(f, "required claim {} is missing", quoted_short(claim))
            }
            ClaimsError::Expired { exp, now, leeway } => {
                write!(f, "token expired at {exp} (now {now}, leeway {leeway} s)")
            }
            ClaimsError::NotYetValid { nbf, now, leeway } => write!(
                f,
                "token is not valid before {nbf} (now {now}, leeway {leeway} s)"
            ),
            ClaimsError::IssuedInFuture { iat, now, leeway } => write!(
                f,
                "token is issued in the future at {iat} (now {now}, leeway {leeway} s)"
            ),
            ClaimsError::TooOld { iat, now, max_age } => write!(
                f,
                "token issued at {iat} is older than the maximum age of {max_age} s (now {now})"
            ),
            ClaimsError::AudienceMismatch => {
                f.write_str("the token's aud names none of the accepted audiences")
            }
            ClaimsError::TypMismatch { expected } => {
                write!(f, "header typ must be {}", quoted_short(expected))
            }
            ClaimsError::BindingMismatch { claim } => {
                write!(f, "claim `{claim}` does not match this request")
            }
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Parse(e) => e.fmt(f),
            VerifyError::Select(e) => e.fmt(f),
            VerifyError::Signature(e) => e.fmt(f),
            VerifyError::Claims(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for VerifyError {}
impl std::error::Error for KeyLoadError {}

impl From<ParseError> for VerifyError {
    fn from(e: ParseError) -> Self {
        VerifyError::Parse(e)
    }
}
impl From<SelectError> for VerifyError {
    fn from(e: SelectError) -> Self {
        VerifyError::Select(e)
    }
}
impl From<SignatureError> for VerifyError {
    fn from(e: SignatureError) -> Self {
        VerifyError::Signature(e)
    }
}
impl From<ClaimsError> for VerifyError {
    fn from(e: ClaimsError) -> Self {
        VerifyError::Claims(e)
    }
}
impl From<KeyError> for KeyLoadError {
    fn from(error: KeyError) -> Self {
        KeyLoadError { index: None, error }
    }
}
impl std::error::Error for KeyError {}
impl std::error::Error for ParseError {}
impl std::error::Error for SelectError {}
impl std::error::Error for SignatureError {}
impl std::error::Error for ClaimsError {}
impl std::error::Error for JsonError {}
