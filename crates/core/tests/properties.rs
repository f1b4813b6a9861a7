//! Property tests: no input panics the parser, the verifier or the key loaders, and nothing
//! verifies unless it is signed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

mod common;

use std::sync::OnceLock;

use common::*;
use edge_auth_core::{
    decode_unverified, Algorithm, KeySet, Limits, PayloadKind, RustCrypto, SignatureVerifier,
    SigningKey, UnixTime, UntrustedToken, Verifier,
};
use proptest::prelude::*;
use serde_json::Value;

/// No `proptest-regressions/` files in the repository; a failure prints its minimal input instead.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The two issuers every token property runs against: an ES256 one and an HS256 one.
fn verifiers() -> &'static [(Algorithm, Verifier); 2] {
    static VERIFIERS: OnceLock<[(Algorithm, Verifier); 2]> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        [Algorithm::Es256, Algorithm::Hs256].map(|alg| (alg, verifier_for(&[key(alg)], &[alg])))
    })
}

/// Signature-only verifiers (any payload, no claims) for the same two keys.
fn signature_verifiers() -> &'static [SignatureVerifier; 2] {
    static VERIFIERS: OnceLock<[SignatureVerifier; 2]> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        [Algorithm::Es256, Algorithm::Hs256].map(|alg| {
            let keys = KeySet::from_jwks_json(jwks_of(&[key(alg)]).as_bytes()).unwrap();
            SignatureVerifier::new(keys, [alg], Limits::default()).unwrap()
        })
    })
}

/// Runs every entry point that takes a token; returns whether any full verification succeeded.
fn exercise(token: &str) -> bool {
    let limits = Limits::default();
    for kind in [PayloadKind::JwtClaims, PayloadKind::Opaque] {
        let _ = UntrustedToken::parse(token, &limits, kind);
    }
    let _ = decode_unverified(token, &limits);
    let mut verified = false;
    for verifier in signature_verifiers() {
        verified |= verifier.verify(token, &RustCrypto).is_ok();
    }
    for (_, verifier) in verifiers() {
        verified |= verifier.verify(token, UnixTime(NOW)).is_ok();
    }
    verified
}

/// Valid tokens from the fixtures, built once.
fn valid_tokens() -> &'static [String; 2] {
    static TOKENS: OnceLock<[String; 2]> = OnceLock::new();
    TOKENS.get_or_init(|| {
        [Algorithm::Es256, Algorithm::Hs256].map(|alg| token(key(alg), &good_claims()))
    })
}

// ---- JSON-ish text ---------------------------------------------------------------------------

/// A JSON string literal.
fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "ES256", "HS256", "RS256", "EdDSA", "none", "None", "NONE", "es256", "", "JWT",
            "application/jwt", "at+jwt", "b64", "exp", "k-ES256", "k-HS256", ISS, AUD, "EC", "oct",
            "P-256", "A128KW",
        ])
        .prop_map(|s| Value::from(s).to_string()),
        2 => any::<String>().prop_map(|s| Value::from(s).to_string()),
        1 => prop::sample::select(vec![
            r#""\u0000""#, r#""\u00e9""#, r#""\"""#, r#""\\""#, r#""\ud83d\ude00""#,
        ])
        .prop_map(String::from),
    ]
}

/// A JSON number, as serde_json would write it.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| Value::from(f).to_string()),
        (NOW - 1000..NOW + 1000).prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "0",
            "-0",
            "1.5",
            "1E2",
            "-1e-7",
            "1e300",
            "9223372036854775808"
        ])
        .prop_map(String::from),
    ]
}

/// Text that is not valid JSON, inserted somewhere into a document.
fn invalid_fragment() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "1e400",
        "01",
        "1.",
        "NaN",
        "-",
        "\"\\ud800\"",
        "\"\\x\"",
        "'a'",
        "[1,]",
        "{\"a\"}",
        "tru",
        "",
    ])
    .prop_map(String::from)
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["null", "true", "false"]).prop_map(String::from),
        6 => number(),
        8 => string_literal(),
    ]
}

/// Member names the header and claim rules look at, and a few others.
fn member_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "alg", "kid", "crit", "b64", "jwk", "jku", "x5u", "x5c", "typ", "cty", "enc", "zip", "iss",
            "aud", "exp", "nbf", "iat", "sub", "jti", "kty", "crv", "x", "y", "k", "n", "e", "d", "use",
            "key_ops", "keys",
        ])
        .prop_map(String::from),
        1 => "[a-z]{0,4}",
    ]
}

fn object_of(members: Vec<(String, String)>) -> String {
    let members: Vec<String> = members
        .into_iter()
        .map(|(name, value)| format!("{}:{value}", Value::from(name)))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// Any JSON value: scalars, nested arrays, objects with interesting (possibly duplicate) members.
fn json_value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((member_name(), inner), 0..6).prop_map(object_of),
        ]
    })
}

/// `(name, value)` with probability `p`.
fn member(
    name: &'static str,
    p: f64,
    value: impl Strategy<Value = String>,
) -> impl Strategy<Value = Option<(String, String)>> {
    prop::option::weighted(p, value.prop_map(move |v| (name.to_owned(), v)))
}

/// One of `values` (as JSON strings) usually, any JSON value sometimes.
fn mostly(values: Vec<&'static str>) -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(values).prop_map(|s| Value::from(s).to_string()),
        1 => json_value(),
    ]
    .boxed()
}

/// A header-like object: an `alg` (usually a real one) and optional members of random types.
fn header_json() -> impl Strategy<Value = String> {
    (
        member("alg", 0.97, mostly(vec!["ES256", "HS256"])),
        member("kid", 0.3, mostly(vec!["k-ES256", "k-HS256"])),
        member("typ", 0.3, mostly(vec!["JWT", "at+jwt"])),
        member("crit", 0.08, json_value()),
        member(
            "b64",
            0.1,
            prop_oneof![Just("true".to_owned()), json_value()],
        ),
        member("jwk", 0.05, json_value()),
        member("cty", 0.1, json_value()),
        prop::option::weighted(0.3, (member_name(), json_value())),
    )
        .prop_map(|(alg, kid, typ, crit, b64, jwk, cty, extra)| {
            let members: Vec<(String, String)> = [alg, kid, typ, crit, b64, jwk, cty]
                .into_iter()
                .flatten()
                .chain(extra)
                .collect();
            object_of(members)
        })
}

/// A claims-like object: the registered claims, usually plausible, sometimes of the wrong type.
fn claims_json() -> impl Strategy<Value = String> {
    let time = |from: u64, to: u64| {
        prop_oneof![
            8 => (from..to).prop_map(|n| n.to_string()),
            1 => (from..to).prop_map(|n| format!("{n}.5")),
            1 => json_value(),
        ]
    };
    (
        member(
            "iss",
            0.95,
            prop_oneof![8 => Just(Value::from(ISS).to_string()), 1 => json_value()],
        ),
        member(
            "aud",
            0.95,
            prop_oneof![
                4 => Just(Value::from(AUD).to_string()),
                2 => Just(format!("[\"x\",{}]", Value::from(AUD))),
                1 => json_value(),
            ],
        ),
        member("exp", 0.95, time(NOW - 100, NOW + 600)),
        member("nbf", 0.2, time(NOW - 100, NOW + 100)),
        member("iat", 0.2, time(NOW - 100, NOW + 100)),
        prop::option::weighted(0.3, (member_name(), json_value())),
    )
        .prop_map(|(iss, aud, exp, nbf, iat, extra)| {
            object_of(
                [iss, aud, exp, nbf, iat]
                    .into_iter()
                    .flatten()
                    .chain(extra)
                    .collect(),
            )
        })
}

/// JSON-ish text: mostly well-formed, sometimes cut short, with junk appended or with an invalid
/// fragment inserted.
fn json_ish(document: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        20 => document.clone(),
        2 => json_value(),
        1 => (document.clone(), any::<prop::sample::Index>()).prop_map(|(text, cut)| {
            let cut = cut.index(text.len() + 1);
            text.get(..cut).unwrap_or(&text).to_owned()
        }),
        1 => (document.clone(), "[ -~]{0,3}").prop_map(|(text, junk)| text + &junk),
        1 => (document, invalid_fragment(), any::<prop::sample::Index>()).prop_map(
            |(text, bad, at)| {
                let at = at.index(text.len() + 1);
                match (text.get(..at), text.get(at..)) {
                    (Some(head), Some(tail)) => format!("{head}{bad}{tail}"),
                    _ => text + &bad,
                }
            }
        ),
    ]
}

// ---- JWK-ish text ----------------------------------------------------------------------------

/// base64url of `len` random bytes, as a JSON string.
fn random_b64(len: impl Strategy<Value = usize>) -> impl Strategy<Value = String> {
    len.prop_flat_map(|len| prop::collection::vec(any::<u8>(), len))
        .prop_map(|bytes| Value::from(b64(&bytes)).to_string())
}

/// A key member: usually base64url of a plausible length, sometimes something else.
fn member_bytes() -> impl Strategy<Value = String> {
    let len = prop::sample::select(vec![
        0usize, 1, 3, 16, 31, 32, 33, 40, 48, 64, 65, 66, 128, 256,
    ]);
    prop_oneof![
        8 => random_b64(len),
        1 => prop::sample::select(vec!["\"AQAB\"", "\"AQAB=\"", "\"AQ+B\"", "\"AQA\""])
            .prop_map(String::from),
        1 => json_value(),
    ]
}

/// Sometimes-present `alg`, `use`, `key_ops`, `kid`.
fn usage_members() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        member(
            "alg",
            0.4,
            mostly(vec![
                "ES256", "ES384", "ES512", "ES256K", "RS256", "PS512", "HS256", "HS384", "HS512",
                "EdDSA", "Ed25519", "A128KW", "RSA-OAEP", "XYZ",
            ]),
        ),
        member("use", 0.15, mostly(vec!["sig", "enc"])),
        member(
            "key_ops",
            0.1,
            prop_oneof![
                Just("[\"verify\"]".to_owned()),
                Just("[\"sign\",\"verify\"]".to_owned()),
                Just("[\"encrypt\"]".to_owned()),
                json_value(),
            ],
        ),
        member("kid", 0.3, json_value()),
    )
        .prop_map(|(alg, usage, ops, kid)| [alg, usage, ops, kid].into_iter().flatten().collect())
}

fn ec_jwk() -> impl Strategy<Value = Vec<(String, String)>> {
    let coordinate = || {
        prop_oneof![
            6 => random_b64(prop::sample::select(vec![32usize, 48, 66])),
            1 => member_bytes(),
        ]
    };
    (
        mostly(vec!["P-256", "P-384", "P-521", "secp256k1", "P-192"]),
        coordinate(),
        coordinate(),
        member("d", 0.3, coordinate()),
    )
        .prop_map(|(crv, x, y, d)| {
            let mut members = vec![
                ("kty".to_owned(), "\"EC\"".to_owned()),
                ("crv".to_owned(), crv),
            ];
            members.extend([("x".to_owned(), x), ("y".to_owned(), y)]);
            members.extend(d);
            members
        })
}

fn okp_jwk() -> impl Strategy<Value = Vec<(String, String)>> {
    // Small-order Ed25519 points, encoded: the identity, y = 0 (order 4) and y = -1 (order 2).
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak: Vec<String> = [identity, [0; 32], minus_one]
        .iter()
        .map(|x| Value::from(b64(x)).to_string())
        .collect();
    (
        mostly(vec!["Ed25519", "X25519", "Ed448"]),
        prop_oneof![
            4 => random_b64(Just(32usize)),
            1 => prop::sample::select(weak),
            1 => member_bytes(),
        ],
        member(
            "d",
            0.3,
            prop_oneof![4 => random_b64(Just(32usize)), 1 => member_bytes()],
        ),
    )
        .prop_map(|(crv, x, d)| {
            let mut members = vec![
                ("kty".to_owned(), "\"OKP\"".to_owned()),
                ("crv".to_owned(), crv),
                ("x".to_owned(), x),
            ];
            members.extend(d);
            members
        })
}

fn rsa_jwk() -> impl Strategy<Value = Vec<(String, String)>> {
    let n = prop_oneof![
        // Random moduli, odd or even, of 1024 to 8200 bits: the size and parity checks, and the `rsa`
        // crate's own.
        4 => (prop::sample::select(vec![128usize, 255, 256, 257, 512, 1024, 1025]), any::<bool>())
            .prop_flat_map(|(len, odd)| (prop::collection::vec(any::<u8>(), len), Just(odd)))
            .prop_map(|(mut n, odd)| {
                if let Some(last) = n.last_mut() {
                    *last = if odd { *last | 1 } else { *last & !1 };
                }
                Value::from(b64(&n)).to_string()
            }),
        1 => member_bytes(),
    ];
    let e = prop_oneof![
        4 => prop::sample::select(vec![
            "AQAB", "AQ", "Ag", "Aw", "AQAA", "AQAAAAE", "_____w", "AAEAAQ", "",
        ])
        .prop_map(|s| Value::from(s).to_string()),
        1 => member_bytes(),
    ];
    let private = prop::option::weighted(
        0.3,
        (
            member_bytes(),
            member("p", 0.8, member_bytes()),
            member("q", 0.8, member_bytes()),
            member("oth", 0.05, json_value()),
        ),
    );
    (n, e, private).prop_map(|(n, e, private)| {
        let mut members = vec![
            ("kty".to_owned(), "\"RSA\"".to_owned()),
            ("n".to_owned(), n),
            ("e".to_owned(), e),
        ];
        if let Some((d, p, q, oth)) = private {
            members.push(("d".to_owned(), d));
            members.extend([p, q, oth].into_iter().flatten());
        }
        members
    })
}

fn oct_jwk() -> impl Strategy<Value = Vec<(String, String)>> {
    let len = prop::sample::select(vec![0usize, 16, 31, 32, 40, 48, 64, 100]);
    prop_oneof![4 => random_b64(len), 1 => member_bytes()].prop_map(|k| {
        vec![
            ("kty".to_owned(), "\"oct\"".to_owned()),
            ("k".to_owned(), k),
        ]
    })
}

/// Members of random names and values around a random `kty`.
fn loose_jwk() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        member(
            "kty",
            0.9,
            mostly(vec!["oct", "RSA", "EC", "OKP", "AKP", "ec"]),
        ),
        prop::collection::vec((member_name(), member_bytes()), 0..6),
    )
        .prop_map(|(kty, rest)| kty.into_iter().chain(rest).collect())
}

/// A JWK of each type with plausible members, plus usage members, sometimes with private members
/// where a public key is expected (and the reverse).
fn jwk_json() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            2 => ec_jwk().boxed(),
            2 => okp_jwk().boxed(),
            2 => rsa_jwk().boxed(),
            2 => oct_jwk().boxed(),
            1 => loose_jwk().boxed(),
        ],
        usage_members(),
        any::<bool>(),
    )
        .prop_map(|(members, usage, usage_first)| {
            if usage_first {
                object_of(usage.into_iter().chain(members).collect())
            } else {
                object_of(members.into_iter().chain(usage).collect())
            }
        })
}

/// Real keys, public and private, with one member replaced by something random.
fn mutated_real_jwk() -> impl Strategy<Value = String> {
    let base = prop::sample::select(vec![
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::Es256k,
        Algorithm::EdDsa,
        Algorithm::Rs256,
        Algorithm::Hs256,
    ]);
    (base, any::<bool>(), member_name(), member_bytes()).prop_map(|(alg, private, name, value)| {
        let mut jwk = if private {
            key(alg).to_private_jwk()
        } else {
            key(alg).public_key().to_jwk()
        };
        jwk.insert(name, serde_json::from_str(&value).unwrap_or(Value::Null));
        Value::Object(jwk).to_string()
    })
}

fn any_jwk() -> impl Strategy<Value = String> {
    prop_oneof![3 => jwk_json(), 1 => mutated_real_jwk()]
}

fn jwks_json() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(any_jwk(), 0..4)
            .prop_map(|keys| format!("{{\"keys\":[{}]}}", keys.join(","))),
        1 => json_ish(
            prop::collection::vec((member_name(), json_value()), 0..4)
                .prop_map(object_of)
                .boxed()
        ),
    ]
}

fn algorithm() -> impl Strategy<Value = Option<Algorithm>> {
    prop::option::of(prop::sample::select(Algorithm::ALL.to_vec()))
}

/// Every key loader on `bytes`; none may panic.
fn load_keys(bytes: &[u8], alg: Option<Algorithm>) {
    let _ = KeySet::from_jwks_json(bytes);
    let _ = KeySet::from_jwk_json(bytes);
    let _ = SigningKey::from_json(bytes, alg);
}

// ---- properties ------------------------------------------------------------------------------

#[test]
fn fixtures_verify() {
    for token in valid_tokens() {
        assert!(exercise(token), "{token}");
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_strings_never_panic(token in any::<String>()) {
        prop_assert!(!exercise(&token));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(!exercise(&String::from_utf8_lossy(&bytes)));
    }

    #[test]
    fn token_shaped_strings_never_panic(token in "[A-Za-z0-9_=+/{}. -]{0,300}") {
        prop_assert!(!exercise(&token));
    }

    #[test]
    fn three_base64url_byte_strings_never_verify(
        header in prop::collection::vec(any::<u8>(), 0..200),
        payload in prop::collection::vec(any::<u8>(), 0..200),
        signature in prop::collection::vec(any::<u8>(), 0..100),
    ) {
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&signature));
        prop_assert!(!exercise(&token), "{}", token);
    }

    #[test]
    fn three_base64url_json_ish_strings_never_verify_unsigned(
        header in json_ish(header_json().boxed()),
        payload in json_ish(claims_json().boxed()),
        signature in prop_oneof![
            prop::sample::select(vec![0usize, 1, 32, 63, 64, 65])
                .prop_flat_map(|len| prop::collection::vec(any::<u8>(), len)),
            json_ish(json_value().boxed()).prop_map(String::into_bytes),
        ],
    ) {
        let token = format!(
            "{}.{}.{}",
            b64(header.as_bytes()),
            b64(payload.as_bytes()),
            b64(&signature)
        );
        prop_assert!(!exercise(&token), "{}", token);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_key_loaders(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        alg in algorithm(),
    ) {
        load_keys(&bytes, alg);
    }

    #[test]
    fn json_ish_text_never_panics_the_key_loaders(
        text in json_ish(json_value().boxed()),
        alg in algorithm(),
    ) {
        load_keys(text.as_bytes(), alg);
    }

    #[test]
    fn jwk_shaped_json_never_panics_the_key_loaders(
        jwk in any_jwk(),
        jwks in jwks_json(),
        alg in algorithm(),
    ) {
        load_keys(jwk.as_bytes(), alg);
        load_keys(jwks.as_bytes(), alg);
        load_keys(format!("{{\"keys\":[{jwk}]}}").as_bytes(), alg);
    }
}

proptest! {
    // Each case signs, and verifies with ECDSA: fewer cases.
    #![proptest_config(config(128))]

    /// Signed with the issuer's real key: anything may happen but a panic, and an accepted token
    /// obeys every header and claim rule.
    #[test]
    fn signed_json_ish_tokens_never_panic_and_ok_means_valid(
        header in json_ish(header_json().boxed()),
        payload in json_ish(claims_json().boxed()),
    ) {
        for (alg, verifier) in verifiers() {
            let token = raw_token(&header, &payload, key(*alg));
            exercise(&token);
            let Ok(verified) = verifier.verify(&token, UnixTime(NOW)) else { continue };
            let raw = verified.header().raw();
            prop_assert_eq!(verified.header().alg(), alg.name());
            prop_assert_eq!(verified.algorithm(), *alg);
            for member in ["jwk", "jku", "x5u", "x5c", "crit", "enc"] {
                prop_assert!(!raw.contains_key(member), "{} in {}", member, header);
            }
            prop_assert!(matches!(raw.get("b64"), None | Some(Value::Bool(true))), "{}", header);
            let registered = verified.registered();
            prop_assert_eq!(registered.iss.as_deref(), Some(ISS));
            prop_assert!(registered.aud.iter().any(|aud| aud == AUD), "{}", payload);
            let exp = registered.exp.expect("exp is required");
            prop_assert!(i128::from(exp) + 60 > i128::from(NOW), "{}", payload);
        }
    }

    /// Any one byte changed to another ASCII byte: never valid. base64url is canonical here (no
    /// padding, no stray trailing bits), so every change alters the signing input or the signature.
    #[test]
    fn one_changed_byte_never_verifies(
        which in 0usize..2,
        position in any::<prop::sample::Index>(),
        delta in 1u8..128,
    ) {
        let token = &valid_tokens()[which];
        let (_, verifier) = &verifiers()[which];
        let mut bytes = token.clone().into_bytes();
        let position = position.index(bytes.len());
        let original = bytes[position];
        bytes[position] = (original + delta) % 128;
        prop_assert_ne!(bytes[position], original);
        let mutated = String::from_utf8(bytes).unwrap();
        let result = verifier.verify(&mutated, UnixTime(NOW));
        prop_assert!(result.is_err(), "{} verified after changing byte {}", mutated, position);
        prop_assert!(!exercise(&mutated), "{}", mutated);
    }
}
