//! `tests/vectors/keys.json` (made by `node tests/vectors/keys_gen.mjs`): every JWK loads, or is refused
//! with the expected error, in both builds of the core — with the Rust RSA, P-256, P-384, P-521 and
//! Ed25519 backends (`cargo test`) and without them (`cargo test -p edge-auth-core
//! --no-default-features --test key_vectors`, as the Worker and the JS package build it;
//! `scripts/test.sh` runs both). The one
//! difference is written in the table: without the backend, a private key whose private part belongs to
//! another key loads with its pairing unchecked (the WebCrypto signer refuses it at its first signature,
//! which `tests/js/keys.test.mjs` checks).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use edge_auth_core::{Key, Pairing, SigningKey};
use serde_json::Value;

/// Whether this build has the backend for the key's family.
#[allow(
    clippy::match_like_matches_macro,
    reason = "without the features every arm is `false`; with them, `true`"
)]
fn has_backend(jwk: &Value) -> bool {
    match (jwk["kty"].as_str(), jwk["crv"].as_str()) {
        (Some("RSA"), _) => cfg!(feature = "rsa"),
        (Some("EC"), Some("P-256")) => cfg!(feature = "p256"),
        (Some("EC"), Some("P-384")) => cfg!(feature = "p384"),
        (Some("EC"), Some("P-521")) => cfg!(feature = "p521"),
        (Some("OKP"), _) => cfg!(feature = "ed25519"),
        _ => true,
    }
}

/// The error's variant name (`PointNotOnCurve { crv: "P-384" }` → `PointNotOnCurve`).
fn variant(debug: String) -> String {
    debug
        .split([' ', '(', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn check(case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().unwrap();
    let jwk = &case["jwk"];
    let text = jwk.to_string();
    let backend = has_backend(jwk);
    let mut expect = case["expect"].as_str().unwrap().to_owned();
    if case["unchecked_without_backend"] == Value::Bool(true) && !backend {
        expect = "ok".into();
    }
    let (found, pairing) = match case["kind"].as_str().unwrap() {
        "public" => match Key::from_json(text.as_bytes()) {
            Ok(_) => ("ok".to_owned(), None),
            Err(e) => (variant(format!("{e:?}")), None),
        },
        "private" => match SigningKey::from_json(text.as_bytes(), None) {
            Ok(key) => {
                // A loaded private key signs; with a Rust backend its signature verifies.
                if backend {
                    let signature = key.sign(b"probe");
                    if signature.is_empty() {
                        return Err(format!("{name}: an empty signature with the backend"));
                    }
                }
                ("ok".to_owned(), Some(key.pairing()))
            }
            Err(e) => (variant(format!("{e:?}")), None),
        },
        other => return Err(format!("{name}: unknown kind {other}")),
    };
    if found != expect {
        return Err(format!("{name}: expected {expect}, found {found}"));
    }
    let want = if backend {
        Pairing::Checked
    } else {
        Pairing::Unchecked
    };
    match pairing {
        Some(pairing) if pairing != want => {
            Err(format!("{name}: pairing {pairing:?}, want {want:?}"))
        }
        _ => Ok(()),
    }
}

#[test]
fn key_vectors() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/keys.json"
    ))
    .unwrap();
    let table: Value = serde_json::from_str(&text).unwrap();
    let cases = table["cases"].as_array().unwrap();
    assert_eq!(cases.len() as u64, table["count"].as_u64().unwrap());
    let problems: Vec<String> = cases.iter().filter_map(|c| check(c).err()).collect();
    assert!(
        problems.is_empty(),
        "{} of {}:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
    // Both kinds, every family, refusals and loads: a table that lost its cases fails here.
    let count = |expect: &str| cases.iter().filter(|c| c["expect"] == expect).count();
    assert!(count("ok") >= 15 && count("PointNotOnCurve") >= 12 && count("KeyMismatch") >= 10);
}
