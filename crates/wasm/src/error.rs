//! The one place that maps refusals and mistakes to JS errors, by matching the core's [`ErrorCode`] and
//! the gate's [`Refusal`] (a new variant does not compile here until someone decides its JS form).
//!
//! What reaches JS is a plain object `{ edgeAuthError: true, name, code, message, retryAfter? }`; `js/api.js`
//! turns it into an `EdgeAuthError` (or a `TypeError` for `name: "TypeError"`). Messages carry the code's
//! fixed sentence and the refusal's description (which may quote a `kid` or a claim name, cut short),
//! never the token, a key or a secret.

use edge_auth_core::{ConfigError, ConfigErrors, ErrorCode, VerifyError};
use edge_auth_gate::{Refusal, DEFAULT_RETRY_AFTER};
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// Why a call failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A token (or an assertion) the core refused; for `keys_unavailable`, `retry_after` (seconds) and
    /// why the keys could not be fetched (the key state's last error: a URL and a status, never a key).
    Token {
        error: VerifyError,
        retry_after: Option<u64>,
        why: Option<String>,
    },
    /// A request the gate refused before any verification (an origin's request without an assertion,
    /// a malformed `Authorization`).
    Refused(Refusal),
    /// A configuration, key or option that does not compile: `config_invalid`, each mistake with its
    /// field path.
    Config(Vec<String>),
    /// A call whose arguments have the wrong shape: a `TypeError`.
    Argument(String),
    /// The runtime lacks what the package needs (no `crypto.subtle`, no randomness): `internal_error`.
    Runtime(String),
}

impl From<VerifyError> for Failure {
    fn from(error: VerifyError) -> Failure {
        Failure::Token {
            error,
            retry_after: None,
            why: None,
        }
    }
}

impl From<ConfigErrors> for Failure {
    fn from(errors: ConfigErrors) -> Failure {
        Failure::Config(errors.0.iter().map(ToString::to_string).collect())
    }
}

impl From<Failure> for JsValue {
    fn from(failure: Failure) -> JsValue {
        failure.to_js()
    }
}

/// A token refusal's code, message and `Retry-After`.
fn token(
    error: &VerifyError,
    retry_after: Option<u64>,
    why: Option<&str>,
) -> (&'static str, String, Option<u64>) {
    let code = error.error_code();
    let retry_after = match code {
        // The keys could not be loaded: the service is unavailable, the caller may retry.
        ErrorCode::KeysUnavailable => Some(retry_after.unwrap_or(DEFAULT_RETRY_AFTER).max(1)),
        ErrorCode::TokenTooLarge
        | ErrorCode::TokenMalformed
        | ErrorCode::TokenUnsupported
        | ErrorCode::AlgNotAllowed
        | ErrorCode::EmbeddedKeyRefused
        | ErrorCode::CritUnsupported
        | ErrorCode::KeyNotFound
        | ErrorCode::KeyAmbiguous
        | ErrorCode::SignatureInvalid
        | ErrorCode::IssuerUnknown
        | ErrorCode::ClaimInvalid
        | ErrorCode::ClaimMissing
        | ErrorCode::TokenExpired
        | ErrorCode::TokenNotYetValid
        | ErrorCode::TokenIssuedInFuture
        | ErrorCode::TokenTooOld
        | ErrorCode::AudienceMismatch
        | ErrorCode::TypMismatch
        | ErrorCode::BindingMismatch => None,
    };
    let message = match why {
        Some(why) => format!("{} ({error}; last fetch error: {why})", code.sentence()),
        None => format!("{} ({error})", code.sentence()),
    };
    (code.as_str(), message, retry_after)
}

impl Failure {
    /// The failure's name, code, message and `Retry-After`.
    pub(crate) fn parts(&self) -> (&'static str, &'static str, String, Option<u64>) {
        const ERROR: &str = "EdgeAuthError";
        match self {
            Failure::Token {
                error,
                retry_after,
                why,
            } => {
                let (code, message, retry_after) = token(error, *retry_after, why.as_deref());
                (ERROR, code, message, retry_after)
            }
            Failure::Refused(refusal) => match refusal {
                Refusal::Token(error) => {
                    let (code, message, retry_after) = token(error, None, None);
                    (ERROR, code, message, retry_after)
                }
                Refusal::TokenMissing
                | Refusal::MultipleTokens
                | Refusal::AuthorizationMalformed
                | Refusal::Path(_)
                | Refusal::IssuerNotAllowed
                | Refusal::Forbidden(_)
                | Refusal::Csrf(_)
                | Refusal::Cors(_)
                | Refusal::ConfigInvalid
                | Refusal::OriginUnreachable
                | Refusal::Internal
                | Refusal::Revoked(_)
                | Refusal::RevocationUnavailable
                | Refusal::RevocationStoreFull
                | Refusal::RevokeRequestInvalid
                | Refusal::MethodNotAllowed => {
                    (ERROR, refusal.code(), refusal.detail().to_owned(), None)
                }
            },
            Failure::Config(errors) => (
                ERROR,
                Refusal::ConfigInvalid.code(),
                if errors.is_empty() {
                    Refusal::ConfigInvalid.detail().to_owned()
                } else {
                    errors.join("\n")
                },
                None,
            ),
            Failure::Argument(message) => ("TypeError", "invalid_argument", message.clone(), None),
            Failure::Runtime(message) => (ERROR, Refusal::Internal.code(), message.clone(), None),
        }
    }

    /// The plain object `js/api.js` turns into an error.
    pub(crate) fn to_js(&self) -> JsValue {
        let (name, code, message, retry_after) = self.parts();
        let object = Object::new();
        let set = |key: &str, value: JsValue| {
            // Setting a property on a fresh plain object cannot fail.
            let _ = Reflect::set(&object, &JsValue::from_str(key), &value);
        };
        set("edgeAuthError", JsValue::TRUE);
        set("name", JsValue::from_str(name));
        set("code", JsValue::from_str(code));
        set("message", JsValue::from_str(&message));
        if let Some(seconds) = retry_after {
            // A number, not a BigInt.
            #[allow(clippy::cast_precision_loss, reason = "seconds are far below 2^53")]
            let seconds = seconds as f64;
            set("retryAfter", JsValue::from_f64(seconds));
        }
        object.into()
    }
}

/// A configuration mistake outside `EDGE_AUTH`'s own fields (a key, an option), named by `path`.
pub(crate) fn config(path: &str, message: impl std::fmt::Display) -> Failure {
    Failure::Config(vec![format!("{path}: {message}")])
}

/// The mistakes an option object's reader ([`edge_auth_core::Walk`]) found, each as `path: message`; one
/// about the object itself is named after `what`.
pub(crate) fn described(what: &str, errors: Vec<ConfigError>) -> Vec<String> {
    errors
        .into_iter()
        .map(|e| {
            let path = if e.path.is_empty() { what } else { &e.path };
            format!("{path}: {}", e.message)
        })
        .collect()
}
