//! `edge-auth-core`: the pure, synchronous heart of edge-auth.
//!
//! Parsing, JWK/JWKS, algorithms, claims and issuer policies. It never reads a clock, the environment or
//! the network: time, keys and configuration are passed in, so the same code runs natively, in the
//! Worker and in the browser.
//!
//! ```
//! use edge_auth_core::{mint, Algorithm, IssuerPolicy, KeySet, Limits, MintOptions, SigningKey, UnixTime, Verifier};
//!
//! let key = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng)?;
//! let claims = serde_json::json!({"iss": "https://idp.example", "aud": "api", "exp": 2_000_000_000});
//! let token = mint(&key, claims.as_object().unwrap(), &MintOptions::default());
//!
//! let jwks = serde_json::json!({"keys": [key.public_key().to_jwk()]}).to_string();
//! let policy = IssuerPolicy::builder("https://idp.example", [Algorithm::EdDsa], KeySet::from_jwks_json(jwks.as_bytes())?)
//!     .audiences(["api"])
//!     .build()?;
//! let verifier = Verifier::new(vec![policy], Limits::default())?;
//!
//! let verified = verifier.verify(&token, UnixTime(1_700_000_000))?;
//! assert_eq!(verified.registered().aud, ["api"]);
//! assert_eq!(verifier.verify(&token, UnixTime(2_000_000_060)).unwrap_err().code(), "token_expired");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod absolute_url;
mod alg;
mod assertion;
mod b64;
mod backend;
mod cache;
mod claims;
mod config;
mod curve;
mod derive;
mod error;
mod fields;
mod heap;
mod hex;
mod inspect;
mod json;
mod jwk;
mod keyset;
mod logout;
mod path;
mod policy;
mod remote;
mod revocation;
mod sign;
mod token;
mod verifier;
mod web;

pub use absolute_url::{AbsoluteUrl, UrlError};
pub use alg::{AlgSet, Algorithm, Curve, KeyFamily};
pub use assertion::{
    assertion_signing_input, ath, htu, mint_assertion, verify_assertion, AssertionError,
    AssertionRequest, AssertionSettings, AssertionVerifier, Binding, ASSERTION_TYP,
    DEFAULT_ASSERTION_LEEWAY,
};
#[cfg(feature = "p384")]
pub use backend::Es384;
#[cfg(feature = "p521")]
pub use backend::Es512;
pub use backend::{RustCrypto, SignatureBackend, SignatureCheck};
pub use cache::{CacheGeneration, TokenCache, DEFAULT_MAX_BYTES, FREED_PER_PUT};
pub use claims::{RegisteredClaims, UnixTime};
pub use config::{
    read_remote_settings, realm_is_quotable, AssertionConfig, CacheSettings, ConfigError,
    ConfigErrors, DecisionLog, GateConfig, RemoteKeys, RemoteSource, RevocationConfig,
    RevocationFail, RevocationIssuer, SecretSource, VerifierConfig,
};
pub use derive::{DerivedKey, DECISION_LOG_INFO, DERIVE_SALT, SHARED_CACHE_INFO};
pub use error::{
    ClaimsError, ErrorCode, KeyError, KeyLoadError, ParseError, Part, SelectError, SignatureError,
    VerifyError, ERROR_CODES,
};
pub use fields::{Members, ReadField, Walk};
pub use hex::{hex, push_hex};
pub use inspect::{inspect, Inspection, Warning, WarningCode, MAX_INSPECT_BYTES};
pub use json::{parse_object as parse_json_object, push_json_str, JsonError, JsonObject};
pub use jwk::{Key, Pairing, SigningKey, RSA_MAX_BITS, RSA_MIN_BITS};
pub use keyset::{KeySet, Selection, SkippedKey, MAX_KEYS};
pub use logout::{LogoutError, LogoutToken, BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TYP};
pub use path::{normalize as normalize_path, normalize_with, NormalPath, PathError, PathRules};
pub use policy::{
    Auth, Caller, ClaimMapping, ClaimPath, ClaimRule, Condition, Denial, ExplainStep, HostPattern,
    Matched, NeedSet, ParamBinding, PathPattern, Requirement, Route, RouteTable, Unmet,
};
pub use remote::{
    check_url, discovery_jwks_uri, is_loopback_url, load_jwks, max_age, FetchTicket, KeyState,
    KidRefetch, Lookup, RemoteError, RemoteSettings,
};
pub use revocation::{
    read_revoke_answer, revoke_body, LogAnswer, RevocationKind, RevocationLog, RevocationRecord,
    RevocationView, RevokeOutcome, Revoked, SeenLogout, WireError, MAX_RECORD_VALUE,
};
pub use sign::{attach_signature, mint, signing_input, MintOptions};
pub use token::{decode_unverified, Header, Limits, PayloadKind, UntrustedToken, Unverified};
pub use verifier::{
    IssuerPolicy, IssuerPolicyBuilder, Pending, PendingSignature, PolicyError, Routed,
    SignatureVerified, SignatureVerifier, SignedToken, VerifiedToken, Verifier, DEFAULT_LEEWAY,
    MAX_LEEWAY,
};
pub use web::{
    is_safe_method, origin_of, CorsPolicy, CorsRefusal, CsrfFacts, CsrfPolicy, CsrfRefusal,
    Preflight,
};
