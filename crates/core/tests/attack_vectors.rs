//! The attack tables as data: `tests/vectors/attacks.json` (provenance: `tests/vectors/README.md`), for
//! every runtime that verifies tokens (this crate natively, the JS package in Node, Deno, Bun and
//! Chromium). The file is written by the ignored test `write_vectors`:
//!
//!     cargo test -p edge-auth-core --test attack_vectors -- --ignored --exact write_vectors
//!
//! from fixed, test-only keys (`tests/vectors/attack-keys.json`; created on the first run only). The
//! tests that always run check the committed file: every case through the `EDGE_AUTH` issuer schema
//! (`GateConfig::from_value`) gives exactly its code, the number of cases is the one stated here, and
//! the generator still writes the file byte for byte (so it is never edited by hand and never drifts).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "tests: a panic is a test failure"
)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;

use base64ct::{Base64UrlUnpadded, Encoding};
use edge_auth_core::{Algorithm, GateConfig, KeyFamily, SigningKey, UnixTime};
use serde_json::{json, Map, Value};

/// The number of cases in `tests/vectors/attacks.json`. The JS tests (`tests/js/`) state it too.
const CASES: usize = 256;

const VECTORS: &str = "tests/vectors/attacks.json";
const KEYS: &str = "tests/vectors/attack-keys.json";
const GENERATOR: &str =
    "cargo test -p edge-auth-core --test attack_vectors -- --ignored --exact write_vectors";

const NOW: u64 = 1_700_000_000;
const AUD: &str = "https://api.example.com";
/// ES256; the header, structure and claim tables.
const MAIN: &str = "https://idp.example.com/";
/// ES256 with every optional claim rule: typ, max age, sub, a required claim, two audiences.
const STRICT: &str = "https://strict.example.com/";
/// ES256, max age 100 s and no leeway.
const MAX_AGE: &str = "https://max-age.example.com/";
/// Allows RS256 and ES256, holds only the RSA key.
const RS_ES: &str = "https://confusion.example.com/rs-es";
/// Allows RS256 and PS256, holds only the RSA key (which declares `alg: RS256`).
const RS_PS: &str = "https://confusion.example.com/rs-ps";
/// ES256 and EdDSA, an Ed25519 key and four P-256 keys, none with a `kid`.
const KIDLESS: &str = "https://kidless.example.com/";
/// Five kid-less P-256 keys: more than the four an untargeted token may be tried against.
const KIDLESS_5: &str = "https://kidless-5.example.com/";

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// One issuer per algorithm, for the per-algorithm tables.
fn alg_issuer(alg: Algorithm) -> String {
    format!("https://alg.example.com/{}", alg.name())
}

fn secret_name(alg: Algorithm) -> String {
    format!("{}_SECRET", alg.name())
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// JSON text with sorted members (see [`sorted`]).
fn text(value: &Value) -> String {
    sorted(value).to_string()
}

/// `value` with every object's members in sorted order, whether or not serde_json preserves insertion
/// order (its `preserve_order` feature): the file must come out the same either way.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut names: Vec<&String> = map.keys().collect();
            names.sort();
            Value::Object(
                names
                    .into_iter()
                    .map(|n| (n.clone(), sorted(&map[n])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------------------
// Keys: fixed, test-only, committed beside the vectors.

struct TestKey {
    key: SigningKey,
    private: Map<String, Value>,
}

struct Keys {
    keys: BTreeMap<String, TestKey>,
    /// HMAC secrets by secret name (`HS256_SECRET`): the value is the key's bytes as text, the way a
    /// Workers secret named in `hmac_secret` holds it.
    secrets: BTreeMap<String, String>,
}

/// The key names the generator uses, and the algorithm and `kid` each is made with.
fn key_specs() -> Vec<(String, Algorithm, Option<String>)> {
    let mut specs: Vec<(String, Algorithm, Option<String>)> = Algorithm::ALL
        .iter()
        .filter(|a| !a.is_symmetric())
        .map(|&a| (a.name().to_owned(), a, Some(format!("k-{}", a.name()))))
        .collect();
    // "Signed by someone else": another key under the same kid.
    specs.push((
        "ES256-other".into(),
        Algorithm::Es256,
        Some("k-ES256".into()),
    ));
    specs.push((
        "EdDSA-other".into(),
        Algorithm::EdDsa,
        Some("k-EdDSA".into()),
    ));
    for i in 0..5 {
        specs.push((format!("ES256-anonymous-{i}"), Algorithm::Es256, None));
    }
    specs.push(("EdDSA-anonymous".into(), Algorithm::EdDsa, None));
    specs
}

impl Keys {
    /// Loads the committed keys; creates the file first when it does not exist (the first run only).
    fn load_or_create() -> Keys {
        let path = repo_file(KEYS);
        if !path.exists() {
            let mut keys = Map::new();
            for (name, alg, kid) in key_specs() {
                let key = SigningKey::generate(alg, kid.clone(), &mut rand_core::OsRng).unwrap();
                let mut private = key.to_private_jwk();
                if kid.is_none() {
                    private.remove("kid");
                }
                keys.insert(name, Value::Object(private));
            }
            let mut secrets = Map::new();
            for alg in Algorithm::ALL.iter().filter(|a| a.is_symmetric()) {
                // Printable text (a secret is a string), longer than the algorithm's minimum.
                let len = alg.hmac_min_key_len().unwrap() + 16;
                let mut random = vec![0u8; len];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
                let text: String = random
                    .iter()
                    .map(|b| {
                        char::from(b"0123456789abcdefghijklmnopqrstuvwxyz"[usize::from(*b) % 36])
                    })
                    .collect();
                secrets.insert(secret_name(*alg), Value::String(text));
            }
            let file = json!({
                "about": [
                    "TEST-ONLY KEYS. Private keys for the generator of tests/vectors/attacks.json and nothing else;",
                    "they were generated once, at random, by the generator itself. Never use them anywhere else.",
                    format!("Regenerate the vectors (not these keys): {GENERATOR}"),
                ],
                "keys": keys,
                "hmac_secrets": secrets,
            });
            std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap() + "\n").unwrap();
        }
        let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut keys = BTreeMap::new();
        for (name, alg, _) in key_specs() {
            let private = file["keys"][&name].as_object().unwrap().clone();
            let key = SigningKey::from_json(
                Value::Object(private.clone()).to_string().as_bytes(),
                Some(alg),
            )
            .unwrap_or_else(|e| panic!("{KEYS}: key {name}: {e}"));
            keys.insert(name, TestKey { key, private });
        }
        let mut secrets = BTreeMap::new();
        for alg in Algorithm::ALL.iter().filter(|a| a.is_symmetric()) {
            let text = file["hmac_secrets"][secret_name(*alg)]
                .as_str()
                .unwrap()
                .to_owned();
            let jwk = json!({"kty": "oct", "k": b64(text.as_bytes())});
            let key = SigningKey::from_json(jwk.to_string().as_bytes(), Some(*alg)).unwrap();
            keys.insert(
                alg.name().to_owned(),
                TestKey {
                    key,
                    private: jwk.as_object().unwrap().clone(),
                },
            );
            secrets.insert(secret_name(*alg), text);
        }
        Keys { keys, secrets }
    }

    fn get(&self, name: &str) -> &TestKey {
        self.keys
            .get(name)
            .unwrap_or_else(|| panic!("no key {name}"))
    }

    fn alg(&self, alg: Algorithm) -> &TestKey {
        self.get(alg.name())
    }

    fn public_jwk(&self, name: &str) -> Value {
        Value::Object(self.get(name).key.public_key().to_jwk())
    }
}

// ---------------------------------------------------------------------------------------------------
// Deterministic signing, so that the file is the same on every run: HMAC, RSASSA-PKCS1-v1_5 and Ed25519
// are deterministic by definition (the core signs them); ECDSA on P-256, P-384 and secp256k1 is signed
// here with RFC 6979 nonces; RSA-PSS salts and ES512 nonces (p521 has no RFC 6979 signer) are drawn
// from a SHA-256 stream seeded by the signing input.

struct SeededStream {
    seed: [u8; 32],
    counter: u64,
    buffer: Vec<u8>,
}

impl SeededStream {
    fn new(input: &[u8]) -> SeededStream {
        use sha2::Digest;
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&sha2::Sha256::digest(
            [b"edge-auth attack vectors PSS salt\0", input].concat(),
        ));
        SeededStream {
            seed,
            counter: 0,
            buffer: Vec::new(),
        }
    }
}

impl rand_core::RngCore for SeededStream {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        use sha2::Digest;
        for byte in dest.iter_mut() {
            if self.buffer.is_empty() {
                let block =
                    sha2::Sha256::digest([&self.seed[..], &self.counter.to_be_bytes()].concat());
                self.counter += 1;
                self.buffer = block.to_vec();
            }
            *byte = self.buffer.remove(0);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for SeededStream {}

fn pss_sign(private: &Map<String, Value>, alg: Algorithm, input: &[u8]) -> Vec<u8> {
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    let int = |name: &str| {
        rsa::BigUint::from_bytes_be(
            &Base64UrlUnpadded::decode_vec(private[name].as_str().unwrap()).unwrap(),
        )
    };
    let key =
        rsa::RsaPrivateKey::from_components(int("n"), int("e"), int("d"), vec![int("p"), int("q")])
            .unwrap();
    let mut rng = SeededStream::new(input);
    match alg {
        Algorithm::Ps256 => rsa::pss::SigningKey::<sha2::Sha256>::new(key)
            .sign_with_rng(&mut rng, input)
            .to_vec(),
        Algorithm::Ps384 => rsa::pss::SigningKey::<sha2::Sha384>::new(key)
            .sign_with_rng(&mut rng, input)
            .to_vec(),
        Algorithm::Ps512 => rsa::pss::SigningKey::<sha2::Sha512>::new(key)
            .sign_with_rng(&mut rng, input)
            .to_vec(),
        other => panic!("not PSS: {other}"),
    }
}

/// ES512: p521 signs with a random nonce (not RFC 6979); the nonce comes from the seeded stream here.
fn es512_sign(private: &Map<String, Value>, input: &[u8]) -> Vec<u8> {
    use p521::ecdsa::signature::RandomizedSigner;
    let d = Base64UrlUnpadded::decode_vec(private["d"].as_str().unwrap()).unwrap();
    let key = p521::ecdsa::SigningKey::from_slice(&d).unwrap();
    let signature: p521::ecdsa::Signature = key.sign_with_rng(&mut SeededStream::new(input), input);
    signature.to_bytes().to_vec()
}

fn sign(key: &TestKey, input: &[u8]) -> Vec<u8> {
    use p256::ecdsa::signature::Signer;
    let d = || Base64UrlUnpadded::decode_vec(key.private["d"].as_str().unwrap()).unwrap();
    match key.key.algorithm() {
        // RFC 6979 (deterministic) ECDSA, whatever the core's own signer does.
        Algorithm::Es256 => {
            let signature: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from_slice(&d())
                .unwrap()
                .sign(input);
            signature.to_bytes().to_vec()
        }
        Algorithm::Es384 => {
            let signature: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from_slice(&d())
                .unwrap()
                .sign(input);
            signature.to_bytes().to_vec()
        }
        Algorithm::Es256k => {
            let signature: k256::ecdsa::Signature = k256::ecdsa::SigningKey::from_slice(&d())
                .unwrap()
                .sign(input);
            signature.to_bytes().to_vec()
        }
        Algorithm::Es512 => es512_sign(&key.private, input),
        alg @ (Algorithm::Ps256 | Algorithm::Ps384 | Algorithm::Ps512) => {
            pss_sign(&key.private, alg, input)
        }
        // HMAC, RSASSA-PKCS1-v1_5 and Ed25519 are deterministic by definition.
        _ => key.key.sign(input),
    }
}

/// A token from literal header and payload JSON text (duplicates and odd types survive), signed by `key`.
fn raw(header: &str, payload: &str, key: &TestKey) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let signature = sign(key, input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

/// A token with the usual header (`alg`, the key's `kid` when it has one, `typ: JWT`) over `claims`.
fn token(key: &TestKey, claims: &Value) -> String {
    let mut header = Map::new();
    header.insert("alg".into(), json!(key.key.algorithm().name()));
    if let Some(kid) = key.key.kid() {
        header.insert("kid".into(), json!(kid));
    }
    header.insert("typ".into(), json!("JWT"));
    raw(
        &sorted(&Value::Object(header)).to_string(),
        &sorted(claims).to_string(),
        key,
    )
}

fn with_signature(token: &str, signature: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", b64(signature))
}

fn signature_of(token: &str) -> Vec<u8> {
    Base64UrlUnpadded::decode_vec(token.rsplit_once('.').unwrap().1).unwrap()
}

fn good_claims(iss: &str) -> Value {
    json!({"iss": iss, "aud": AUD, "sub": "user-1", "iat": NOW - 10, "exp": NOW + 300})
}

// ---------------------------------------------------------------------------------------------------
// The configuration: issuers in the `EDGE_AUTH` schema.

fn issuers(keys: &Keys) -> Vec<Value> {
    let jwks = |names: &[&str]| json!({"keys": names.iter().map(|n| keys.public_jwk(n)).collect::<Vec<_>>()});
    let es256 = |iss: &str| json!({"issuer": iss, "audiences": [AUD], "algorithms": ["ES256"], "jwks": jwks(&["ES256"])});
    let mut out = vec![es256(MAIN)];
    for alg in Algorithm::ALL {
        let mut issuer =
            json!({"issuer": alg_issuer(alg), "audiences": [AUD], "algorithms": [alg.name()]});
        if alg.is_symmetric() {
            issuer["hmac_secret"] = json!(secret_name(alg));
        } else {
            issuer["jwks"] = jwks(&[alg.name()]);
        }
        out.push(issuer);
    }
    let mut strict = es256(STRICT);
    strict["audiences"] = json!([AUD, "second"]);
    strict["typ"] = json!("at+jwt");
    strict["max_age_seconds"] = json!(3600);
    strict["require_sub"] = json!(true);
    strict["required_claims"] = json!(["tenant"]);
    out.push(strict);
    let mut max_age = es256(MAX_AGE);
    max_age["max_age_seconds"] = json!(100);
    max_age["leeway_seconds"] = json!(0);
    out.push(max_age);
    out.push(json!({"issuer": RS_ES, "audiences": [AUD], "algorithms": ["RS256", "ES256"], "jwks": jwks(&["RS256"])}));
    out.push(json!({"issuer": RS_PS, "audiences": [AUD], "algorithms": ["RS256", "PS256"], "jwks": jwks(&["RS256"])}));
    out.push(json!({"issuer": KIDLESS, "audiences": [AUD], "algorithms": ["ES256", "EdDSA"],
        "jwks": jwks(&["EdDSA-anonymous", "ES256-anonymous-0", "ES256-anonymous-1", "ES256-anonymous-2", "ES256-anonymous-3"])}));
    out.push(json!({"issuer": KIDLESS_5, "audiences": [AUD], "algorithms": ["ES256"],
        "jwks": jwks(&["ES256-anonymous-0", "ES256-anonymous-1", "ES256-anonymous-2", "ES256-anonymous-3", "ES256-anonymous-4"])}));
    out
}

// ---------------------------------------------------------------------------------------------------
// The cases.

struct Case {
    name: String,
    token: String,
    now: u64,
    expected: &'static str,
}

#[derive(Default)]
struct Cases(Vec<Case>);

impl Cases {
    fn at(&mut self, name: impl Into<String>, token: String, now: u64, expected: &'static str) {
        self.0.push(Case {
            name: name.into(),
            token,
            now,
            expected,
        });
    }
    fn add(&mut self, name: impl Into<String>, token: String, expected: &'static str) {
        self.at(name, token, NOW, expected);
    }
}

fn header_attacks(keys: &Keys, cases: &mut Cases) {
    let key = keys.alg(Algorithm::Es256);
    let kid = key.key.kid().unwrap();
    let claims = text(&good_claims(MAIN));
    let claims = claims.as_str();
    let h = |extra: &str| format!(r#"{{"alg":"ES256","kid":"{kid}"{extra}}}"#);
    let other = keys.get("ES256-other");
    let attacker_jwk = text(&keys.public_jwk("ES256-other"));
    let unsigned = |header: &str| format!("{}.{}.", b64(header.as_bytes()), b64(claims.as_bytes()));
    let mut add =
        |name: &str, token: String, expected| cases.add(format!("header: {name}"), token, expected);
    add("baseline", raw(&h(""), claims, key), "ok");
    add("alg none", unsigned(r#"{"alg":"none"}"#), "alg_not_allowed");
    add("alg None", unsigned(r#"{"alg":"None"}"#), "alg_not_allowed");
    add("alg NONE", unsigned(r#"{"alg":"NONE"}"#), "alg_not_allowed");
    add(
        "alg none with a typ",
        unsigned(r#"{"alg":"none","typ":"JWT"}"#),
        "alg_not_allowed",
    );
    add(
        "alg nOnE with a signature",
        raw(r#"{"alg":"nOnE"}"#, claims, key),
        "alg_not_allowed",
    );
    add(
        "alg missing",
        raw(&format!(r#"{{"kid":"{kid}"}}"#), claims, key),
        "token_malformed",
    );
    add(
        "alg not a string",
        raw(r#"{"alg":["ES256"]}"#, claims, key),
        "token_malformed",
    );
    add(
        "alg null",
        raw(r#"{"alg":null}"#, claims, key),
        "token_malformed",
    );
    add(
        "alg lower-case es256",
        raw(r#"{"alg":"es256"}"#, claims, key),
        "alg_not_allowed",
    );
    add(
        "alg unknown",
        raw(r#"{"alg":"ES999"}"#, claims, key),
        "alg_not_allowed",
    );
    add(
        "alg not in allowlist (ES384 header)",
        raw(r#"{"alg":"ES384"}"#, claims, key),
        "alg_not_allowed",
    );
    add(
        "alg HS256 header over an ES256 signature",
        raw(r#"{"alg":"HS256"}"#, claims, key),
        "alg_not_allowed",
    );
    add(
        "embedded jwk (attacker's own key)",
        raw(
            &format!(r#"{{"alg":"ES256","jwk":{attacker_jwk}}}"#),
            claims,
            other,
        ),
        "embedded_key_refused",
    );
    add(
        "jku",
        raw(&h(r#","jku":"https://attacker.example/jwks""#), claims, key),
        "embedded_key_refused",
    );
    add(
        "x5u",
        raw(&h(r#","x5u":"https://attacker.example/cert""#), claims, key),
        "embedded_key_refused",
    );
    add(
        "x5c",
        raw(&h(r#","x5c":["MIIB"]"#), claims, key),
        "embedded_key_refused",
    );
    add(
        "crit unknown",
        raw(&h(r#","crit":["exp"],"exp":1"#), claims, key),
        "crit_unsupported",
    );
    add(
        "crit b64",
        raw(&h(r#","crit":["b64"],"b64":true"#), claims, key),
        "crit_unsupported",
    );
    add(
        "crit empty array",
        raw(&h(r#","crit":[]"#), claims, key),
        "token_malformed",
    );
    add(
        "crit not an array",
        raw(&h(r#","crit":"exp""#), claims, key),
        "token_malformed",
    );
    add(
        "b64 false",
        raw(&h(r#","b64":false,"crit":["b64"]"#), claims, key),
        "token_unsupported",
    );
    add(
        "cty JWT (nested)",
        raw(&h(r#","cty":"JWT""#), claims, key),
        "token_unsupported",
    );
    add(
        "cty application/jwt (nested)",
        raw(&h(r#","cty":"application/jwt""#), claims, key),
        "token_unsupported",
    );
    add(
        "enc in header (JWE)",
        raw(&h(r#","enc":"A256GCM""#), claims, key),
        "token_unsupported",
    );
    add(
        "duplicate alg member",
        raw(
            &format!(r#"{{"alg":"ES256","kid":"{kid}","alg":"none"}}"#),
            claims,
            key,
        ),
        "token_malformed",
    );
    add(
        "kid not a string",
        raw(r#"{"alg":"ES256","kid":7}"#, claims, key),
        "token_malformed",
    );
    add(
        "typ not a string",
        raw(&h(r#","typ":1"#), claims, key),
        "token_malformed",
    );
    add(
        "header not an object",
        raw(r#"["ES256"]"#, claims, key),
        "token_malformed",
    );
    add(
        "header not JSON",
        raw("ES256", claims, key),
        "token_malformed",
    );
    add(
        "kid unknown",
        raw(r#"{"alg":"ES256","kid":"nope"}"#, claims, key),
        "key_not_found",
    );
    add(
        "kid path traversal",
        raw(
            r#"{"alg":"ES256","kid":"../../../../etc/passwd"}"#,
            claims,
            key,
        ),
        "key_not_found",
    );
    add(
        "no kid, one key",
        raw(r#"{"alg":"ES256"}"#, claims, key),
        "ok",
    );
    add(
        "signed by another key with the same kid",
        raw(&h(""), claims, other),
        "signature_invalid",
    );
}

fn structure_attacks(keys: &Keys, cases: &mut Cases) {
    let key = keys.alg(Algorithm::Es256);
    let good = token(key, &good_claims(MAIN));
    let (header, rest) = good.split_once('.').unwrap();
    let (payload, sig) = rest.split_once('.').unwrap();
    let kid = key.key.kid().unwrap();
    let mut add = |name: &str, token: String, expected| {
        cases.add(format!("structure: {name}"), token, expected)
    };
    add("baseline", good.clone(), "ok");
    add(
        "two parts",
        format!("{header}.{payload}"),
        "token_malformed",
    );
    add("four parts", format!("{good}.{sig}"), "token_malformed");
    add(
        "five parts (JWE)",
        format!("{header}.{payload}.{sig}.{sig}.{sig}"),
        "token_unsupported",
    );
    add(
        "JSON serialization",
        text(&json!({"payload": payload, "protected": header, "signature": sig})),
        "token_unsupported",
    );
    add("empty", String::new(), "token_malformed");
    add("three empty parts", "..".into(), "token_malformed");
    add(
        "padding on the signature",
        format!("{good}="),
        "token_malformed",
    );
    add(
        "padding on the payload",
        format!("{header}.{payload}=.{sig}"),
        "token_malformed",
    );
    add(
        "standard base64 '+' in place of '-'",
        format!("{header}.{payload}.+{}", &sig[1..]),
        "token_malformed",
    );
    add(
        "standard base64 '/' in place of '_'",
        format!("{header}.{payload}.{}/", &sig[..sig.len() - 1]),
        "token_malformed",
    );
    add(
        "character outside the alphabet",
        format!("{header}.{payload}.{sig}!"),
        "token_malformed",
    );
    add(
        "whitespace inside",
        format!("{header}. {payload}.{sig}"),
        "token_malformed",
    );
    add("leading whitespace", format!(" {good}"), "token_malformed");
    add("trailing newline", format!("{good}\n"), "token_malformed");
    add(
        "too large (checked before decoding)",
        "a".repeat(9000),
        "token_too_large",
    );
    add(
        "too large even when well-formed",
        token(
            key,
            &json!({"iss": MAIN, "aud": AUD, "exp": NOW + 300, "pad": "x".repeat(9000)}),
        ),
        "token_too_large",
    );
    add(
        "payload not an object",
        raw(&format!(r#"{{"alg":"ES256","kid":"{kid}"}}"#), "[1,2]", key),
        "token_malformed",
    );
    add(
        "payload not JSON",
        raw(r#"{"alg":"ES256"}"#, "hello", key),
        "token_malformed",
    );
    add(
        "payload empty",
        raw(r#"{"alg":"ES256"}"#, "", key),
        "token_malformed",
    );
    add(
        "duplicate claim (exp twice)",
        raw(
            r#"{"alg":"ES256"}"#,
            &format!(
                r#"{{"iss":"{MAIN}","aud":"{AUD}","exp":{},"exp":1}}"#,
                NOW + 300
            ),
            key,
        ),
        "token_malformed",
    );
    add(
        "duplicate nested member",
        raw(
            r#"{"alg":"ES256"}"#,
            &format!(
                r#"{{"iss":"{MAIN}","aud":"{AUD}","exp":{},"r":{{"a":1,"a":2}}}}"#,
                NOW + 300
            ),
            key,
        ),
        "token_malformed",
    );
    // Non-zero trailing bits: a 64-byte signature is 86 base64url characters whose last one carries 4
    // padding bits; setting one of them decodes to the same bytes in a lax decoder.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(sig.chars().last().unwrap()).unwrap();
    assert_eq!(
        index % 16,
        0,
        "a canonical last character has its 4 low bits clear"
    );
    let lax = alphabet.chars().nth(index + 1).unwrap();
    add(
        "non-zero trailing bits",
        format!("{header}.{payload}.{}{lax}", &sig[..sig.len() - 1]),
        "token_malformed",
    );
}

fn ecdsa_signature_form_attacks(keys: &Keys, cases: &mut Cases) {
    for alg in [
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::Es512,
        Algorithm::Es256k,
    ] {
        let key = keys.alg(alg);
        let good = token(key, &good_claims(&alg_issuer(alg)));
        let sig = signature_of(&good);
        let half = sig.len() / 2;
        let (r, s) = sig.split_at(half);
        // DER: SEQUENCE { INTEGER r, INTEGER s } with leading zeros for the sign bit.
        let der_int = |v: &[u8]| {
            let mut v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
            if v.first().is_some_and(|b| b & 0x80 != 0) {
                v.insert(0, 0);
            }
            let mut out = vec![0x02, v.len() as u8];
            out.extend(v);
            out
        };
        let mut body = der_int(r);
        body.extend(der_int(s));
        let mut der = vec![0x30];
        if body.len() > 127 {
            der.push(0x81);
        }
        der.push(body.len() as u8);
        der.extend(body);
        let mut longer = sig.clone();
        longer.push(0);
        let mut zero_r = sig.clone();
        zero_r[..half].fill(0);
        let mut max_s = sig.clone();
        max_s[half..].fill(0xff); // above the group order for every curve here
        let bad: Vec<(&str, Vec<u8>)> = vec![
            ("all-zero signature", vec![0; sig.len()]),
            ("DER-encoded signature", der),
            ("over-long signature", longer),
            ("truncated signature", sig[..sig.len() - 1].to_vec()),
            ("r = 0", zero_r),
            ("s out of range", max_s),
            ("r and s swapped", [s, r].concat()),
            ("empty signature", Vec::new()),
        ];
        cases.add(format!("ecdsa {alg}: baseline"), good.clone(), "ok");
        for (name, bad) in bad {
            cases.add(
                format!("ecdsa {alg}: {name}"),
                with_signature(&good, &bad),
                "signature_invalid",
            );
        }
    }
}

fn signature_length_attacks(keys: &Keys, cases: &mut Cases) {
    for alg in Algorithm::ALL
        .into_iter()
        .filter(|a| !matches!(a.family(), KeyFamily::Ec(_)))
    {
        let key = keys.alg(alg);
        let good = token(key, &good_claims(&alg_issuer(alg)));
        let sig = signature_of(&good);
        let mut leading_zero = vec![0];
        leading_zero.extend(&sig);
        cases.add(format!("length {alg}: baseline"), good.clone(), "ok");
        for (name, bad) in [
            ("truncated", sig[..sig.len() - 1].to_vec()),
            ("leading zero byte", leading_zero),
            ("empty", Vec::new()),
            ("all zero", vec![0; sig.len()]),
        ] {
            cases.add(
                format!("length {alg}: {name}"),
                with_signature(&good, &bad),
                "signature_invalid",
            );
        }
    }
}

/// Per algorithm: a flipped signature bit, a tampered payload, and the header naming a sibling algorithm.
fn per_algorithm_attacks(keys: &Keys, cases: &mut Cases) {
    for alg in Algorithm::ALL {
        let key = keys.alg(alg);
        let iss = alg_issuer(alg);
        let good = token(key, &good_claims(&iss));
        let mut flipped = signature_of(&good);
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x01;
        cases.add(
            format!("alg {alg}: one signature bit flipped"),
            with_signature(&good, &flipped),
            "signature_invalid",
        );
        // The payload of another token (a later exp), under this token's signature.
        let (header, rest) = good.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let mut later = good_claims(&iss);
        later["exp"] = json!(NOW + 86_400);
        let forged = format!("{header}.{}.{sig}", b64(text(&later).as_bytes()));
        cases.add(
            format!("alg {alg}: payload swapped under the signature"),
            forged,
            "signature_invalid",
        );
        let sibling = match alg {
            Algorithm::Hs256 => Algorithm::Hs384,
            Algorithm::Hs384 => Algorithm::Hs512,
            Algorithm::Hs512 => Algorithm::Hs256,
            Algorithm::Rs256 => Algorithm::Ps256,
            Algorithm::Rs384 => Algorithm::Rs256,
            Algorithm::Rs512 => Algorithm::Rs384,
            Algorithm::Ps256 => Algorithm::Rs256,
            Algorithm::Ps384 => Algorithm::Ps256,
            Algorithm::Ps512 => Algorithm::Ps384,
            Algorithm::Es256 => Algorithm::Es256k,
            Algorithm::Es384 => Algorithm::Es256,
            Algorithm::Es512 => Algorithm::Es384,
            Algorithm::Es256k => Algorithm::Es256,
            Algorithm::EdDsa => Algorithm::Es256,
        };
        let header = format!(r#"{{"alg":"{}"}}"#, sibling.name());
        cases.add(
            format!("alg {alg}: header says {sibling}"),
            raw(&header, &text(&good_claims(&iss)), key),
            "alg_not_allowed",
        );
    }
    // The name `Ed25519` is accepted for EdDSA.
    let key = keys.alg(Algorithm::EdDsa);
    cases.add(
        "alg EdDSA: header says Ed25519",
        raw(
            r#"{"alg":"Ed25519"}"#,
            &text(&good_claims(&alg_issuer(Algorithm::EdDsa))),
            key,
        ),
        "ok",
    );
}

fn algorithm_confusion_attacks(keys: &Keys, cases: &mut Cases) {
    let rsa = keys.alg(Algorithm::Rs256);
    let claims = |iss: &str| text(&good_claims(iss));
    // HS256 signed with the RSA public key's modulus as the HMAC secret, sent to an RS256 issuer.
    let n = keys.public_jwk("RS256")["n"].as_str().unwrap().to_owned();
    let confused = |k: &str| {
        let jwk = json!({"kty": "oct", "k": k});
        TestKey {
            key: SigningKey::from_json(jwk.to_string().as_bytes(), Some(Algorithm::Hs256)).unwrap(),
            private: jwk.as_object().unwrap().clone(),
        }
    };
    let rs256 = alg_issuer(Algorithm::Rs256);
    cases.add(
        "confusion: HS256 with the RSA key as secret",
        raw(r#"{"alg":"HS256"}"#, &claims(&rs256), &confused(&n)),
        "alg_not_allowed",
    );
    cases.add(
        "confusion: HS256 with the RSA key, naming its kid",
        raw(
            &format!(r#"{{"alg":"HS256","kid":"{}"}}"#, rsa.key.kid().unwrap()),
            &claims(&rs256),
            &confused(&n),
        ),
        "alg_not_allowed",
    );
    let x = keys.public_jwk("ES256")["x"].as_str().unwrap().to_owned();
    cases.add(
        "confusion: HS256 with the EC x coordinate as secret",
        raw(r#"{"alg":"HS256"}"#, &claims(MAIN), &confused(&x)),
        "alg_not_allowed",
    );
    // An issuer that allows ES256 and RS256 but holds only an RSA key: an ES256 token finds no key.
    let ec = keys.alg(Algorithm::Es256);
    cases.add(
        "confusion: ES256 token, RSA-only key set",
        raw(r#"{"alg":"ES256"}"#, &claims(RS_ES), ec),
        "key_not_found",
    );
    cases.add(
        "confusion: ES256 token naming the RSA key's kid",
        raw(
            &format!(r#"{{"alg":"ES256","kid":"{}"}}"#, rsa.key.kid().unwrap()),
            &claims(RS_ES),
            ec,
        ),
        "key_not_found",
    );
    cases.add(
        "confusion: RS256 token, RSA-only key set",
        token(rsa, &good_claims(RS_ES)),
        "ok",
    );
    // PS256 and RS256 share a key type, but a key that declares `alg: RS256` never verifies PS256.
    let ps = keys.alg(Algorithm::Ps256);
    cases.add(
        "confusion: PS256 token against a key declaring RS256",
        raw(
            &format!(r#"{{"alg":"PS256","kid":"{}"}}"#, rsa.key.kid().unwrap()),
            &claims(RS_PS),
            ps,
        ),
        "key_not_found",
    );
    cases.add(
        "confusion: RS256 token, RS256/PS256 issuer",
        token(rsa, &good_claims(RS_PS)),
        "ok",
    );
    // An HMAC issuer's secret used as if it were an ES256 issuer's: the issuer decides the algorithm.
    let hs = keys.alg(Algorithm::Hs256);
    cases.add(
        "confusion: HS256 token (a valid HMAC) for the ES256 issuer",
        raw(r#"{"alg":"HS256"}"#, &claims(MAIN), hs),
        "alg_not_allowed",
    );
}

fn claim_attacks(keys: &Keys, cases: &mut Cases) {
    let key = keys.alg(Algorithm::Es256);
    let t = |claims: Value| token(key, &claims);
    let mut add =
        |name: &str, token: String, expected| cases.add(format!("claims: {name}"), token, expected);
    let m = MAIN;
    add("baseline", t(good_claims(m)), "ok");
    add(
        "exp as a string is not 'no expiry'",
        t(json!({"iss": m, "aud": AUD, "exp": "9999999999"})),
        "claim_invalid",
    );
    add(
        "exp null",
        t(json!({"iss": m, "aud": AUD, "exp": null})),
        "claim_invalid",
    );
    add(
        "exp boolean",
        t(json!({"iss": m, "aud": AUD, "exp": true})),
        "claim_invalid",
    );
    add(
        "exp huge float",
        t(json!({"iss": m, "aud": AUD, "exp": 1e300})),
        "claim_invalid",
    );
    add(
        "exp beyond i64",
        t(json!({"iss": m, "aud": AUD, "exp": u64::MAX})),
        "claim_invalid",
    );
    add(
        "exp fractional, still valid",
        t(json!({"iss": m, "aud": AUD, "exp": (NOW + 300) as f64 + 0.5})),
        "ok",
    );
    add(
        "exp missing (required by default)",
        t(json!({"iss": m, "aud": AUD})),
        "claim_missing",
    );
    add(
        "expired beyond leeway",
        t(json!({"iss": m, "aud": AUD, "exp": NOW - 60})),
        "token_expired",
    );
    add(
        "expired within leeway",
        t(json!({"iss": m, "aud": AUD, "exp": NOW - 59})),
        "ok",
    );
    add(
        "nbf in the future beyond leeway",
        t(json!({"iss": m, "aud": AUD, "exp": NOW + 300, "nbf": NOW + 61})),
        "token_not_yet_valid",
    );
    add(
        "nbf within leeway",
        t(json!({"iss": m, "aud": AUD, "exp": NOW + 300, "nbf": NOW + 60})),
        "ok",
    );
    add(
        "nbf as a string",
        t(json!({"iss": m, "aud": AUD, "exp": NOW + 300, "nbf": "0"})),
        "claim_invalid",
    );
    add(
        "iat in the future",
        t(json!({"iss": m, "aud": AUD, "exp": NOW + 300, "iat": NOW + 61})),
        "token_issued_in_future",
    );
    add(
        "iat as a string",
        t(json!({"iss": m, "aud": AUD, "exp": NOW + 300, "iat": "1"})),
        "claim_invalid",
    );
    add(
        "iss unknown",
        t(json!({"iss": "https://evil.example/", "aud": AUD, "exp": NOW + 300})),
        "issuer_unknown",
    );
    add(
        "iss differs by a trailing slash",
        t(json!({"iss": "https://idp.example.com", "aud": AUD, "exp": NOW + 300})),
        "issuer_unknown",
    );
    add(
        "iss differs in case",
        t(json!({"iss": "https://IDP.example.com/", "aud": AUD, "exp": NOW + 300})),
        "issuer_unknown",
    );
    add(
        "iss missing",
        t(json!({"aud": AUD, "exp": NOW + 300})),
        "issuer_unknown",
    );
    add(
        "iss not a string",
        t(json!({"iss": [m], "aud": AUD, "exp": NOW + 300})),
        "claim_invalid",
    );
    add(
        "aud mismatch",
        t(json!({"iss": m, "aud": "https://other.example", "exp": NOW + 300})),
        "audience_mismatch",
    );
    add(
        "aud missing",
        t(json!({"iss": m, "exp": NOW + 300})),
        "audience_mismatch",
    );
    add(
        "aud array containing ours",
        t(json!({"iss": m, "aud": ["x", AUD], "exp": NOW + 300})),
        "ok",
    );
    add(
        "aud empty array",
        t(json!({"iss": m, "aud": [], "exp": NOW + 300})),
        "audience_mismatch",
    );
    add(
        "aud with a trailing slash",
        t(json!({"iss": m, "aud": format!("{AUD}/"), "exp": NOW + 300})),
        "audience_mismatch",
    );
    add(
        "aud array with a number",
        t(json!({"iss": m, "aud": [AUD, 1], "exp": NOW + 300})),
        "claim_invalid",
    );
    add(
        "aud object",
        t(json!({"iss": m, "aud": {"a": AUD}, "exp": NOW + 300})),
        "claim_invalid",
    );
    add(
        "sub not a string",
        t(json!({"iss": m, "aud": AUD, "exp": NOW + 300, "sub": 42})),
        "claim_invalid",
    );
    add(
        "jti not a string",
        t(json!({"iss": m, "aud": AUD, "exp": NOW + 300, "jti": 42})),
        "claim_invalid",
    );
}

fn strict_issuer_attacks(keys: &Keys, cases: &mut Cases) {
    let key = keys.alg(Algorithm::Es256);
    let typed = |typ: &str, claims: &Value| {
        raw(
            &text(&json!({"alg": "ES256", "kid": key.key.kid(), "typ": typ})),
            &text(claims),
            key,
        )
    };
    let full = json!({"iss": STRICT, "aud": AUD, "sub": "u", "tenant": "t", "iat": NOW - 10, "exp": NOW + 300});
    let patch = |k: &str, v: Value| {
        let mut c = full.clone();
        c[k] = v;
        c
    };
    let remove = |k: &str| {
        let mut c = full.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    let mut add =
        |name: &str, token: String, expected| cases.add(format!("strict: {name}"), token, expected);
    add("baseline with typ at+jwt", typed("at+jwt", &full), "ok");
    add(
        "typ application/AT+JWT",
        typed("application/AT+JWT", &full),
        "ok",
    );
    add("typ JWT", typed("JWT", &full), "typ_mismatch");
    add(
        "typ missing",
        raw(r#"{"alg":"ES256"}"#, &text(&full), key),
        "typ_mismatch",
    );
    add(
        "second audience",
        typed("at+jwt", &patch("aud", json!("second"))),
        "ok",
    );
    add(
        "sub missing",
        typed("at+jwt", &remove("sub")),
        "claim_missing",
    );
    add(
        "required claim missing",
        typed("at+jwt", &remove("tenant")),
        "claim_missing",
    );
    add(
        "required claim null",
        typed("at+jwt", &patch("tenant", json!(null))),
        "claim_missing",
    );
    add(
        "iat missing with max age",
        typed("at+jwt", &remove("iat")),
        "claim_missing",
    );
    add(
        "older than max age",
        typed("at+jwt", &patch("iat", json!(NOW - 3600 - 61))),
        "token_too_old",
    );
    add(
        "max age within leeway",
        typed("at+jwt", &patch("iat", json!(NOW - 3600 - 60))),
        "ok",
    );
}

fn max_age_attacks(keys: &Keys, cases: &mut Cases) {
    let key = keys.alg(Algorithm::Es256);
    let claims = |iat: f64| json!({"iss": MAX_AGE, "aud": AUD, "exp": NOW + 300, "iat": iat});
    // 100.5 s old: too old, although ceil(iat) would make it exactly 100 s.
    cases.add(
        "max age: iat 100.5 s ago, max age 100",
        token(key, &claims(NOW as f64 - 100.5)),
        "token_too_old",
    );
    cases.add(
        "max age: iat 99.5 s ago, max age 100",
        token(key, &claims(NOW as f64 - 99.5)),
        "ok",
    );
    // In the other direction `iat` rounds up: 0.5 s in the future with no leeway is refused.
    cases.add(
        "max age: iat 0.5 s in the future, no leeway",
        token(key, &claims(NOW as f64 + 0.5)),
        "token_issued_in_future",
    );
}

/// One token, verified at different times (`now`), against the default 60 s leeway.
fn time_attacks(keys: &Keys, cases: &mut Cases) {
    let key = keys.alg(Algorithm::EdDsa);
    let iss = alg_issuer(Algorithm::EdDsa);
    let t = token(
        key,
        &json!({"iss": iss, "aud": AUD, "nbf": NOW, "exp": NOW + 300}),
    );
    for (name, now, expected) in [
        ("61 s before nbf", NOW - 61, "token_not_yet_valid"),
        ("60 s before nbf (leeway)", NOW - 60, "ok"),
        ("at exp", NOW + 300, "ok"),
        ("59 s after exp (leeway)", NOW + 359, "ok"),
        ("60 s after exp", NOW + 360, "token_expired"),
        ("a year after exp", NOW + 300 + 31_536_000, "token_expired"),
    ] {
        cases.at(format!("time: {name}"), t.clone(), now, expected);
    }
}

fn issuer_attacks(keys: &Keys, cases: &mut Cases) {
    let es = keys.alg(Algorithm::Es256);
    let ed = keys.alg(Algorithm::EdDsa);
    let ed_issuer = alg_issuer(Algorithm::EdDsa);
    let claims = |iss: &str| json!({"iss": iss, "aud": AUD, "exp": NOW + 300});
    cases.add("issuers: ES256 issuer", token(es, &claims(MAIN)), "ok");
    cases.add(
        "issuers: EdDSA issuer",
        token(ed, &claims(&ed_issuer)),
        "ok",
    );
    // The ES256 issuer's key cannot speak for the EdDSA issuer: that one allows only EdDSA.
    cases.add(
        "issuers: the ES256 key claiming the EdDSA issuer",
        token(es, &claims(&ed_issuer)),
        "alg_not_allowed",
    );
    // Same algorithm, another issuer's key (the strict issuer's is the same key: allowed by its policy
    // but refused by its typ rule).
    cases.add(
        "issuers: another EdDSA key claiming the EdDSA issuer",
        token(keys.get("EdDSA-other"), &claims(&ed_issuer)),
        "signature_invalid",
    );
    cases.add(
        "issuers: the RS256 key claiming the RS384 issuer",
        token(
            keys.alg(Algorithm::Rs256),
            &claims(&alg_issuer(Algorithm::Rs384)),
        ),
        "alg_not_allowed",
    );
    let rs256_as_rs384 = raw(
        &format!(
            r#"{{"alg":"RS384","kid":"{}"}}"#,
            keys.alg(Algorithm::Rs256).key.kid().unwrap()
        ),
        &text(&claims(&alg_issuer(Algorithm::Rs384))),
        keys.alg(Algorithm::Rs256),
    );
    cases.add(
        "issuers: an RS256 signature labelled RS384 for the RS384 issuer",
        rs256_as_rs384,
        "key_not_found",
    );
    cases.add(
        "issuers: HS256 secret claiming the HS384 issuer",
        raw(
            r#"{"alg":"HS384"}"#,
            &text(&claims(&alg_issuer(Algorithm::Hs384))),
            keys.alg(Algorithm::Hs256),
        ),
        "signature_invalid",
    );
}

fn kidless_attacks(keys: &Keys, cases: &mut Cases) {
    let claims = |iss: &str| text(&json!({"iss": iss, "aud": AUD, "exp": NOW + 300}));
    let last = keys.get("ES256-anonymous-3");
    cases.add(
        "kid-less: the fourth compatible key verifies",
        raw(r#"{"alg":"ES256"}"#, &claims(KIDLESS), last),
        "ok",
    );
    cases.add(
        "kid-less: an unknown kid falls back to kid-less keys",
        raw(
            r#"{"alg":"ES256","kid":"whatever"}"#,
            &claims(KIDLESS),
            keys.get("ES256-anonymous-0"),
        ),
        "ok",
    );
    cases.add(
        "kid-less: EdDSA among them",
        raw(
            r#"{"alg":"EdDSA"}"#,
            &claims(KIDLESS),
            keys.get("EdDSA-anonymous"),
        ),
        "ok",
    );
    cases.add(
        "kid-less: a key not in the set",
        raw(
            r#"{"alg":"ES256"}"#,
            &claims(KIDLESS),
            keys.get("ES256-anonymous-4"),
        ),
        "signature_invalid",
    );
    cases.add(
        "kid-less: five compatible keys exceed the bound of four",
        raw(r#"{"alg":"ES256"}"#, &claims(KIDLESS_5), last),
        "key_ambiguous",
    );
}

fn all_cases(keys: &Keys) -> Vec<Case> {
    let mut cases = Cases::default();
    header_attacks(keys, &mut cases);
    structure_attacks(keys, &mut cases);
    ecdsa_signature_form_attacks(keys, &mut cases);
    signature_length_attacks(keys, &mut cases);
    per_algorithm_attacks(keys, &mut cases);
    algorithm_confusion_attacks(keys, &mut cases);
    claim_attacks(keys, &mut cases);
    strict_issuer_attacks(keys, &mut cases);
    max_age_attacks(keys, &mut cases);
    time_attacks(keys, &mut cases);
    issuer_attacks(keys, &mut cases);
    kidless_attacks(keys, &mut cases);
    let mut names: Vec<&str> = cases.0.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.0.len(), "case names are unique");
    cases.0
}

/// The file's text: the configuration pretty-printed, then one case per line.
fn render(keys: &Keys, cases: &[Case]) -> String {
    let head = json!({
        "about": [
            "The core's attack tables (crates/core/tests/attacks.rs) as data, for every runtime that verifies tokens.",
            "GENERATED: do not edit by hand. Written by crates/core/tests/attack_vectors.rs (see tests/vectors/README.md):",
            GENERATOR,
            "Runners: build a verifier from `config` (the EDGE_AUTH issuer schema: `issuers` and `leeway_seconds`) with",
            "`secrets` (the Workers secrets that `hmac_secret` names), verify each case's `token` at its `now` (Unix",
            "seconds) and compare with `expected`: \"ok\", or the stable error code. Count the cases run: all of them.",
            "Keys: tests/vectors/attack-keys.json (test-only private keys, for the generator only).",
        ],
        "config": {"leeway_seconds": 60, "issuers": issuers(keys)},
        "secrets": keys.secrets,
        "count": cases.len(),
    });
    let head = serde_json::to_string_pretty(&sorted(&head)).unwrap();
    let mut out = head.strip_suffix("\n}").unwrap().to_owned();
    out.push_str(",\n  \"cases\": [\n");
    for (i, case) in cases.iter().enumerate() {
        let comma = if i + 1 == cases.len() { "" } else { "," };
        writeln!(
            out,
            "    {{\"name\": {}, \"now\": {}, \"expected\": {}, \"token\": {}}}{comma}",
            json!(case.name),
            case.now,
            json!(case.expected),
            json!(case.token)
        )
        .unwrap();
    }
    out.push_str("  ]\n}\n");
    out
}

// ---------------------------------------------------------------------------------------------------
// Running a file.

/// The committed file, compiled through `GateConfig::from_value` the way the Worker compiles `EDGE_AUTH`
/// (with an assertion section added: the Worker's schema requires one; it plays no part in verifying).
fn compile(file: &Value) -> GateConfig {
    let mut config = file["config"].clone();
    config["assertion"] = json!({
        "issuer": "https://edge.example.com", "audience": "https://origin.example.com",
        "signing_key_secret": "ASSERTION_SIGNING_KEY"
    });
    let edge = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng).unwrap();
    let mut secrets: HashMap<String, String> = file["secrets"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    secrets.insert(
        "ASSERTION_SIGNING_KEY".into(),
        Value::Object(edge.to_private_jwk()).to_string(),
    );
    GateConfig::from_value(&config, &secrets).unwrap_or_else(|e| panic!("{VECTORS}: config: {e}"))
}

/// Runs every case; returns the mismatches (empty: all agree) and the number run.
fn run_all(file: &Value) -> (Vec<String>, usize) {
    let config = compile(file);
    let mut wrong = Vec::new();
    let mut ran = 0;
    for case in file["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let token = case["token"].as_str().unwrap();
        let now = case["now"].as_u64().unwrap();
        let expected = case["expected"].as_str().unwrap();
        let actual = match config.verifier.verify(token, UnixTime(now)) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        if actual != expected {
            wrong.push(format!("`{name}`: {actual}, expected {expected}"));
        }
        ran += 1;
    }
    (wrong, ran)
}

fn committed() -> (String, Value) {
    let text = std::fs::read_to_string(repo_file(VECTORS))
        .unwrap_or_else(|e| panic!("{VECTORS}: {e}; write it with: {GENERATOR}"));
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

#[test]
fn attack_vectors_give_their_codes() {
    let (_, file) = committed();
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), CASES, "{VECTORS} holds {CASES} cases");
    assert_eq!(file["count"], json!(CASES), "{VECTORS}: `count`");
    let (wrong, ran) = run_all(&file);
    assert_eq!(wrong, Vec::<String>::new());
    assert_eq!(ran, CASES);
    // Every algorithm has a case that verifies and one that is refused.
    for alg in Algorithm::ALL {
        let issuer = alg_issuer(alg);
        let of_alg = |expected: bool| {
            cases.iter().any(|c| {
                c["name"].as_str().unwrap().contains(&format!(" {alg}:"))
                    && (c["expected"] == "ok") == expected
            })
        };
        assert!(
            of_alg(true) && of_alg(false),
            "{alg} ({issuer}) has ok and refused cases"
        );
    }
}

#[test]
fn attack_vectors_are_what_the_generator_writes() {
    let (text, _) = committed();
    let keys = Keys::load_or_create();
    let regenerated = render(&keys, &all_cases(&keys));
    assert!(
        regenerated == text,
        "{VECTORS} is not what the generator writes: regenerate it with {GENERATOR}"
    );
}

#[test]
fn rfc_jwt_vectors_through_the_issuer_schema() {
    // The JS package's `createVerifier` takes only the EDGE_AUTH schema, which always names audiences; the
    // RFC 7515 JWTs (A.1-A.3) carry none, so a verifier built from that schema refuses them with
    // `audience_mismatch` after their signature verified. tests/js asserts the same. A.1's HMAC key is
    // not text, so it cannot be a Workers secret (`hmac_secret`): it is not expressible in the schema.
    let vectors: Vec<Value> = serde_json::from_str(include_str!("vectors/rfc.json")).unwrap();
    let mut ran = 0;
    let mut not_expressible = 0;
    for v in vectors.iter().filter(|v| v["jwt"] == json!(true)) {
        let name = v["name"].as_str().unwrap();
        let payload = Base64UrlUnpadded::decode_vec(v["payload_b64"].as_str().unwrap()).unwrap();
        let claims: Value = serde_json::from_slice(&payload).unwrap();
        let alg = v["alg"].as_str().unwrap();
        if v["jwk"]["kty"] == "oct" {
            let k = Base64UrlUnpadded::decode_vec(v["jwk"]["k"].as_str().unwrap()).unwrap();
            assert!(
                std::str::from_utf8(&k).is_err(),
                "{name}: its key is text after all"
            );
            not_expressible += 1;
            continue;
        }
        let config = json!({
            "issuers": [{"issuer": claims["iss"], "audiences": [AUD], "algorithms": [alg],
                         "jwks": {"keys": [v["jwk"]]}}],
            "assertion": {"issuer": "https://edge.example.com", "audience": "https://origin.example.com",
                          "signing_key_secret": "S"},
        });
        let edge = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng).unwrap();
        let secrets = HashMap::from([(
            "S".to_owned(),
            Value::Object(edge.to_private_jwk()).to_string(),
        )]);
        let config = GateConfig::from_value(&config, &secrets).unwrap();
        let now = v["now"].as_u64().unwrap();
        let error = config
            .verifier
            .verify(v["token"].as_str().unwrap(), UnixTime(now))
            .unwrap_err();
        assert_eq!(error.code(), "audience_mismatch", "{name}");
        // One flipped signature bit: the signature is checked before the claims.
        let token = v["token"].as_str().unwrap();
        let mut sig = signature_of(token);
        sig[0] ^= 1;
        let error = config
            .verifier
            .verify(&with_signature(token, &sig), UnixTime(now))
            .unwrap_err();
        assert_eq!(error.code(), "signature_invalid", "{name}");
        ran += 1;
    }
    assert_eq!(
        (ran, not_expressible),
        (2, 1),
        "RFC 7515 A.2, A.3 run; A.1 is HMAC with a binary key"
    );
}

/// Writes `tests/vectors/attacks.json` (and, on the very first run, the test-only keys).
#[test]
#[ignore = "generator: run by hand, then commit the file"]
fn write_vectors() {
    let keys = Keys::load_or_create();
    let cases = all_cases(&keys);
    let text = render(&keys, &cases);
    // Never write a file the core disagrees with.
    let (wrong, ran) = run_all(&serde_json::from_str(&text).unwrap());
    assert_eq!(
        wrong,
        Vec::<String>::new(),
        "the generator's expectations and the core disagree"
    );
    std::fs::write(repo_file(VECTORS), &text).unwrap();
    println!("wrote {VECTORS}: {ran} cases (set CASES = {ran} in this file and ATTACK_CASES in tests/js/common.mjs)");
}
