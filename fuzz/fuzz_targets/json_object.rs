//! The strict JSON object parser (`json::parse_object`, crate-private), through the two public paths
//! that hand it raw bytes: `decode_unverified` (a token's payload; its `claims` is exactly
//! `parse_object(payload)`) and `KeySet::from_jwks_json` (the document itself). The outcome is compared
//! with serde_json's permissive parser: strict may refuse more (duplicate members), never less, and what
//! it accepts it reads the same way.
#![no_main]
#![allow(
    clippy::panic,
    reason = "a fuzz target reports a broken invariant by panicking"
)]

use base64ct::{Base64UrlUnpadded, Encoding};
use edge_auth_core::{decode_unverified, JsonError, KeyError, KeySet, Limits};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // `{}` as the header, the input as the payload, no signature; no size limit in the way.
    let token = format!("e30.{}.", Base64UrlUnpadded::encode_string(data));
    let limits = Limits {
        max_token_bytes: usize::MAX,
        ..Limits::default()
    };
    let strict = match decode_unverified(&token, &limits) {
        Ok(unverified) => {
            assert_eq!(unverified.payload, data);
            unverified.claims
        }
        Err(error) => panic!("a well-formed token was refused: {error}"),
    };
    let loose = serde_json::from_slice::<Value>(data);
    match (&strict, &loose) {
        // Accepted: serde_json reads the same object.
        (Ok(map), Ok(Value::Object(same))) => assert_eq!(map, same),
        (Ok(_), _) => panic!("strict accepted what serde_json reads as no object"),
        (Err(JsonError::Syntax { .. }), loose) => {
            assert!(loose.is_err(), "strict saw a syntax error in valid JSON")
        }
        (Err(JsonError::NotObject), loose) => assert!(
            matches!(loose, Ok(v) if !v.is_object()),
            "strict saw no object where serde_json does"
        ),
        (Err(JsonError::DuplicateMember { .. }), _) => {}
    }
    if let Err(error) = &strict {
        let _ = error.to_string();
    }

    // The JWKS loader parses the same bytes with the same parser first: a JSON error about the
    // document itself (no key index) is strict's error. An entry of `keys` that is not an object is a
    // JSON error too, with that entry's index: the document parsed.
    match KeySet::from_jwks_json(data) {
        Err(error) if error.index.is_none() && matches!(error.error, KeyError::Json(_)) => {
            let expected = strict.as_ref().err().cloned().map(KeyError::Json);
            assert_eq!(Some(&error.error), expected.as_ref());
            let _ = error.to_string();
        }
        Err(error) => {
            assert!(strict.is_ok(), "a JSON error that was not reported as one");
            let _ = error.to_string();
        }
        Ok(_) => assert!(strict.is_ok()),
    }
});
