//! One named case per attack, each asserting the exact stable error code, all through one `check`.
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
use edge_auth_core::{
    Algorithm, IssuerPolicy, KeySet, Limits, RustCrypto, SignatureBackend, SignatureCheck,
    SignatureError, SigningKey, UnixTime, Verifier,
};
use serde_json::json;

/// Verifies `token` at `NOW` and compares the outcome with `expected` (`"ok"` or an error code).
fn check(name: &str, verifier: &Verifier, token: &str, expected: &str) {
    let actual = match verifier.verify(token, UnixTime(NOW)) {
        Ok(_) => "ok",
        Err(e) => e.code(),
    };
    assert_eq!(actual, expected, "case `{name}`");
}

fn es256() -> (&'static SigningKey, Verifier) {
    let key = key(Algorithm::Es256);
    (key, verifier_for(&[key], &[Algorithm::Es256]))
}

fn with_signature(token: &str, signature: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", b64(signature))
}

fn signature_of(token: &str) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(token.rsplit_once('.').unwrap().1).unwrap()
}

const CLAIMS: &str =
    r#"{"iss":"https://idp.example.com/","aud":"https://api.example.com","exp":1700000300}"#;

#[test]
fn header_attacks() {
    let (key, verifier) = es256();
    let kid = key.kid().unwrap();
    let h = |extra: &str| format!(r#"{{"alg":"ES256","kid":"{kid}"{extra}}}"#);
    let other = other_key(Algorithm::Es256);
    let attacker_jwk = serde_json::Value::Object(other.public_key().to_jwk()).to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        ("baseline", raw_token(&h(""), CLAIMS, key), "ok"),
        (
            "alg none",
            format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(CLAIMS.as_bytes())),
            "alg_not_allowed",
        ),
        (
            "alg None",
            format!("{}.{}.", b64(br#"{"alg":"None"}"#), b64(CLAIMS.as_bytes())),
            "alg_not_allowed",
        ),
        (
            "alg NONE",
            format!("{}.{}.", b64(br#"{"alg":"NONE"}"#), b64(CLAIMS.as_bytes())),
            "alg_not_allowed",
        ),
        (
            "alg nOnE with a signature",
            raw_token(r#"{"alg":"nOnE"}"#, CLAIMS, key),
            "alg_not_allowed",
        ),
        (
            "alg missing",
            raw_token(&format!(r#"{{"kid":"{kid}"}}"#), CLAIMS, key),
            "token_malformed",
        ),
        (
            "alg not a string",
            raw_token(r#"{"alg":["ES256"]}"#, CLAIMS, key),
            "token_malformed",
        ),
        (
            "alg lower-case es256",
            raw_token(r#"{"alg":"es256"}"#, CLAIMS, key),
            "alg_not_allowed",
        ),
        (
            "alg unknown",
            raw_token(r#"{"alg":"ES999"}"#, CLAIMS, key),
            "alg_not_allowed",
        ),
        (
            "alg not in allowlist (ES384 header)",
            raw_token(r#"{"alg":"ES384"}"#, CLAIMS, key),
            "alg_not_allowed",
        ),
        (
            "embedded jwk (attacker's own key)",
            raw_token(
                &format!(r#"{{"alg":"ES256","jwk":{attacker_jwk}}}"#),
                CLAIMS,
                &other,
            ),
            "embedded_key_refused",
        ),
        (
            "jku",
            raw_token(&h(r#","jku":"https://attacker.example/jwks""#), CLAIMS, key),
            "embedded_key_refused",
        ),
        (
            "x5u",
            raw_token(&h(r#","x5u":"https://attacker.example/cert""#), CLAIMS, key),
            "embedded_key_refused",
        ),
        (
            "x5c",
            raw_token(&h(r#","x5c":["MIIB"]"#), CLAIMS, key),
            "embedded_key_refused",
        ),
        (
            "crit unknown",
            raw_token(&h(r#","crit":["exp"],"exp":1"#), CLAIMS, key),
            "crit_unsupported",
        ),
        (
            "crit b64",
            raw_token(&h(r#","crit":["b64"],"b64":true"#), CLAIMS, key),
            "crit_unsupported",
        ),
        (
            "crit empty array",
            raw_token(&h(r#","crit":[]"#), CLAIMS, key),
            "token_malformed",
        ),
        (
            "crit not an array",
            raw_token(&h(r#","crit":"exp""#), CLAIMS, key),
            "token_malformed",
        ),
        (
            "b64 false",
            raw_token(&h(r#","b64":false,"crit":["b64"]"#), CLAIMS, key),
            "token_unsupported",
        ),
        (
            "cty JWT (nested)",
            raw_token(&h(r#","cty":"JWT""#), CLAIMS, key),
            "token_unsupported",
        ),
        (
            "cty application/jwt (nested)",
            raw_token(&h(r#","cty":"application/jwt""#), CLAIMS, key),
            "token_unsupported",
        ),
        (
            "enc in header (JWE)",
            raw_token(&h(r#","enc":"A256GCM""#), CLAIMS, key),
            "token_unsupported",
        ),
        (
            "duplicate alg member",
            raw_token(
                &format!(r#"{{"alg":"ES256","kid":"{kid}","alg":"none"}}"#),
                CLAIMS,
                key,
            ),
            "token_malformed",
        ),
        (
            "kid not a string",
            raw_token(r#"{"alg":"ES256","kid":7}"#, CLAIMS, key),
            "token_malformed",
        ),
        (
            "typ not a string",
            raw_token(&h(r#","typ":1"#), CLAIMS, key),
            "token_malformed",
        ),
        (
            "header not an object",
            raw_token(r#"["ES256"]"#, CLAIMS, key),
            "token_malformed",
        ),
        (
            "kid unknown",
            raw_token(r#"{"alg":"ES256","kid":"nope"}"#, CLAIMS, key),
            "key_not_found",
        ),
        (
            "kid path traversal",
            raw_token(
                r#"{"alg":"ES256","kid":"../../../../etc/passwd"}"#,
                CLAIMS,
                key,
            ),
            "key_not_found",
        ),
        (
            "no kid, one key",
            raw_token(r#"{"alg":"ES256"}"#, CLAIMS, key),
            "ok",
        ),
        (
            "signed by another key with the same kid",
            raw_token(&h(""), CLAIMS, &other),
            "signature_invalid",
        ),
    ];
    for (name, token, expected) in &cases {
        check(name, &verifier, token, expected);
    }
}

#[test]
fn structure_attacks() {
    let (key, verifier) = es256();
    let good = token(key, &good_claims());
    let (header, rest) = good.split_once('.').unwrap();
    let (payload, sig) = rest.split_once('.').unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("baseline", good.clone(), "ok"),
        (
            "two parts",
            format!("{header}.{payload}"),
            "token_malformed",
        ),
        ("four parts", format!("{good}.{sig}"), "token_malformed"),
        (
            "five parts (JWE)",
            format!("{header}.{payload}.{sig}.{sig}.{sig}"),
            "token_unsupported",
        ),
        (
            "JSON serialization",
            json!({"payload": payload, "protected": header, "signature": sig}).to_string(),
            "token_unsupported",
        ),
        ("empty", String::new(), "token_malformed"),
        (
            "padding on the signature",
            format!("{good}="),
            "token_malformed",
        ),
        (
            "standard base64 '+' in place of '-'",
            format!("{header}.{payload}.+{}", &sig[1..]),
            "token_malformed",
        ),
        (
            "standard base64 '/' in place of '_'",
            format!("{header}.{payload}.{}/", &sig[..sig.len() - 1]),
            "token_malformed",
        ),
        (
            "character outside the alphabet",
            format!("{header}.{payload}.{sig}!"),
            "token_malformed",
        ),
        (
            "whitespace inside",
            format!("{header}. {payload}.{sig}"),
            "token_malformed",
        ),
        ("leading whitespace", format!(" {good}"), "token_malformed"),
        (
            "too large (checked before decoding)",
            "a".repeat(9000),
            "token_too_large",
        ),
        (
            "too large even when well-formed",
            token(
                key,
                &json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "pad": "x".repeat(9000)}),
            ),
            "token_too_large",
        ),
        (
            "payload not an object",
            raw_token(
                &format!(r#"{{"alg":"ES256","kid":"{}"}}"#, key.kid().unwrap()),
                "[1,2]",
                key,
            ),
            "token_malformed",
        ),
        (
            "payload not JSON",
            raw_token(r#"{"alg":"ES256"}"#, "hello", key),
            "token_malformed",
        ),
        (
            "duplicate claim (exp twice)",
            raw_token(
                r#"{"alg":"ES256"}"#,
                r#"{"iss":"https://idp.example.com/","aud":"https://api.example.com","exp":1700000300,"exp":1}"#,
                key,
            ),
            "token_malformed",
        ),
        (
            "duplicate nested member",
            raw_token(
                r#"{"alg":"ES256"}"#,
                r#"{"iss":"https://idp.example.com/","aud":"https://api.example.com","exp":1700000300,"r":{"a":1,"a":2}}"#,
                key,
            ),
            "token_malformed",
        ),
    ];
    for (name, token, expected) in &cases {
        check(name, &verifier, token, expected);
    }
    // Non-zero trailing bits: a 64-byte signature is 86 base64url characters whose last one carries 4
    // padding bits; setting one of them decodes to the same bytes in a lax decoder.
    let last = sig.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).unwrap();
    assert_eq!(
        index % 16,
        0,
        "a canonical last character has its 4 low bits clear"
    );
    let lax = alphabet.chars().nth(index + 1).unwrap();
    let token = format!("{header}.{payload}.{}{lax}", &sig[..sig.len() - 1]);
    check(
        "non-zero trailing bits",
        &verifier,
        &token,
        "token_malformed",
    );
}

#[test]
fn ecdsa_signature_form_attacks() {
    for alg in [
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::Es256k,
    ] {
        let key = key(alg);
        let verifier = verifier_for(&[key], &[alg]);
        let good = token(key, &good_claims());
        let sig = signature_of(&good);
        let half = sig.len() / 2;
        let (r, s) = sig.split_at(half);
        // DER: SEQUENCE { INTEGER r, INTEGER s } with leading zeros for the sign bit.
        let der_int = |v: &[u8]| {
            let mut v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
            if v.first().is_some_and(|b| b & 0x80 != 0) {
                v.insert(0, 0);
            }
            let mut out = vec![0x02, u8::try_from(v.len()).unwrap()];
            out.extend(v);
            out
        };
        let mut body = der_int(r);
        body.extend(der_int(s));
        let mut der = vec![0x30];
        if body.len() > 127 {
            der.push(0x81);
        }
        der.push(u8::try_from(body.len()).unwrap());
        der.extend(body);
        let mut longer = sig.clone();
        longer.push(0);
        let mut zero_r = sig.clone();
        zero_r[..half].fill(0);
        let mut max_s = sig.clone();
        max_s[half..].fill(0xff); // above the group order for every curve here
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("all-zero signature", vec![0; sig.len()]),
            ("DER-encoded signature", der),
            ("over-long signature", longer),
            ("truncated signature", sig[..sig.len() - 1].to_vec()),
            ("r = 0", zero_r),
            ("s out of range", max_s),
            ("r and s swapped", [s, r].concat()),
            ("empty signature", Vec::new()),
        ];
        check(&format!("{alg} baseline"), &verifier, &good, "ok");
        for (name, bad) in cases {
            check(
                &format!("{alg} {name}"),
                &verifier,
                &with_signature(&good, &bad),
                "signature_invalid",
            );
        }
    }
}

#[test]
fn rsa_and_hmac_signature_length_attacks() {
    for alg in [
        Algorithm::Rs256,
        Algorithm::Ps256,
        Algorithm::Hs256,
        Algorithm::Hs512,
        Algorithm::EdDsa,
    ] {
        let key = key(alg);
        let verifier = verifier_for(&[key], &[alg]);
        let good = token(key, &good_claims());
        let sig = signature_of(&good);
        let mut leading_zero = vec![0];
        leading_zero.extend(&sig);
        check(&format!("{alg} baseline"), &verifier, &good, "ok");
        check(
            &format!("{alg} truncated"),
            &verifier,
            &with_signature(&good, &sig[..sig.len() - 1]),
            "signature_invalid",
        );
        check(
            &format!("{alg} leading zero byte"),
            &verifier,
            &with_signature(&good, &leading_zero),
            "signature_invalid",
        );
        check(
            &format!("{alg} empty"),
            &verifier,
            &with_signature(&good, &[]),
            "signature_invalid",
        );
        check(
            &format!("{alg} all zero"),
            &verifier,
            &with_signature(&good, &vec![0; sig.len()]),
            "signature_invalid",
        );
    }
}

#[test]
fn algorithm_confusion_attacks() {
    // HS256 signed with the RSA public key's modulus as the HMAC secret, sent to an RS256 issuer.
    let rsa = key(Algorithm::Rs256);
    let rsa_jwk = rsa.public_key().to_jwk();
    let n = rsa_jwk["n"].as_str().unwrap();
    let confused = SigningKey::from_json(
        json!({"kty": "oct", "k": n}).to_string().as_bytes(),
        Some(Algorithm::Hs256),
    )
    .unwrap();
    let verifier = verifier_for(&[rsa], &[Algorithm::Rs256]);
    check(
        "HS256 with the RSA key as secret",
        &verifier,
        &raw_token(r#"{"alg":"HS256"}"#, CLAIMS, &confused),
        "alg_not_allowed",
    );
    check(
        "HS256 with the RSA key, naming its kid",
        &verifier,
        &raw_token(
            &format!(r#"{{"alg":"HS256","kid":"{}"}}"#, rsa.kid().unwrap()),
            CLAIMS,
            &confused,
        ),
        "alg_not_allowed",
    );

    // Same with an EC public key.
    let ec = key(Algorithm::Es256);
    let verifier = verifier_for(&[ec], &[Algorithm::Es256]);
    let x = ec.public_key().to_jwk()["x"].as_str().unwrap().to_owned();
    let confused = SigningKey::from_json(
        json!({"kty": "oct", "k": x}).to_string().as_bytes(),
        Some(Algorithm::Hs256),
    )
    .unwrap();
    check(
        "HS256 with the EC x coordinate as secret",
        &verifier,
        &raw_token(r#"{"alg":"HS256"}"#, CLAIMS, &confused),
        "alg_not_allowed",
    );

    // An issuer that allows ES256 and RS256 but has only an RSA key: an ES256 token finds no key.
    let keys = KeySet::from_jwks_json(jwks_of(&[rsa]).as_bytes()).unwrap();
    let policy = IssuerPolicy::builder(ISS, [Algorithm::Rs256, Algorithm::Es256], keys)
        .audiences([AUD])
        .build()
        .unwrap();
    let verifier = Verifier::new(vec![policy], Limits::default()).unwrap();
    check(
        "ES256 token, RSA-only key set",
        &verifier,
        &raw_token(r#"{"alg":"ES256"}"#, CLAIMS, ec),
        "key_not_found",
    );
    check(
        "ES256 token naming the RSA key's kid",
        &verifier,
        &raw_token(
            &format!(r#"{{"alg":"ES256","kid":"{}"}}"#, rsa.kid().unwrap()),
            CLAIMS,
            ec,
        ),
        "key_not_found",
    );

    // PS256 and RS256 share a key type, but a key that declares `alg: RS256` never verifies PS256.
    let ps_token = raw_token(
        &format!(r#"{{"alg":"PS256","kid":"{}"}}"#, rsa.kid().unwrap()),
        CLAIMS,
        key(Algorithm::Ps256),
    );
    let keys = KeySet::from_jwks_json(jwks_of(&[rsa]).as_bytes()).unwrap();
    let policy = IssuerPolicy::builder(ISS, [Algorithm::Rs256, Algorithm::Ps256], keys)
        .audiences([AUD])
        .build()
        .unwrap();
    let verifier = Verifier::new(vec![policy], Limits::default()).unwrap();
    check(
        "PS256 token against a key declaring RS256",
        &verifier,
        &ps_token,
        "key_not_found",
    );

    // Mixing HMAC and asymmetric algorithms in one issuer is refused at configuration time.
    let keys = KeySet::from_jwks_json(jwks_of(&[rsa]).as_bytes()).unwrap();
    let error = IssuerPolicy::builder(ISS, [Algorithm::Rs256, Algorithm::Hs256], keys)
        .audiences([AUD])
        .build()
        .unwrap_err();
    assert_eq!(error.field, "algorithms");
}

/// Counts the checks a backend is asked to run.
struct Counting(std::cell::Cell<usize>);

impl SignatureBackend for Counting {
    fn verify(&self, check: &SignatureCheck<'_>) -> Result<(), SignatureError> {
        self.0.set(self.0.get() + 1);
        RustCrypto.verify(check)
    }
}

fn anonymous(alg: Algorithm) -> SigningKey {
    SigningKey::generate(alg, None, &mut rand_core::OsRng).unwrap()
}

fn without_kid(key: &SigningKey) -> serde_json::Value {
    let mut jwk = key.public_key().to_jwk();
    jwk.remove("kid");
    serde_json::Value::Object(jwk)
}

#[test]
fn untargeted_key_selection_is_bounded_and_typed() {
    let ec: Vec<SigningKey> = (0..5).map(|_| anonymous(Algorithm::Es256)).collect();
    let ed = anonymous(Algorithm::EdDsa);
    let build = |keys: Vec<serde_json::Value>| {
        let set = KeySet::from_jwks_json(json!({"keys": keys}).to_string().as_bytes()).unwrap();
        let policy = IssuerPolicy::builder(ISS, [Algorithm::Es256, Algorithm::EdDsa], set)
            .audiences([AUD])
            .build()
            .unwrap();
        Verifier::new(vec![policy], Limits::default()).unwrap()
    };
    // Four EC keys plus an Ed25519 key, none with a kid; the token is signed by the last EC key.
    let mut jwks: Vec<_> = ec[..4].iter().map(without_kid).collect();
    jwks.insert(0, without_kid(&ed));
    let verifier = build(jwks);
    let token = raw_token(r#"{"alg":"ES256"}"#, CLAIMS, &ec[3]);
    let counting = Counting(std::cell::Cell::new(0));
    verifier
        .verify_with(&token, UnixTime(NOW), &counting)
        .unwrap();
    assert_eq!(
        counting.0.get(),
        4,
        "only the ES256-compatible keys are tried, in order"
    );

    // A token whose kid names no key is matched against kid-less keys only.
    let named = raw_token(r#"{"alg":"ES256","kid":"whatever"}"#, CLAIMS, &ec[0]);
    check(
        "unknown kid falls back to kid-less keys",
        &verifier,
        &named,
        "ok",
    );

    // Five compatible kid-less keys exceed the bound of four.
    let verifier = build(ec.iter().map(without_kid).collect());
    let counting = Counting(std::cell::Cell::new(0));
    let error = verifier
        .verify_with(&token, UnixTime(NOW), &counting)
        .unwrap_err();
    assert_eq!(error.code(), "key_ambiguous");
    assert_eq!(
        counting.0.get(),
        0,
        "nothing is tried when the bound is exceeded"
    );
}

#[test]
fn claim_attacks() {
    let (key, verifier) = es256();
    let strict = {
        let keys = KeySet::from_jwks_json(jwks_of(&[key]).as_bytes()).unwrap();
        let policy = IssuerPolicy::builder(ISS, [Algorithm::Es256], keys)
            .audiences([AUD, "second"])
            .max_age(3600)
            .require_sub()
            .require_claims(["tenant"])
            .typ("at+jwt")
            .build()
            .unwrap();
        Verifier::new(vec![policy], Limits::default()).unwrap()
    };
    let t = |claims: serde_json::Value| token(key, &claims);
    let typed = |typ: &str, claims: serde_json::Value| {
        raw_token(
            &json!({"alg": "ES256", "kid": key.kid(), "typ": typ}).to_string(),
            &claims.to_string(),
            key,
        )
    };
    let full = json!({"iss": ISS, "aud": AUD, "sub": "u", "tenant": "t", "iat": NOW - 10, "exp": NOW + 300});
    let patch = |k: &str, v: serde_json::Value| {
        let mut c = full.clone();
        c[k] = v;
        c
    };
    let remove = |k: &str| {
        let mut c = full.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    let cases: Vec<(&str, &Verifier, String, &str)> = vec![
        ("baseline", &verifier, t(good_claims()), "ok"),
        (
            "exp as a string is not 'no expiry'",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": "9999999999"})),
            "claim_invalid",
        ),
        (
            "exp null",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": null})),
            "claim_invalid",
        ),
        (
            "exp boolean",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": true})),
            "claim_invalid",
        ),
        (
            "exp huge float",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": 1e300})),
            "claim_invalid",
        ),
        (
            "exp beyond i64",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": u64::MAX})),
            "claim_invalid",
        ),
        (
            "exp fractional, still valid",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": (NOW + 300) as f64 + 0.5})),
            "ok",
        ),
        (
            "exp missing (required by default)",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD})),
            "claim_missing",
        ),
        (
            "expired beyond leeway",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": NOW - 60})),
            "token_expired",
        ),
        (
            "expired within leeway",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": NOW - 59})),
            "ok",
        ),
        (
            "nbf in the future beyond leeway",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "nbf": NOW + 61})),
            "token_not_yet_valid",
        ),
        (
            "nbf within leeway",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "nbf": NOW + 60})),
            "ok",
        ),
        (
            "nbf as a string",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "nbf": "0"})),
            "claim_invalid",
        ),
        (
            "iat in the future",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "iat": NOW + 61})),
            "token_issued_in_future",
        ),
        (
            "iat as a string",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "iat": "1"})),
            "claim_invalid",
        ),
        (
            "iss unknown",
            &verifier,
            t(json!({"iss": "https://evil.example/", "aud": AUD, "exp": NOW + 300})),
            "issuer_unknown",
        ),
        (
            "iss differs by a trailing slash",
            &verifier,
            t(json!({"iss": "https://idp.example.com", "aud": AUD, "exp": NOW + 300})),
            "issuer_unknown",
        ),
        (
            "iss missing",
            &verifier,
            t(json!({"aud": AUD, "exp": NOW + 300})),
            "issuer_unknown",
        ),
        (
            "iss not a string",
            &verifier,
            t(json!({"iss": [ISS], "aud": AUD, "exp": NOW + 300})),
            "claim_invalid",
        ),
        (
            "aud mismatch",
            &verifier,
            t(json!({"iss": ISS, "aud": "https://other.example", "exp": NOW + 300})),
            "audience_mismatch",
        ),
        (
            "aud missing",
            &verifier,
            t(json!({"iss": ISS, "exp": NOW + 300})),
            "audience_mismatch",
        ),
        (
            "aud array containing ours",
            &verifier,
            t(json!({"iss": ISS, "aud": ["x", AUD], "exp": NOW + 300})),
            "ok",
        ),
        (
            "aud empty array",
            &verifier,
            t(json!({"iss": ISS, "aud": [], "exp": NOW + 300})),
            "audience_mismatch",
        ),
        (
            "aud array with a number",
            &verifier,
            t(json!({"iss": ISS, "aud": [AUD, 1], "exp": NOW + 300})),
            "claim_invalid",
        ),
        (
            "aud object",
            &verifier,
            t(json!({"iss": ISS, "aud": {"a": AUD}, "exp": NOW + 300})),
            "claim_invalid",
        ),
        (
            "sub not a string",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "sub": 42})),
            "claim_invalid",
        ),
        (
            "jti not a string",
            &verifier,
            t(json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "jti": 42})),
            "claim_invalid",
        ),
        (
            "strict: baseline with typ at+jwt",
            &strict,
            typed("at+jwt", full.clone()),
            "ok",
        ),
        (
            "strict: typ application/AT+JWT",
            &strict,
            typed("application/AT+JWT", full.clone()),
            "ok",
        ),
        (
            "strict: typ JWT",
            &strict,
            typed("JWT", full.clone()),
            "typ_mismatch",
        ),
        (
            "strict: typ missing",
            &strict,
            raw_token(&json!({"alg": "ES256"}).to_string(), &full.to_string(), key),
            "typ_mismatch",
        ),
        (
            "strict: second audience",
            &strict,
            typed("at+jwt", patch("aud", json!("second"))),
            "ok",
        ),
        (
            "strict: sub missing",
            &strict,
            typed("at+jwt", remove("sub")),
            "claim_missing",
        ),
        (
            "strict: required claim missing",
            &strict,
            typed("at+jwt", remove("tenant")),
            "claim_missing",
        ),
        (
            "strict: required claim null",
            &strict,
            typed("at+jwt", patch("tenant", json!(null))),
            "claim_missing",
        ),
        (
            "strict: iat missing with max age",
            &strict,
            typed("at+jwt", remove("iat")),
            "claim_missing",
        ),
        (
            "strict: older than max age",
            &strict,
            typed("at+jwt", patch("iat", json!(NOW - 3600 - 61))),
            "token_too_old",
        ),
        (
            "strict: max age within leeway",
            &strict,
            typed("at+jwt", patch("iat", json!(NOW - 3600 - 60))),
            "ok",
        ),
    ];
    for (name, verifier, token, expected) in &cases {
        check(name, verifier, token, expected);
    }
}

#[test]
fn multiple_issuers_each_with_their_own_keys() {
    let a = key(Algorithm::Es256);
    let b = key(Algorithm::EdDsa);
    let policy = |iss: &str, key: &SigningKey, alg| {
        let keys = KeySet::from_jwks_json(jwks_of(&[key]).as_bytes()).unwrap();
        IssuerPolicy::builder(iss, [alg], keys)
            .audiences([AUD])
            .build()
            .unwrap()
    };
    let verifier = Verifier::new(
        vec![
            policy("https://a.example/", a, Algorithm::Es256),
            policy("https://b.example/", b, Algorithm::EdDsa),
        ],
        Limits::default(),
    )
    .unwrap();
    let claims = |iss: &str| json!({"iss": iss, "aud": AUD, "exp": NOW + 300});
    check(
        "issuer a",
        &verifier,
        &token(a, &claims("https://a.example/")),
        "ok",
    );
    check(
        "issuer b",
        &verifier,
        &token(b, &claims("https://b.example/")),
        "ok",
    );
    // A's key cannot speak for B: B's policy allows only EdDSA.
    check(
        "a's key claiming b",
        &verifier,
        &token(a, &claims("https://b.example/")),
        "alg_not_allowed",
    );
    // Same algorithm, wrong issuer's key.
    let b2 = other_key(Algorithm::EdDsa);
    check(
        "another EdDSA key claiming b",
        &verifier,
        &token(&b2, &claims("https://b.example/")),
        "signature_invalid",
    );
    // The same issuer twice is a configuration error.
    let error = Verifier::new(
        vec![
            policy("https://a.example/", a, Algorithm::Es256),
            policy("https://a.example/", b, Algorithm::EdDsa),
        ],
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(error.field, "issuers[1].issuer");
}

#[test]
fn every_error_code_is_listed_and_snake_case() {
    for code in edge_auth_core::ERROR_CODES {
        assert!(
            code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{code}"
        );
    }
}

/// A backend that must never be asked: the core refuses wrong-length signatures itself.
struct MustNotBeCalled;

impl SignatureBackend for MustNotBeCalled {
    fn verify(&self, check: &SignatureCheck<'_>) -> Result<(), SignatureError> {
        panic!(
            "backend called with a {}-byte {} signature",
            check.signature.len(),
            check.alg
        )
    }
}

#[test]
fn wrong_length_signatures_never_reach_a_backend() {
    for alg in Algorithm::ALL {
        let key = key(alg);
        let verifier = verifier_for(&[key], &[alg]);
        let good = token(key, &good_claims());
        let sig = signature_of(&good);
        for bad in [&sig[..sig.len() - 1], &[sig.as_slice(), &[0]].concat(), &[]] {
            let error = verifier
                .verify_with(&with_signature(&good, bad), UnixTime(NOW), &MustNotBeCalled)
                .unwrap_err();
            assert_eq!(error.code(), "signature_invalid", "{alg}");
        }
    }
}

#[test]
fn max_age_counts_from_iat_rounded_down() {
    let key = key(Algorithm::Es256);
    let verifier = verifier_with(&[key], &[Algorithm::Es256], |b| b.max_age(100).leeway(0));
    let claims = |iat: f64| json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "iat": iat});
    // 100.5 s old: too old, although ceil(iat) would make it exactly 100 s.
    let old = token(key, &claims(NOW as f64 - 100.5));
    check(
        "iat 100.5 s ago, max age 100",
        &verifier,
        &old,
        "token_too_old",
    );
    let fresh = token(key, &claims(NOW as f64 - 99.5));
    check("iat 99.5 s ago, max age 100", &verifier, &fresh, "ok");
    // In the other direction `iat` rounds up: 0.5 s in the future with no leeway is refused.
    let future = token(key, &claims(NOW as f64 + 0.5));
    check(
        "iat 0.5 s in the future",
        &verifier,
        &future,
        "token_issued_in_future",
    );
}

#[test]
fn leeway_is_bounded() {
    let keys = || KeySet::from_jwks_json(jwks_of(&[key(Algorithm::Es256)]).as_bytes()).unwrap();
    let build = |leeway| {
        IssuerPolicy::builder(ISS, [Algorithm::Es256], keys())
            .audiences([AUD])
            .leeway(leeway)
            .build()
    };
    assert!(build(edge_auth_core::MAX_LEEWAY).is_ok());
    let error = build(u64::MAX).unwrap_err();
    assert_eq!(error.field, "leeway_seconds");
}

#[test]
fn issuer_lookup_errors_come_before_the_signature() {
    // `iss` picks the issuer before any signature is checked, so its errors are selection errors:
    // an adapter must never read them as "the token was authentic".
    let (key, verifier) = es256();
    let unsigned = format!("{}.{}.AA", b64(br#"{"alg":"ES256"}"#), b64(br#"{"iss":1}"#));
    let error = verifier.verify(&unsigned, UnixTime(NOW)).unwrap_err();
    assert!(
        matches!(error, edge_auth_core::VerifyError::Select(_)),
        "{error:?}"
    );
    assert_eq!(error.code(), "claim_invalid");
    let stranger = token(
        key,
        &json!({"iss": "https://evil.example/", "aud": AUD, "exp": NOW + 300}),
    );
    let error = verifier.verify(&stranger, UnixTime(NOW)).unwrap_err();
    assert!(
        matches!(error, edge_auth_core::VerifyError::Select(_)),
        "{error:?}"
    );
    assert_eq!(error.code(), "issuer_unknown");
}

#[test]
fn error_codes_and_their_enum_agree() {
    let from_enum: Vec<&str> = edge_auth_core::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(from_enum, edge_auth_core::ERROR_CODES);
    let mut sentences: Vec<&str> = edge_auth_core::ErrorCode::ALL
        .iter()
        .map(|c| c.sentence())
        .collect();
    sentences.sort_unstable();
    sentences.dedup();
    assert_eq!(
        sentences.len(),
        edge_auth_core::ErrorCode::ALL.len(),
        "one sentence per code"
    );
}
