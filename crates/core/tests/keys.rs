//! Load-time key refusals: one named row per case, each asserting the exact `KeyError` (and, in a set,
//! the index of the key at fault), all through one `check`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

mod common;

use base64ct::{Base64UrlUnpadded, Encoding};
use common::*;
use edge_auth_core::{
    AlgSet, Algorithm, KeyError, KeyLoadError, KeySet, SigningKey, SkippedKey, MAX_KEYS,
};
use rand_core::RngCore;
use serde_json::{json, Map, Value};

/// What a key source is fed to.
enum Input {
    /// One JWK: `KeySet::from_jwk_json`.
    Jwk(String),
    /// A JWK Set: `KeySet::from_jwks_json`.
    Jwks(String),
    /// A JWK Set that loads, then `KeySet::restrict` to an allowlist.
    Restricted(String, AlgSet),
    /// A private JWK: `SigningKey::from_json` with its `alg` argument (errors carry no index).
    Private(String, Option<Algorithm>),
}

type Reason = fn(&KeyError) -> bool;

/// The outcome a row expects.
enum Expected {
    /// Loaded, with this many usable keys, and the skipped keys as (index, reason), in order.
    Loaded {
        keys: usize,
        skipped: Vec<(usize, Reason, &'static str)>,
    },
    /// Refused: a `matches!` on the whole `KeyLoadError { index, error }`, and its text for messages.
    Refused(fn(&KeyLoadError) -> bool, &'static str),
}

/// `refused!(index_pattern, error_pattern [if guard])`.
macro_rules! refused {
    ($index:pat, $error:pat $(if $guard:expr)?) => {
        Expected::Refused(
            |e: &KeyLoadError| matches!(e, KeyLoadError { index: $index, error: $error } $(if $guard)?),
            concat!(
                "index: ", stringify!($index), ", error: ", stringify!($error)
                $(, " if ", stringify!($guard))?
            ),
        )
    };
}

/// `loaded!(keys)` or `loaded!(keys, skipped: [(index, reason_pattern), ...])`.
macro_rules! loaded {
    ($keys:expr, skipped: [$(($index:expr, $reason:pat)),* $(,)?]) => {
        Expected::Loaded {
            keys: $keys,
            skipped: vec![$((
                $index,
                (|e: &KeyError| matches!(e, $reason)) as Reason,
                stringify!($reason),
            )),*],
        }
    };
    ($keys:expr) => {
        Expected::Loaded { keys: $keys, skipped: Vec::new() }
    };
}

/// Loads `input` and compares the outcome with `expected`.
fn check(name: &str, input: &Input, expected: &Expected) {
    let outcome: Result<(usize, Vec<SkippedKey>), KeyLoadError> = match input {
        Input::Jwk(json) => {
            KeySet::from_jwk_json(json.as_bytes()).map(|s| (s.keys().len(), s.skipped().to_vec()))
        }
        Input::Jwks(json) => {
            KeySet::from_jwks_json(json.as_bytes()).map(|s| (s.keys().len(), s.skipped().to_vec()))
        }
        Input::Restricted(json, allowed) => KeySet::from_jwks_json(json.as_bytes())
            .unwrap_or_else(|e| panic!("case `{name}`: the set must load before `restrict`: {e}"))
            .restrict(*allowed)
            .map(|s| (s.keys().len(), s.skipped().to_vec())),
        Input::Private(json, alg) => SigningKey::from_json(json.as_bytes(), *alg)
            .map(|_| (1, Vec::new()))
            .map_err(KeyLoadError::from),
    };
    match (expected, &outcome) {
        (Expected::Refused(matches, text), Err(error)) => {
            assert!(
                matches(error),
                "case `{name}`: expected {text}, got {error:?}"
            );
        }
        (Expected::Loaded { keys, skipped }, Ok((loaded, actual))) => {
            assert_eq!(loaded, keys, "case `{name}`: usable keys");
            assert_eq!(
                actual.len(),
                skipped.len(),
                "case `{name}`: skipped keys {actual:?}"
            );
            for (actual, (index, reason, text)) in actual.iter().zip(skipped) {
                assert_eq!(actual.index, *index, "case `{name}`: skipped {actual:?}");
                assert!(
                    reason(&actual.reason),
                    "case `{name}`: skipped key {index} should be {text}, got {actual:?}"
                );
            }
        }
        (Expected::Refused(_, text), Ok(_)) => {
            panic!("case `{name}`: expected {text}, but it loaded: {outcome:?}")
        }
        (Expected::Loaded { .. }, Err(error)) => {
            panic!("case `{name}`: expected to load, got {error:?} ({error})")
        }
    }
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A random odd number of exactly `bits` bits (a multiple of 8): enough for the size checks, which
/// come before anything else looks at the modulus.
fn odd_modulus(bits: usize) -> String {
    let mut n = random_bytes(bits / 8);
    n[0] |= 0x80;
    *n.last_mut().unwrap() |= 1;
    b64(&n)
}

fn decode(text: &Value) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(text.as_str().unwrap()).unwrap()
}

fn public(alg: Algorithm) -> Map<String, Value> {
    key(alg).public_key().to_jwk()
}

fn private(alg: Algorithm) -> Map<String, Value> {
    key(alg).to_private_jwk()
}

/// `base` with the members of `edits` set, or removed where the edit is `null`.
fn edit(base: &Map<String, Value>, edits: Value) -> Map<String, Value> {
    let mut map = base.clone();
    for (name, value) in edits.as_object().unwrap() {
        if value.is_null() {
            map.remove(name);
        } else {
            map.insert(name.clone(), value.clone());
        }
    }
    map
}

fn jwk(map: Map<String, Value>) -> Input {
    Input::Jwk(Value::Object(map).to_string())
}

fn raw_jwk(value: Value) -> Input {
    Input::Jwk(value.to_string())
}

fn jwks(keys: Vec<Map<String, Value>>) -> String {
    let keys: Vec<Value> = keys.into_iter().map(Value::Object).collect();
    json!({ "keys": keys }).to_string()
}

fn set(keys: Vec<Map<String, Value>>) -> Input {
    Input::Jwks(jwks(keys))
}

fn signing(map: Map<String, Value>, alg: Option<Algorithm>) -> Input {
    Input::Private(Value::Object(map).to_string(), alg)
}

fn algs(list: &[Algorithm]) -> AlgSet {
    list.iter().copied().collect()
}

#[test]
fn single_key_refusals() {
    let ec = public(Algorithm::Es256);
    let ed = public(Algorithm::EdDsa);
    let rsa = public(Algorithm::Rs256);
    let n = rsa["n"].clone();
    let rsa_e = |e: &[u8]| raw_jwk(json!({"kty": "RSA", "n": n, "e": b64(e)}));
    let mut flipped_y = decode(&ec["y"]);
    *flipped_y.last_mut().unwrap() ^= 1;
    let x = decode(&ec["x"]);
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let secret = |len: usize| b64(&random_bytes(len));
    #[rustfmt::skip] // One row per line: name, input, expected.
    let cases: Vec<(&str, Input, Expected)> = vec![
        ("baseline EC P-256", jwk(ec.clone()), loaded!(1)),
        ("baseline Ed25519", jwk(ed.clone()), loaded!(1)),
        ("baseline RSA 2048", jwk(rsa.clone()), loaded!(1)),
        ("baseline oct 32 bytes", raw_jwk(json!({"kty": "oct", "k": secret(32)})), loaded!(1)),
        ("baseline RSA e = 65537 without alg", rsa_e(&[1, 0, 1]), loaded!(1)),
        // RSA
        ("RSA modulus of 1024 bits", raw_jwk(json!({"kty": "RSA", "n": odd_modulus(1024), "e": "AQAB"})), refused!(None, KeyError::RsaModulusTooSmall { bits: 1024, min: 2048 })),
        ("RSA modulus of 16384 bits", raw_jwk(json!({"kty": "RSA", "n": odd_modulus(16384), "e": "AQAB"})), refused!(None, KeyError::RsaModulusTooLarge { bits: 16384, max: 8192 })),
        ("RSA e = 1", rsa_e(&[1]), refused!(None, KeyError::RsaBadExponent)),
        ("RSA e = 2", rsa_e(&[2]), refused!(None, KeyError::RsaBadExponent)),
        ("RSA e = 65536 (even)", rsa_e(&[1, 0, 0]), refused!(None, KeyError::RsaBadExponent)),
        ("RSA e = 2^32 + 1 (odd, too large)", rsa_e(&[1, 0, 0, 0, 1]), refused!(None, KeyError::RsaBadExponent)),
        // EC
        ("EC point not on the curve (y bit flipped)", jwk(edit(&ec, json!({"y": b64(&flipped_y)}))), refused!(None, KeyError::PointNotOnCurve { crv: "P-256" })),
        ("secp256k1 point labelled P-256", jwk(edit(&public(Algorithm::Es256k), json!({"crv": "P-256", "alg": null}))), refused!(None, KeyError::PointNotOnCurve { crv: "P-256" })),
        ("P-256 coordinates labelled P-384", jwk(edit(&ec, json!({"crv": "P-384", "alg": null}))), refused!(None, KeyError::CoordinateLength { member: "x", expected: 48, found: 32 })),
        ("EC x with its leading byte stripped", jwk(edit(&ec, json!({"x": b64(&x[1..])}))), refused!(None, KeyError::CoordinateLength { member: "x", expected: 32, found: 31 })),
        ("EC y with its leading byte stripped", jwk(edit(&ec, json!({"y": b64(&flipped_y[1..])}))), refused!(None, KeyError::CoordinateLength { member: "y", expected: 32, found: 31 })),
        ("EC unknown curve P-192", jwk(edit(&ec, json!({"crv": "P-192", "alg": null}))), refused!(None, KeyError::UnsupportedCurve { crv } if crv == "P-192")),
        ("EC crv missing", jwk(edit(&ec, json!({"crv": null}))), refused!(None, KeyError::MissingMember { member: "crv" })),
        ("alg ES384 on a P-256 key", jwk(edit(&ec, json!({"alg": "ES384"}))), refused!(None, KeyError::AlgMismatch { alg: Algorithm::Es384, .. })),
        ("alg RS256 on an EC key", jwk(edit(&ec, json!({"alg": "RS256"}))), refused!(None, KeyError::AlgMismatch { alg: Algorithm::Rs256, .. })),
        ("alg ES256 on an RSA key", jwk(edit(&rsa, json!({"alg": "ES256"}))), refused!(None, KeyError::AlgMismatch { alg: Algorithm::Es256, .. })),
        // OKP
        ("Ed25519 small-order point (the identity)", jwk(edit(&ed, json!({"x": b64(&identity)}))), refused!(None, KeyError::WeakEd25519)),
        ("Ed25519 x of 31 bytes", jwk(edit(&ed, json!({"x": b64(&decode(&ed["x"])[1..])}))), refused!(None, KeyError::CoordinateLength { member: "x", expected: 32, found: 31 })),
        ("OKP X25519", raw_jwk(json!({"kty": "OKP", "crv": "X25519", "x": secret(32)})), refused!(None, KeyError::NotForSignatures { .. })),
        // oct
        ("HMAC key of 16 bytes", raw_jwk(json!({"kty": "oct", "k": secret(16)})), refused!(None, KeyError::HmacTooShort { len: 16, min: 32 })),
        ("HMAC key of 40 bytes with alg HS384", raw_jwk(json!({"kty": "oct", "alg": "HS384", "k": secret(40)})), refused!(None, KeyError::HmacTooShort { len: 40, min: 48 })),
        ("oct key with alg A128KW (AES key wrap)", raw_jwk(json!({"kty": "oct", "alg": "A128KW", "k": secret(16)})), refused!(None, KeyError::NotForSignatures { .. })),
        // use, key_ops, alg
        ("use enc", jwk(edit(&ec, json!({"use": "enc"}))), refused!(None, KeyError::NotForSignatures { .. })),
        ("use not a string", jwk(edit(&ec, json!({"use": ["sig"]}))), refused!(None, KeyError::MemberType { member: "use", .. })),
        ("key_ops [encrypt]", jwk(edit(&ec, json!({"use": null, "key_ops": ["encrypt"]}))), refused!(None, KeyError::NotForSignatures { .. })),
        ("key_ops [verify] accepted", jwk(edit(&ec, json!({"use": null, "key_ops": ["verify"]}))), loaded!(1)),
        ("key_ops with a duplicate", jwk(edit(&ec, json!({"use": null, "key_ops": ["verify", "verify"]}))), refused!(None, KeyError::MemberType { member: "key_ops", .. })),
        ("key_ops not an array", jwk(edit(&ec, json!({"use": null, "key_ops": "verify"}))), refused!(None, KeyError::MemberType { member: "key_ops", .. })),
        ("alg XYZ", jwk(edit(&ec, json!({"alg": "XYZ"}))), refused!(None, KeyError::UnknownAlgorithm { alg } if alg == "XYZ")),
        // private material in a verification key
        ("EC JWK with d", jwk(private(Algorithm::Es256)), refused!(None, KeyError::PrivateMaterial { member: "d" })),
        ("OKP JWK with d", jwk(private(Algorithm::EdDsa)), refused!(None, KeyError::PrivateMaterial { member: "d" })),
        ("RSA JWK with d", jwk(private(Algorithm::Rs256)), refused!(None, KeyError::PrivateMaterial { member: "d" })),
        ("RSA JWK with only qi", jwk(edit(&rsa, json!({"qi": "AQAB"}))), refused!(None, KeyError::PrivateMaterial { member: "qi" })),
        // structure
        ("kty missing", jwk(edit(&ec, json!({"kty": null}))), refused!(None, KeyError::MissingMember { member: "kty" })),
        ("kty not a string", jwk(edit(&ec, json!({"kty": 2}))), refused!(None, KeyError::MemberType { member: "kty", .. })),
        ("kty AKP", raw_jwk(json!({"kty": "AKP", "pub": secret(32)})), refused!(None, KeyError::UnsupportedKeyType { kty } if kty == "AKP")),
        ("padded base64 in x", jwk(edit(&ec, json!({"x": format!("{}=", b64(&x))}))), refused!(None, KeyError::Base64 { member: "x" })),
        ("standard base64 alphabet in k", raw_jwk(json!({"kty": "oct", "k": format!("{}+/", secret(33))})), refused!(None, KeyError::Base64 { member: "k" })),
        ("duplicate member in a JWK", Input::Jwk(format!(r#"{{"kty":"oct","kty":"oct","k":"{}"}}"#, secret(32))), refused!(None, KeyError::Json(edge_auth_core::JsonError::DuplicateMember { name }) if name == "kty")),
        ("JWK not an object", Input::Jwk(format!("[{}]", Value::Object(ec.clone()))), refused!(None, KeyError::Json(edge_auth_core::JsonError::NotObject))),
    ];
    for (name, input, expected) in &cases {
        check(name, input, expected);
    }
}

#[test]
fn key_set_rules() {
    let ec = public(Algorithm::Es256);
    let ed = public(Algorithm::EdDsa);
    let rsa = public(Algorithm::Rs256);
    let oct = public(Algorithm::Hs256);
    let other_ec = other_key(Algorithm::Es256).public_key().to_jwk();
    let rsa_enc = edit(&rsa, json!({"use": "enc", "alg": "RSA-OAEP", "kid": "enc"}));
    let oct_enc = json!({"kty": "oct", "alg": "A256KW", "k": b64(&random_bytes(32))});
    let weak_rsa = json!({"kty": "RSA", "n": odd_modulus(1024), "e": "AQAB"});
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let no_kid = edit(&ec, json!({"kid": null}));
    #[rustfmt::skip] // One row per line: name, input, expected.
    let cases: Vec<(&str, Input, Expected)> = vec![
        ("baseline: EC, Ed25519 and RSA", set(vec![ec.clone(), ed.clone(), rsa.clone()]), loaded!(3)),
        ("an oct key and an EC key", set(vec![oct.clone(), ec.clone()]), refused!(None, KeyError::MixedSymmetry)),
        ("two keys with the same kid and algorithm", set(vec![ec.clone(), other_ec.clone()]), refused!(Some(0), KeyError::DuplicateKid { kid } if kid == "k-ES256")),
        ("same kid and algorithm, after a skipped key", set(vec![rsa_enc.clone(), ec.clone(), ed.clone(), other_ec.clone()]), refused!(Some(1), KeyError::DuplicateKid { kid } if kid == "k-ES256")),
        ("same kid, RSA without alg and RSA with alg RS256", set(vec![edit(&public(Algorithm::Ps256), json!({"kid": "r", "alg": null})), edit(&rsa, json!({"kid": "r"}))]), refused!(Some(0), KeyError::DuplicateKid { kid } if kid == "r")),
        ("same kid, RSA with alg PS256 and RSA with alg RS256", set(vec![edit(&public(Algorithm::Ps256), json!({"kid": "r"})), edit(&rsa, json!({"kid": "r"}))]), loaded!(2)),
        ("same kid, different key types (P-256 and Ed25519)", set(vec![edit(&ec, json!({"kid": "same"})), edit(&ed, json!({"kid": "same"}))]), loaded!(2)),
        ("two keys without kid", set(vec![no_kid.clone(), edit(&other_ec, json!({"kid": null}))]), loaded!(2)),
        ("an encryption RSA key and a signing key", set(vec![rsa_enc.clone(), ec.clone()]), loaded!(1, skipped: [(0, KeyError::NotForSignatures { .. })])),
        ("an unknown curve is skipped", set(vec![ec.clone(), edit(&ec, json!({"crv": "P-192", "alg": null, "kid": "p192"}))]), loaded!(1, skipped: [(1, KeyError::UnsupportedCurve { .. })])),
        ("an Ed448 key without alg is skipped", set(vec![ec.clone(), json!({"kty": "OKP", "crv": "Ed448", "x": b64(&[9; 57])}).as_object().unwrap().clone()]), loaded!(1, skipped: [(1, KeyError::UnsupportedCurve { .. })])),
        ("an unknown key type is skipped", set(vec![ec.clone(), json!({"kty": "AKP", "pub": "AAAA"}).as_object().unwrap().clone()]), loaded!(1, skipped: [(1, KeyError::UnsupportedKeyType { .. })])),
        ("an X25519 key is skipped", set(vec![json!({"kty": "OKP", "crv": "X25519", "x": b64(&[9; 32])}).as_object().unwrap().clone(), ed.clone()]), loaded!(1, skipped: [(0, KeyError::NotForSignatures { .. })])),
        ("only encryption keys", set(vec![rsa_enc.clone(), oct_enc.as_object().unwrap().clone()]), refused!(None, KeyError::NoUsableKey)),
        ("empty keys array", Input::Jwks(r#"{"keys":[]}"#.into()), refused!(None, KeyError::NoUsableKey)),
        ("keys missing", raw_set(json!({"kty": "EC"})), refused!(None, KeyError::NotAKeySet)),
        ("keys not an array", raw_set(json!({"keys": Value::Object(ec.clone())})), refused!(None, KeyError::NotAKeySet)),
        ("a set that is not an object", Input::Jwks(format!("[{}]", Value::Object(ec.clone()))), refused!(None, KeyError::Json(edge_auth_core::JsonError::NotObject))),
        ("an entry that is not an object", raw_set(json!({"keys": [Value::Object(ec.clone()), "AAAA"]})), refused!(Some(1), KeyError::Json(edge_auth_core::JsonError::NotObject))),
        ("duplicate member inside an entry", Input::Jwks(format!(r#"{{"keys":[{},{{"kty":"EC","kty":"EC"}}]}}"#, Value::Object(ec.clone()))), refused!(None, KeyError::Json(edge_auth_core::JsonError::DuplicateMember { name }) if name == "kty")),
        ("MAX_KEYS keys (the limit)", set(vec![no_kid.clone(); MAX_KEYS]), loaded!(MAX_KEYS)),
        ("MAX_KEYS + 1 keys", set(vec![ec.clone(); MAX_KEYS + 1]), refused!(None, KeyError::TooManyKeys { max: 100 })),
        // A weak or malformed signature key refuses the whole set, naming its position.
        ("a 1024-bit RSA key at index 2", set(vec![ec.clone(), ed.clone(), weak_rsa.as_object().unwrap().clone()]), refused!(Some(2), KeyError::RsaModulusTooSmall { bits: 1024, .. })),
        ("a small-order Ed25519 key at index 0", set(vec![edit(&ed, json!({"x": b64(&identity)})), ec.clone()]), refused!(Some(0), KeyError::WeakEd25519)),
        ("a private EC key at index 1", set(vec![rsa.clone(), private(Algorithm::Es256)]), refused!(Some(1), KeyError::PrivateMaterial { member: "d" })),
        ("a mismatched alg at index 1", set(vec![ec.clone(), edit(&ed, json!({"alg": "ES256"}))]), refused!(Some(1), KeyError::AlgMismatch { alg: Algorithm::Es256, .. })),
        ("a short HMAC key at index 1", set(vec![oct.clone(), json!({"kty": "oct", "k": b64(&[7; 16])}).as_object().unwrap().clone()]), refused!(Some(1), KeyError::HmacTooShort { len: 16, min: 32 })),
        // restrict
        ("restrict: an ES256 key alone under an RS256-only allowlist", Input::Restricted(jwks(vec![ec.clone()]), algs(&[Algorithm::Rs256])), refused!(None, KeyError::NoAllowedAlgorithm { allowed } if allowed == "RS256")),
        ("restrict: an ES256 key next to an RS256 key is skipped", Input::Restricted(jwks(vec![ec.clone(), rsa.clone()]), algs(&[Algorithm::Rs256])), loaded!(1, skipped: [(0, KeyError::NoAllowedAlgorithm { .. })])),
        ("restrict: no key fits", Input::Restricted(jwks(vec![ec.clone(), ed.clone()]), algs(&[Algorithm::Rs256])), refused!(None, KeyError::NoUsableKey)),
        ("restrict: RSA without alg under PS256", Input::Restricted(jwks(vec![edit(&rsa, json!({"alg": null}))]), algs(&[Algorithm::Ps256])), loaded!(1)),
        ("restrict: RSA declaring RS256 under PS256", Input::Restricted(jwks(vec![rsa.clone()]), algs(&[Algorithm::Ps256])), refused!(None, KeyError::NoAllowedAlgorithm { .. })),
    ];
    for (name, input, expected) in &cases {
        check(name, input, expected);
    }
}

fn raw_set(value: Value) -> Input {
    Input::Jwks(value.to_string())
}

#[test]
fn signing_key_refusals() {
    let ec = private(Algorithm::Es256);
    let ed = private(Algorithm::EdDsa);
    let rsa = private(Algorithm::Rs256);
    let stranger_ec = other_key(Algorithm::Es256).to_private_jwk();
    let stranger_ed = other_key(Algorithm::EdDsa).to_private_jwk();
    let stranger_rsa = private(Algorithm::Ps256);
    #[rustfmt::skip] // One row per line: name, input, expected.
    let cases: Vec<(&str, Input, Expected)> = vec![
        ("baseline EC", signing(ec.clone(), None), loaded!(1)),
        ("baseline EC, matching alg argument", signing(ec.clone(), Some(Algorithm::Es256)), loaded!(1)),
        ("baseline Ed25519", signing(ed.clone(), None), loaded!(1)),
        ("baseline RSA", signing(rsa.clone(), None), loaded!(1)),
        ("baseline RSA without alg, PS512 argument", signing(edit(&rsa, json!({"alg": null})), Some(Algorithm::Ps512)), loaded!(1)),
        ("baseline oct", signing(private(Algorithm::Hs256), None), loaded!(1)),
        ("EC d of another key", signing(edit(&ec, json!({"d": stranger_ec["d"]})), None), refused!(None, KeyError::KeyMismatch)),
        ("Ed25519 d of another key", signing(edit(&ed, json!({"d": stranger_ed["d"]})), None), refused!(None, KeyError::KeyMismatch)),
        ("RSA d of another key", signing(edit(&rsa, json!({"d": stranger_rsa["d"]})), None), refused!(None, KeyError::KeyMismatch)),
        ("EC public-only JWK", signing(public(Algorithm::Es256), None), refused!(None, KeyError::NotPrivate)),
        ("Ed25519 public-only JWK", signing(public(Algorithm::EdDsa), None), refused!(None, KeyError::NotPrivate)),
        ("RSA public-only JWK", signing(public(Algorithm::Rs256), None), refused!(None, KeyError::NotPrivate)),
        ("EC d of 31 bytes", signing(edit(&ec, json!({"d": b64(&decode(&ec["d"])[1..])})), None), refused!(None, KeyError::CoordinateLength { member: "d", expected: 32, found: 31 })),
        ("RSA with oth (multi-prime)", signing(edit(&rsa, json!({"oth": [{"r": "AQAB", "d": "AQAB", "t": "AQAB"}]})), None), refused!(None, KeyError::MultiPrimeRsa)),
        ("alg argument ES384, key alg ES256", signing(ec.clone(), Some(Algorithm::Es384)), refused!(None, KeyError::AlgMismatch { alg: Algorithm::Es384, .. })),
        ("alg argument HS256 for an EC key without alg", signing(edit(&ec, json!({"alg": null})), Some(Algorithm::Hs256)), refused!(None, KeyError::AlgMismatch { alg: Algorithm::Hs256, .. })),
        ("use enc", signing(edit(&ec, json!({"use": "enc"})), None), refused!(None, KeyError::NotForSignatures { .. })),
        ("key_ops [verify] only", signing(edit(&ec, json!({"use": null, "key_ops": ["verify"]})), None), refused!(None, KeyError::NotForSignatures { .. })),
        ("HMAC key of 16 bytes", signing(json!({"kty": "oct", "k": b64(&[1; 16])}).as_object().unwrap().clone(), None), refused!(None, KeyError::HmacTooShort { len: 16, min: 32 })),
    ];
    for (name, input, expected) in &cases {
        check(name, input, expected);
    }
}

/// Every refusal of an oct key, through every loader: neither the message nor the `Debug` form contains
/// the secret.
#[test]
fn secrets_never_appear_in_key_errors() {
    for len in [16, 40, 47, 64] {
        let k = b64(&random_bytes(len));
        let oct = |extra: Value| {
            let mut map = json!({"kty": "oct", "k": k}).as_object().unwrap().clone();
            map.extend(extra.as_object().unwrap().clone());
            Value::Object(map).to_string()
        };
        let documents = [
            oct(json!({})),
            oct(json!({"alg": "HS384"})),
            oct(json!({"alg": "HS512"})),
            oct(json!({"alg": "A128KW"})),
            oct(json!({"alg": "ES256"})),
            oct(json!({"alg": "XYZ"})),
            oct(json!({"use": "enc"})),
            oct(json!({"key_ops": ["encrypt"]})),
            oct(json!({"key_ops": ["verify", "verify"]})),
            format!(r#"{{"kty":"oct","k":"{k}","k":"{k}"}}"#),
            format!(r#"{{"kty":"oct","k":"{k}="}}"#),
            format!(r#"{{"kty":"oct","k":"{k}""#),
        ];
        let ec = Value::Object(public(Algorithm::Es256));
        let mut errors: Vec<KeyLoadError> = Vec::new();
        for document in &documents {
            errors.extend(KeySet::from_jwk_json(document.as_bytes()).err());
            errors.extend(
                KeySet::from_jwks_json(format!(r#"{{"keys":[{document}]}}"#).as_bytes()).err(),
            );
            errors.extend(
                KeySet::from_jwks_json(format!(r#"{{"keys":[{ec},{document}]}}"#).as_bytes()).err(),
            );
            for alg in [
                None,
                Some(Algorithm::Hs256),
                Some(Algorithm::Hs512),
                Some(Algorithm::Es256),
            ] {
                errors.extend(
                    SigningKey::from_json(document.as_bytes(), alg)
                        .err()
                        .map(KeyLoadError::from),
                );
            }
        }
        // A good key restricted to an allowlist it cannot serve.
        let good = format!(r#"{{"keys":[{}]}}"#, oct(json!({"alg": "HS256"})));
        if let Ok(set) = KeySet::from_jwks_json(good.as_bytes()) {
            errors.extend(set.restrict(algs(&[Algorithm::Hs512])).err());
        }
        assert!(
            errors.len() > 30,
            "{len} bytes: only {} errors collected",
            errors.len()
        );
        for error in &errors {
            for text in [
                error.to_string(),
                error.error.to_string(),
                format!("{error:?}"),
            ] {
                assert!(
                    !text.contains(&k),
                    "{len}-byte secret in the message: {text}"
                );
            }
        }
    }
}

/// The skipped keys of a set are indexed by their position in the JWK Set, also after `restrict`.
#[test]
fn restrict_reports_skipped_keys_at_their_jwks_position() {
    let rsa_enc = edit(
        &public(Algorithm::Rs256),
        json!({"use": "enc", "alg": "RSA-OAEP", "kid": "enc"}),
    );
    check(
        "restrict after a skipped encryption key",
        &Input::Restricted(
            jwks(vec![
                rsa_enc,
                public(Algorithm::Es256),
                public(Algorithm::Rs256),
            ]),
            algs(&[Algorithm::Rs256]),
        ),
        &loaded!(1, skipped: [
            (0, KeyError::NotForSignatures { .. }),
            (1, KeyError::NoAllowedAlgorithm { .. }),
        ]),
    );
}

/// A key of an unknown type or curve is skipped in a set (RFC 7517 §5), also when it names an
/// algorithm this verifier does not know, as AKP (ML-DSA) and Ed448 keys do.
#[test]
fn unknown_key_type_with_its_own_alg_is_skipped() {
    let akp = json!({"kty": "AKP", "alg": "ML-DSA-44", "pub": "AAAA"});
    check(
        "AKP key with alg ML-DSA-44 next to an EC key",
        &set(vec![
            public(Algorithm::Es256),
            akp.as_object().unwrap().clone(),
        ]),
        &loaded!(1, skipped: [(1, KeyError::UnsupportedKeyType { .. })]),
    );
    let ed448 = json!({"kty": "OKP", "crv": "Ed448", "alg": "Ed448", "x": b64(&[9; 57])});
    check(
        "Ed448 key with alg Ed448 next to an EC key",
        &set(vec![
            public(Algorithm::Es256),
            ed448.as_object().unwrap().clone(),
        ]),
        &loaded!(1, skipped: [(1, KeyError::UnsupportedCurve { .. })]),
    );
}

/// Remote-key issuers: no keys until the adapter loads a set; `adopt` restricts it to the issuer's
/// algorithms; `route` + `select_from` verify with it.
#[test]
fn remote_key_issuers() {
    use edge_auth_core::{IssuerPolicy, Limits, UnixTime, Verifier};
    use std::sync::Arc;
    let key = SigningKey::generate(Algorithm::Es256, None, &mut rand_core::OsRng).unwrap();
    let other = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng).unwrap();
    let policy = IssuerPolicy::builder_remote("https://idp.example/", [Algorithm::Es256])
        .audiences(["api"])
        .build()
        .unwrap();
    assert!(policy.is_remote());
    let verifier = Verifier::new(vec![policy], Limits::default()).unwrap();
    let claims =
        serde_json::json!({"iss": "https://idp.example/", "aud": "api", "exp": 4_000_000_000u64});
    let token = edge_auth_core::mint(&key, claims.as_object().unwrap(), &Default::default());
    let now = UnixTime(1_700_000_000);
    assert_eq!(
        verifier.verify(&token, now).unwrap_err().code(),
        "keys_unavailable"
    );
    let jwks = serde_json::json!({"keys": [
        serde_json::Value::Object(key.public_key().to_jwk()),
        serde_json::Value::Object(other.public_key().to_jwk()),
    ]})
    .to_string();
    let fetched = KeySet::from_jwks_json(jwks.as_bytes()).unwrap();
    let routed = verifier.route(&token).unwrap();
    assert_eq!(routed.issuer_index(), 0);
    let adopted = Arc::new(routed.policy().adopt(fetched).unwrap());
    // The EdDSA key fits no allowed algorithm: skipped, reported.
    assert_eq!(adopted.keys().len(), 1);
    assert_eq!(adopted.skipped().len(), 1);
    let verified = routed
        .select_from(Arc::clone(&adopted))
        .unwrap()
        .verify_signature(&edge_auth_core::RustCrypto)
        .unwrap()
        .check_claims(now)
        .unwrap();
    assert_eq!(
        verified.registered().iss.as_deref(),
        Some("https://idp.example/")
    );
    // A token signed by a key the set does not hold is key_not_found (the adapter's cue to refetch).
    let stranger =
        SigningKey::generate(Algorithm::Es256, Some("new".into()), &mut rand_core::OsRng).unwrap();
    let token = edge_auth_core::mint(
        &stranger,
        claims.as_object().unwrap(),
        &edge_auth_core::MintOptions {
            kid: Some("new"),
            typ: None,
        },
    );
    let err = verifier
        .route(&token)
        .unwrap()
        .select_from(adopted)
        .unwrap_err();
    assert_eq!(err.code(), "key_not_found");
}

/// ROCA (CVE-2017-15361) moduli from `vectors/roca.json`, refused at load; the control key loads. Every
/// case runs through `check`, and their number is asserted, so a vector cannot be skipped silently.
#[test]
fn roca_moduli_are_refused() {
    let file: Value = serde_json::from_str(include_str!("vectors/roca.json")).unwrap();
    let cases = file["cases"].as_array().unwrap();
    let mut refused = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = raw_jwk(case["jwk"].clone());
        if case["roca"].as_bool().unwrap() {
            check(name, &input, &refused!(None, KeyError::RsaRoca));
            refused += 1;
        } else {
            check(name, &input, &loaded!(1));
        }
    }
    assert_eq!((cases.len(), refused), (3, 2));
}
