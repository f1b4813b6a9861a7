//! The RFC vectors in `vectors/rfc.json` (provenance: `vectors/README.md`) verify, and flipping any bit of
//! any of their signatures is refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests: a panic is a test failure"
)]

use base64ct::{Base64UrlUnpadded, Encoding};
use edge_auth_core::{
    Algorithm, IssuerPolicy, KeySet, Limits, RustCrypto, SignatureVerifier, UnixTime, Verifier,
};
use serde_json::Value;

struct Case {
    name: String,
    alg: Algorithm,
    token: String,
    jwk: String,
    payload: Vec<u8>,
    now: Option<u64>,
}

fn cases() -> Vec<Case> {
    let text = include_str!("vectors/rfc.json");
    let cases: Vec<Value> = serde_json::from_str(text).unwrap();
    // Every test below runs every vector (or counts the ones it runs): none is skipped silently.
    assert_eq!(cases.len(), 9, "the 9 RFC vectors of vectors/README.md");
    cases
        .into_iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_owned(),
            alg: Algorithm::from_name(c["alg"].as_str().unwrap()).unwrap(),
            token: c["token"].as_str().unwrap().to_owned(),
            jwk: c["jwk"].to_string(),
            payload: Base64UrlUnpadded::decode_vec(c["payload_b64"].as_str().unwrap()).unwrap(),
            now: c["jwt"]
                .as_bool()
                .unwrap()
                .then(|| c["now"].as_u64().unwrap()),
        })
        .collect()
}

fn signature_verifier(case: &Case) -> SignatureVerifier {
    let keys = KeySet::from_jwk_json(case.jwk.as_bytes()).unwrap();
    SignatureVerifier::new(keys, [case.alg], Limits::default()).unwrap()
}

#[test]
fn rfc_vectors_verify_signature_only() {
    for case in cases() {
        let verified = signature_verifier(&case)
            .verify(&case.token, &RustCrypto)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(verified.payload, case.payload, "{}", case.name);
        assert_eq!(verified.alg, case.alg, "{}", case.name);
    }
}

#[test]
fn rfc_jwt_vectors_verify_with_claims() {
    let mut checked = 0;
    for case in cases() {
        let Some(now) = case.now else { continue };
        let claims: serde_json::Map<String, Value> = serde_json::from_slice(&case.payload).unwrap();
        let iss = claims["iss"].as_str().unwrap();
        let keys = KeySet::from_jwk_json(case.jwk.as_bytes()).unwrap();
        // The RFC 7515 claims set has no `aud`.
        let policy = IssuerPolicy::builder(iss, [case.alg], keys)
            .dangerous_any_audience()
            .leeway(0)
            .build()
            .unwrap();
        let verifier = Verifier::new(vec![policy], Limits::default()).unwrap();
        let verified = verifier
            .verify(&case.token, UnixTime(now))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(verified.claims(), &claims, "{}", case.name);
        let exp = verified.registered().exp.unwrap();
        let late = verifier
            .verify(&case.token, UnixTime(u64::try_from(exp).unwrap()))
            .unwrap_err();
        assert_eq!(late.code(), "token_expired", "{}", case.name);
        checked += 1;
    }
    assert_eq!(checked, 3, "RFC 7515 A.1-A.3 are JWTs");
}

#[test]
fn flipping_any_signature_bit_is_refused() {
    for case in cases() {
        let verifier = signature_verifier(&case);
        let (input, sig_b64) = case.token.rsplit_once('.').unwrap();
        let signature = Base64UrlUnpadded::decode_vec(sig_b64).unwrap();
        for bit in 0..signature.len() * 8 {
            let mut flipped = signature.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let token = format!("{input}.{}", Base64UrlUnpadded::encode_string(&flipped));
            let error = verifier.verify(&token, &RustCrypto).unwrap_err();
            assert_eq!(error.code(), "signature_invalid", "{} bit {bit}", case.name);
        }
    }
}

#[test]
fn wrong_algorithm_for_the_vector_key_is_refused() {
    // The token names its algorithm; a verifier pinned to another one refuses before any crypto.
    let mut checked = Vec::new();
    for case in cases() {
        let keys = KeySet::from_jwk_json(case.jwk.as_bytes()).unwrap();
        let other = Algorithm::ALL
            .into_iter()
            .find(|a| *a != case.alg && keys.algorithms().contains(*a));
        // EC and Ed25519 keys serve exactly one algorithm: there is no other to pin.
        let Some(other) = other else { continue };
        let verifier = SignatureVerifier::new(keys, [other], Limits::default()).unwrap();
        let error = verifier.verify(&case.token, &RustCrypto).unwrap_err();
        assert_eq!(error.code(), "alg_not_allowed", "{}", case.name);
        checked.push(case.name);
    }
    // The HMAC and RSA vectors whose key declares no `alg`: 7515 A.1 and A.2, 7520 §4.1 and §4.2
    // (7520 §4.4's key declares `alg: HS256`, so it too serves one algorithm).
    assert_eq!(checked.len(), 4, "{checked:?}");
}

#[test]
fn signature_only_in_two_steps_names_its_checks() {
    // An async backend (WebCrypto) takes the checks first, then hands outcomes back: the checks are
    // the vector's key and algorithm over the exact signing input and signature bytes.
    for case in cases() {
        let verifier = signature_verifier(&case);
        let pending = verifier.begin(&case.token).unwrap();
        let checks: Vec<_> = pending.checks().collect();
        assert_eq!(checks.len(), 1, "{}", case.name);
        let (input, signature) = case.token.rsplit_once('.').unwrap();
        assert_eq!(checks[0].alg, case.alg, "{}", case.name);
        assert_eq!(checks[0].signing_input, input.as_bytes(), "{}", case.name);
        assert_eq!(
            checks[0].signature,
            Base64UrlUnpadded::decode_vec(signature).unwrap(),
            "{}",
            case.name
        );
        let verified = pending.verify_signature(&RustCrypto).unwrap();
        assert_eq!(verified.payload, case.payload, "{}", case.name);
    }
}
