//! JWK and JWKS loading: `KeySet::from_jwks_json`, `KeySet::from_jwk_json`, `Key::from_json` and
//! `SigningKey::from_json`. What loads must survive its own serialisation unchanged, a public JWK must
//! never carry a private member, and a loaded signing key must verify its own signature.
#![no_main]

use edge_auth_core::{
    Algorithm, Key, KeySet, RustCrypto, SignatureBackend, SignatureCheck, SigningKey, MAX_KEYS,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// Members that only private JWKs have (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// A public key's JWK: no private member, and (asymmetric keys) no `k` either.
fn check_public(key: &Key, jwk: &Map<String, Value>) {
    for member in PRIVATE_MEMBERS {
        assert!(!jwk.contains_key(member), "public JWK with `{member}`");
    }
    if !key.is_symmetric() {
        assert!(!jwk.contains_key("k"), "asymmetric public JWK with `k`");
    }
}

/// A key reads back from its own JWK as the same key.
fn check_round_trip(key: &Key) {
    let jwk = key.to_jwk();
    check_public(key, &jwk);
    let again = Key::from_object(&jwk);
    assert!(again.is_ok(), "a loaded key does not reload: {again:?}");
    if let Ok(again) = again {
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.thumbprint(), key.thumbprint());
        assert_eq!(again.algorithms(), key.algorithms());
        assert_eq!(again.declared_algorithm(), key.declared_algorithm());
        assert_eq!(again.is_symmetric(), key.is_symmetric());
        assert_eq!(again.to_jwk(), jwk);
    }
    if key.is_symmetric() {
        assert_eq!(
            key.thumbprint(),
            None,
            "a thumbprint would publish a hash of the secret"
        );
    }
}

fn check_signing_key(key: &SigningKey) {
    let public = key.public_key();
    check_round_trip(public);
    let private = key.to_private_jwk();
    let again = SigningKey::from_json(Value::Object(private).to_string().as_bytes(), None);
    assert!(
        again.is_ok(),
        "a loaded private key does not reload: {again:?}"
    );
    if let Ok(again) = again {
        assert_eq!(again.algorithm(), key.algorithm());
        assert_eq!(again.public_key().to_jwk(), public.to_jwk());
    }
    // Signing is deterministic or randomised, but what it signs verifies with the public key.
    let input = b"eyJhbGciOiJub25lIn0.e30";
    let signature = key.sign(input);
    let check = SignatureCheck {
        alg: key.algorithm(),
        key: public,
        signing_input: input,
        signature: &signature,
    };
    assert_eq!(
        check.expected_len().map_or(signature.len(), |n| n),
        signature.len()
    );
    assert!(RustCrypto.verify(&check).is_ok(), "own signature refused");
}

fuzz_target!(|data: &[u8]| {
    match KeySet::from_jwks_json(data) {
        Ok(set) => {
            assert!(!set.keys().is_empty() && set.keys().len() <= MAX_KEYS);
            let symmetric = set.keys().iter().filter(|k| k.is_symmetric()).count();
            assert!(symmetric == 0 || symmetric == set.keys().len(), "mixed set");
            for (i, key) in set.keys().iter().enumerate() {
                check_round_trip(key);
                // Two keys with one kid never serve the same algorithm.
                for other in set.keys().iter().skip(i + 1) {
                    if key.kid().is_some() && other.kid() == key.kid() {
                        assert!(key.algorithms().intersect(other.algorithms()).is_empty());
                    }
                }
            }
            let _ = (set.skipped(), set.algorithms(), set.declared_algorithms());
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }

    let single = KeySet::from_jwk_json(data);
    let key = Key::from_json(data);
    assert_eq!(single.is_ok(), key.is_ok(), "one JWK: set and key disagree");
    match &key {
        Ok(key) => check_round_trip(key),
        Err(error) => {
            let _ = error.to_string();
        }
    }

    let alg = Algorithm::ALL
        .get(data.len() % Algorithm::ALL.len())
        .copied();
    for alg in [None, alg] {
        match SigningKey::from_json(data, alg) {
            Ok(key) => check_signing_key(&key),
            Err(error) => {
                let _ = error.to_string();
            }
        }
    }
});
