//! Every algorithm: mint → verify, and any flipped signature bit → `signature_invalid`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests: a panic is a test failure"
)]

mod common;

use base64ct::{Base64UrlUnpadded, Encoding};
use common::*;
use edge_auth_core::{mint, Algorithm, KeySet, MintOptions, SigningKey, UnixTime};

#[test]
fn every_algorithm_round_trips() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let verifier = verifier_for(&[key], &[alg]);
        let claims = good_claims();
        let token = mint(key, claims.as_object().unwrap(), &MintOptions::default());
        let verified = verifier
            .verify(&token, UnixTime(NOW))
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(verified.claims(), claims.as_object().unwrap(), "{alg}");
        assert_eq!(verified.algorithm(), alg);
        assert_eq!(verified.key_id(), key.kid());
    }
}

#[test]
fn sign_hmac_signs_hmac_keys_alone_as_sign_does() {
    let input = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0";
    for alg in Algorithm::ALL {
        let key = key(alg);
        let expected = alg.is_symmetric().then(|| key.sign(input));
        assert_eq!(key.sign_hmac(input), expected, "{alg}");
    }
}

#[test]
fn every_algorithm_refuses_every_flipped_signature_bit() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let verifier = verifier_for(&[key], &[alg]);
        let token = token(key, &good_claims());
        let (input, sig_b64) = token.rsplit_once('.').unwrap();
        let signature = Base64UrlUnpadded::decode_vec(sig_b64).unwrap();
        for bit in 0..signature.len() * 8 {
            let mut flipped = signature.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let bad = format!("{input}.{}", Base64UrlUnpadded::encode_string(&flipped));
            let error = verifier.verify(&bad, UnixTime(NOW)).unwrap_err();
            assert_eq!(error.code(), "signature_invalid", "{alg} bit {bit}");
        }
    }
}

#[test]
fn private_jwk_round_trips_through_json() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let json = serde_json::Value::Object(key.to_private_jwk()).to_string();
        let again = SigningKey::from_json(json.as_bytes(), None).unwrap();
        assert_eq!(again.algorithm(), alg);
        assert_eq!(again.public_key().to_jwk(), key.public_key().to_jwk());
        // A token from the re-read key verifies under the original public key.
        let verifier = verifier_for(&[key], &[alg]);
        verifier
            .verify(&token(&again, &good_claims()), UnixTime(NOW))
            .unwrap();
    }
}

#[test]
fn rfc7638_thumbprint_example() {
    // RFC 7638 §3.1: the thumbprint of the RFC 7517 Appendix A.1 RSA key.
    let jwk = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
    let keys = KeySet::from_jwk_json(jwk.as_bytes()).unwrap();
    assert_eq!(
        keys.keys()[0].thumbprint(),
        Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    );
}

#[test]
fn ed25519_algorithm_name_is_accepted_as_eddsa() {
    let key = key(Algorithm::EdDsa);
    // On the key: `alg: Ed25519` (draft-ietf-jose-fully-specified-algorithms).
    let mut jwk = key.public_key().to_jwk();
    jwk.insert("alg".into(), "Ed25519".into());
    let set = KeySet::from_jwk_json(serde_json::Value::Object(jwk).to_string().as_bytes()).unwrap();
    assert_eq!(
        set.declared_algorithms().iter().collect::<Vec<_>>(),
        [Algorithm::EdDsa]
    );
    // In the token: `alg: Ed25519`.
    let verifier = verifier_for(&[key], &[Algorithm::EdDsa]);
    let token = raw_token(r#"{"alg":"Ed25519"}"#, &good_claims().to_string(), key);
    let verified = verifier.verify(&token, UnixTime(NOW)).unwrap();
    assert_eq!(verified.algorithm(), Algorithm::EdDsa);
    // The name is case-sensitive like every other.
    let token = raw_token(r#"{"alg":"ed25519"}"#, &good_claims().to_string(), key);
    assert_eq!(
        verifier.verify(&token, UnixTime(NOW)).unwrap_err().code(),
        "alg_not_allowed"
    );
}

#[test]
fn symmetric_keys_have_no_thumbprint_and_a_random_kid() {
    // A thumbprint of an oct key is a hash of the secret: it is never computed, printed or used as kid.
    for alg in [Algorithm::Hs256, Algorithm::Hs384, Algorithm::Hs512] {
        let a = SigningKey::generate(alg, None, &mut rand_core::OsRng).unwrap();
        let b = SigningKey::generate(alg, None, &mut rand_core::OsRng).unwrap();
        assert_eq!(a.public_key().thumbprint(), None);
        assert_eq!(a.kid().unwrap().len(), 22, "16 random bytes, base64url");
        assert_ne!(a.kid(), b.kid());
        let debug = format!("{:?}", a.public_key());
        let k = a.public_key().to_jwk()["k"].as_str().unwrap().to_owned();
        assert!(!debug.contains(&k), "{debug}");
        assert!(debug.contains("oct key of"), "{debug}");
    }
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let key = SigningKey::generate(alg, None, &mut rand_core::OsRng).unwrap();
        assert_eq!(
            key.kid(),
            key.public_key().thumbprint(),
            "asymmetric kid = RFC 7638 thumbprint"
        );
    }
}
