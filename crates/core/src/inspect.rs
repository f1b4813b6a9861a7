//! A lenient, unverified look at a token, for `decode` in the JS package and the inspector page: the
//! header and payload as a lax decoder would read them, and a warning for everything the strict parser
//! ([`crate::UntrustedToken`]) or the claim rules would refuse or a reader should know (padding,
//! non-canonical base64url, duplicate members, JWE, nested JWT, `alg: none`, embedded keys, `crit`,
//! expiry, `iat` in the future, missing `exp` or `aud`).
//!
//! Nothing here is trusted and nothing is verified; it never fails and never panics, whatever the input:
//! what cannot be read is a warning (`not_jws`) with no payload.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::b64::{self, Deviations};
use crate::claims::UnixTime;
use crate::json::{self, JsonError};
use crate::token::media_type_eq;

/// Inputs longer than this are not decoded (a token is a few kilobytes; the strict limit is 64 KiB).
pub const MAX_INSPECT_BYTES: usize = 1 << 20;

/// What a warning is about. The wire form (`code`) is `snake_case` and stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// `alg: none` (any casing): an unsigned token.
    AlgNone,
    /// `exp` is at or before the inspection time.
    Expired,
    /// `nbf` is after the inspection time.
    NotYetValid,
    /// `iat` is after the inspection time: issued in the future (a verifier refuses it beyond its
    /// leeway: `token_issued_in_future`).
    IatFuture,
    /// `jwk`, `jku`, `x5u` or `x5c`: a key embedded in or referenced by the token (never to be used).
    EmbeddedKey,
    /// A `crit` header member: an extension the recipient must understand.
    Crit,
    /// The same member twice in one JSON object (parsers disagree on which copy wins).
    DuplicateMember,
    /// Padding, `+`/`/`, or non-zero trailing bits: not the canonical unpadded base64url.
    NonCanonicalBase64url,
    /// An encrypted token (five parts, or an `enc` header member): its payload cannot be shown.
    Jwe,
    /// `cty: JWT`: the payload is another token.
    NestedJwt,
    /// No `exp`: the token never expires.
    ExpMissing,
    /// No `aud`: the token is not restricted to a recipient.
    AudMissing,
    /// Not a compact JWS carrying a JSON object (a JWT): nothing (or only the header) can be shown.
    NotJws,
}

impl WarningCode {
    /// Every code, in a fixed order.
    pub const ALL: [WarningCode; 13] = [
        WarningCode::AlgNone,
        WarningCode::Expired,
        WarningCode::NotYetValid,
        WarningCode::IatFuture,
        WarningCode::EmbeddedKey,
        WarningCode::Crit,
        WarningCode::DuplicateMember,
        WarningCode::NonCanonicalBase64url,
        WarningCode::Jwe,
        WarningCode::NestedJwt,
        WarningCode::ExpMissing,
        WarningCode::AudMissing,
        WarningCode::NotJws,
    ];

    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::AlgNone => "alg_none",
            WarningCode::Expired => "expired",
            WarningCode::NotYetValid => "not_yet_valid",
            WarningCode::IatFuture => "iat_future",
            WarningCode::EmbeddedKey => "embedded_key",
            WarningCode::Crit => "crit",
            WarningCode::DuplicateMember => "duplicate_member",
            WarningCode::NonCanonicalBase64url => "non_canonical_base64url",
            WarningCode::Jwe => "jwe",
            WarningCode::NestedJwt => "nested_jwt",
            WarningCode::ExpMissing => "exp_missing",
            WarningCode::AudMissing => "aud_missing",
            WarningCode::NotJws => "not_jws",
        }
    }
}

/// One finding about a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: WarningCode,
    /// A sentence for a person; it names members and parts, never repeats the token.
    pub message: String,
}

/// What [`inspect`] found. `header` and `payload` are what a lax decoder reads (for a duplicated member,
/// the last copy, as `JSON.parse` keeps); `payload` is `None` unless the token is a JWS whose payload is
/// a JSON object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    pub header: Option<Map<String, Value>>,
    pub payload: Option<Map<String, Value>>,
    pub warnings: Vec<Warning>,
}

impl Inspection {
    fn warn(&mut self, code: WarningCode, message: impl Into<String>) {
        self.warnings.push(Warning {
            code,
            message: message.into(),
        });
    }

    /// The warning codes, in order (for tests and summaries).
    pub fn codes(&self) -> Vec<WarningCode> {
        self.warnings.iter().map(|w| w.code).collect()
    }
}

/// Which part of a token a finding is about.
#[derive(Debug, Clone, Copy)]
enum Part {
    Header,
    Payload,
    Signature,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        }
    }
}

/// Describes `token` at `now` without verifying anything. Surrounding whitespace is ignored.
pub fn inspect(token: &str, now: UnixTime) -> Inspection {
    let mut out = Inspection {
        header: None,
        payload: None,
        warnings: Vec::new(),
    };
    let token = token.trim_matches(|c: char| c.is_ascii_whitespace());
    if token.len() > MAX_INSPECT_BYTES {
        out.warn(
            WarningCode::NotJws,
            format!(
                "{} bytes is far larger than any token; not decoded",
                token.len()
            ),
        );
        return out;
    }
    if token.starts_with('{') {
        out.warn(
            WarningCode::NotJws,
            "a JSON document, not a compact token (JWS JSON serialization is not read)",
        );
        return out;
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.as_slice() {
        [header, payload, signature] => inspect_jws(&mut out, header, payload, signature, now),
        [header, _, _, _, _] => {
            out.header = object(&mut out, header, Part::Header);
            out.warn(
                WarningCode::Jwe,
                "five parts: an encrypted token (JWE); its payload cannot be read without the key",
            );
        }
        _ => out.warn(
            WarningCode::NotJws,
            format!(
                "a compact JWS has 3 dot-separated parts; this has {}",
                parts.len()
            ),
        ),
    }
    out
}

fn inspect_jws(out: &mut Inspection, header: &str, payload: &str, signature: &str, now: UnixTime) {
    let Some(header) = object(out, header, Part::Header) else {
        return;
    };
    header_warnings(out, &header);
    let encrypted = header.contains_key("enc");
    out.header = Some(header);
    if encrypted {
        out.warn(
            WarningCode::Jwe,
            "the header has `enc`: an encrypted token (JWE); its payload cannot be read",
        );
        return;
    }
    let payload = object(out, payload, Part::Payload);
    match b64::decode_lenient(signature) {
        Some((_, deviations)) => non_canonical(out, Part::Signature, deviations),
        None => out.warn(
            WarningCode::NonCanonicalBase64url,
            "signature: not base64url (characters outside the alphabet, or an impossible length)",
        ),
    }
    if let Some(claims) = &payload {
        claim_warnings(out, claims, now);
    }
    out.payload = payload;
}

/// A part decoded and parsed as a JSON object, with its warnings; `None` (and a `not_jws` warning) when
/// it is not one.
fn object(out: &mut Inspection, text: &str, part: Part) -> Option<Map<String, Value>> {
    let name = part.name();
    let Some((bytes, deviations)) = b64::decode_lenient(text) else {
        out.warn(WarningCode::NotJws, format!("{name}: not base64url"));
        return None;
    };
    non_canonical(out, part, deviations);
    match json::parse_object(&bytes) {
        Ok(map) => Some(map),
        Err(JsonError::DuplicateMember { name: member }) => {
            out.warn(
                WarningCode::DuplicateMember,
                format!(
                    "{name}: the member {} appears more than once (shown: the last copy)",
                    json::quoted_short(&member)
                ),
            );
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => Some(map),
                _ => {
                    out.warn(WarningCode::NotJws, format!("{name}: not a JSON object"));
                    None
                }
            }
        }
        Err(JsonError::NotObject) => {
            let what = match part {
                Part::Payload => "payload: JSON, but not an object: not a JWT",
                Part::Header | Part::Signature => "header: JSON, but not an object",
            };
            out.warn(WarningCode::NotJws, what);
            None
        }
        Err(JsonError::Syntax { .. }) => {
            let what = match part {
                Part::Payload => "payload: not JSON: not a JWT",
                Part::Header | Part::Signature => "header: not JSON",
            };
            out.warn(WarningCode::NotJws, what);
            None
        }
    }
}

fn non_canonical(out: &mut Inspection, part: Part, deviations: Deviations) {
    if !deviations.any() {
        return;
    }
    let mut what = Vec::new();
    if deviations.padding {
        what.push("`=` padding");
    }
    if deviations.standard_alphabet {
        what.push("`+` or `/` (the standard alphabet)");
    }
    if deviations.trailing_bits {
        what.push("non-zero trailing bits");
    }
    out.warn(
        WarningCode::NonCanonicalBase64url,
        format!(
            "{}: not canonical unpadded base64url ({}); strict verifiers refuse it",
            part.name(),
            what.join(", ")
        ),
    );
}

fn header_warnings(out: &mut Inspection, header: &Map<String, Value>) {
    if let Some(Value::String(alg)) = header.get("alg") {
        if alg.eq_ignore_ascii_case("none") {
            out.warn(
                WarningCode::AlgNone,
                "`alg: none`: the token is unsigned; anyone can make one",
            );
        }
    }
    for member in ["jwk", "jku", "x5u", "x5c"] {
        if header.contains_key(member) {
            out.warn(
                WarningCode::EmbeddedKey,
                format!(
                    "header member `{member}` embeds or references a key: verifiers must never use it"
                ),
            );
        }
    }
    if header.contains_key("crit") {
        out.warn(
            WarningCode::Crit,
            "header member `crit`: extensions the recipient must understand, or refuse the token",
        );
    }
    if let Some(Value::String(cty)) = header.get("cty") {
        if media_type_eq(cty, "jwt") {
            out.warn(
                WarningCode::NestedJwt,
                "`cty: JWT`: the payload is another (nested) token",
            );
        }
    }
}

fn claim_warnings(out: &mut Inspection, claims: &Map<String, Value>, now: UnixTime) {
    // Exact comparisons in f64: NumericDates may be fractional; u64 seconds up to 2^53 are exact.
    #[allow(
        clippy::cast_precision_loss,
        reason = "Unix seconds are far below 2^53, where f64 is exact"
    )]
    let now_f = now.0 as f64;
    match claims.get("exp") {
        None => out.warn(WarningCode::ExpMissing, "no `exp`: the token never expires"),
        Some(Value::Number(exp)) => {
            if exp.as_f64().is_some_and(|exp| now_f >= exp) {
                out.warn(
                    WarningCode::Expired,
                    format!("expired: `exp` {exp} is not after now ({})", now.0),
                );
            }
        }
        Some(_) => {}
    }
    if let Some(Value::Number(nbf)) = claims.get("nbf") {
        if nbf.as_f64().is_some_and(|nbf| nbf > now_f) {
            out.warn(
                WarningCode::NotYetValid,
                format!("not yet valid: `nbf` {nbf} is after now ({})", now.0),
            );
        }
    }
    if let Some(Value::Number(iat)) = claims.get("iat") {
        if iat.as_f64().is_some_and(|iat| iat > now_f) {
            out.warn(
                WarningCode::IatFuture,
                format!("issued in the future: `iat` {iat} is after now ({})", now.0),
            );
        }
    }
    if !claims.contains_key("aud") {
        out.warn(
            WarningCode::AudMissing,
            "no `aud`: the token is not restricted to a recipient",
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;
    use WarningCode as W;

    const NOW: UnixTime = UnixTime(1_700_000_000);

    fn part(text: &str) -> String {
        b64::encode(text.as_bytes())
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", part(header), part(payload), part("signature!"))
    }

    const CLEAN: &str = r#"{"iss":"https://idp.example/","aud":"api","sub":"u","exp":1700000600}"#;

    fn codes(token: &str) -> Vec<WarningCode> {
        inspect(token, NOW).codes()
    }

    #[test]
    fn a_clean_token_has_no_warning() {
        let found = inspect(&token(r#"{"alg":"ES256","kid":"k"}"#, CLEAN), NOW);
        assert_eq!(found.codes(), []);
        assert_eq!(found.header.unwrap()["kid"], "k");
        assert_eq!(found.payload.unwrap()["sub"], "u");
    }

    #[test]
    fn each_header_warning() {
        let cases = [
            (r#"{"alg":"none"}"#, W::AlgNone),
            (r#"{"alg":"nOnE"}"#, W::AlgNone),
            (r#"{"alg":"ES256","jwk":{"kty":"EC"}}"#, W::EmbeddedKey),
            (r#"{"alg":"ES256","jku":"https://x/"}"#, W::EmbeddedKey),
            (r#"{"alg":"ES256","x5u":"https://x/"}"#, W::EmbeddedKey),
            (r#"{"alg":"ES256","x5c":["MII"]}"#, W::EmbeddedKey),
            (r#"{"alg":"ES256","crit":["exp"],"exp":1}"#, W::Crit),
            (r#"{"alg":"ES256","cty":"JWT"}"#, W::NestedJwt),
            (r#"{"alg":"ES256","cty":"application/jwt"}"#, W::NestedJwt),
            (r#"{"kid":"a","alg":"ES256","kid":"b"}"#, W::DuplicateMember),
        ];
        for (header, code) in cases {
            assert_eq!(codes(&token(header, CLEAN)), [code], "{header}");
        }
        // The last copy of a duplicate is shown, as JSON.parse would.
        let dup = inspect(&token(r#"{"alg":"ES256","alg":"none"}"#, CLEAN), NOW);
        assert_eq!(dup.codes(), [W::DuplicateMember, W::AlgNone]);
        assert_eq!(dup.header.unwrap()["alg"], "none");
    }

    #[test]
    fn each_claim_warning() {
        let cases: [(&str, &[WarningCode]); 8] = [
            (r#"{"aud":"a","exp":1700000000}"#, &[W::Expired]),
            (
                r#"{"aud":"a","exp":1700000600,"iat":1700000001}"#,
                &[W::IatFuture],
            ),
            // `iat` equal to now is not in the future.
            (r#"{"aud":"a","exp":1700000600,"iat":1700000000}"#, &[]),
            (r#"{"aud":"a","exp":1699999999.5}"#, &[W::Expired]),
            (
                r#"{"aud":"a","exp":1700000600,"nbf":1700000001}"#,
                &[W::NotYetValid],
            ),
            (r#"{"aud":"a"}"#, &[W::ExpMissing]),
            (r#"{"exp":1700000600}"#, &[W::AudMissing]),
            (
                r#"{"exp":1700000600,"aud":"a","r":{"x":1,"x":2}}"#,
                &[W::DuplicateMember],
            ),
        ];
        for (payload, expected) in cases {
            assert_eq!(
                codes(&token(r#"{"alg":"ES256"}"#, payload)),
                expected,
                "{payload}"
            );
        }
        // A string `exp` is not "missing" (the strict rules refuse it as invalid).
        assert_eq!(
            codes(&token(r#"{"alg":"ES256"}"#, r#"{"aud":"a","exp":"x"}"#)),
            []
        );
    }

    #[test]
    fn non_canonical_base64url_is_read_and_reported() {
        let clean = token(r#"{"alg":"ES256"}"#, CLEAN);
        let padded = format!("{clean}==");
        let found = inspect(&padded, NOW);
        assert_eq!(found.codes(), [W::NonCanonicalBase64url]);
        assert!(found.warnings[0].message.contains("signature"));
        assert!(found.payload.is_some());
        // `+` in the header, padding in the payload: one warning per part.
        let header = part(r#"{"alg":"ES256","x":">>>"}"#).replace('-', "+");
        assert!(header.contains('+'));
        let payload = format!("{}=", part(CLEAN));
        let found = inspect(&format!("{header}.{payload}.{}", part("sig")), NOW);
        assert_eq!(
            found.codes(),
            [W::NonCanonicalBase64url, W::NonCanonicalBase64url]
        );
        assert_eq!(found.header.unwrap()["x"], ">>>");
        // Non-zero trailing bits in the signature ("sig!" → 6 characters, the last with spare bits).
        let sig = part("si");
        let last = sig.chars().last().unwrap();
        let bumped = char::from(u8::try_from(u32::from(last)).unwrap() + 1);
        let odd = format!(
            "{}.{}.{}{bumped}",
            part(r#"{"alg":"ES256"}"#),
            part(CLEAN),
            &sig[..sig.len() - 1]
        );
        assert_eq!(codes(&odd), [W::NonCanonicalBase64url]);
    }

    #[test]
    fn encrypted_and_other_inputs() {
        let jwe = format!(
            "{}.{}.{}.{}.{}",
            part(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#),
            part("k"),
            part("iv"),
            part("c"),
            part("t")
        );
        let found = inspect(&jwe, NOW);
        assert_eq!(found.codes(), [W::Jwe]);
        assert_eq!(found.header.unwrap()["enc"], "A256GCM");
        assert_eq!(found.payload, None);
        let enc = inspect(&token(r#"{"alg":"dir","enc":"A128GCM"}"#, CLEAN), NOW);
        assert_eq!(enc.codes(), [W::Jwe]);
        assert_eq!(enc.payload, None);
        for input in [
            "",
            "hello",
            "a.b",
            "a.b.c.d",
            "{}",
            r#"{"payload":"e30","protected":"e30","signature":""}"#,
            "...",
            "Bearer abc",
            "a.b.c",
            "e30.W10.",
            "e30.bnVsbA.",
        ] {
            let found = inspect(input, NOW);
            assert_eq!(found.payload, None, "{input:?}");
            assert!(found.codes().contains(&W::NotJws), "{input:?}: {found:?}");
        }
        // Surrounding whitespace (a pasted line) is ignored.
        let clean = token(r#"{"alg":"ES256"}"#, CLEAN);
        assert_eq!(codes(&format!(" {clean}\n")), []);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let deep = format!("{}.{}.", part(&"[".repeat(10_000)), part("{}"));
        let long = "x".repeat(MAX_INSPECT_BYTES + 1);
        for input in [
            "\u{0}",
            "é.é.é",
            "=",
            "==.==.==",
            "eyJ",
            "eyJ.eyJ.eyJ",
            "....",
            &deep,
            &long,
        ] {
            let found = inspect(input, NOW);
            assert!(!found.warnings.is_empty(), "{input:?}");
        }
        let codes: Vec<&str> = WarningCode::ALL.iter().map(|c| c.as_str()).collect();
        let serialized: Vec<String> = WarningCode::ALL
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(codes, serialized, "as_str is the serialized form");
    }
}
