//! Fixtures shared by the fuzz targets: fixed keys (published test vectors, never generated per run),
//! the verifier `token_parse` checks tokens against, and the compiled configuration `path_route` and
//! `explain_input` route requests through. Each is built once per process.
//!
//! `scripts/fuzz-seeds.py` mints seed tokens with the same HMAC keys and the same clock ([`NOW`]): keep
//! the two in step.
#![allow(
    clippy::expect_used,
    reason = "fixed fixtures: a failure is a harness bug, and it shows on the first input"
)]

use std::collections::HashMap;
use std::sync::OnceLock;

use edge_auth_core::{
    Algorithm, GateConfig, IssuerPolicy, KeySet, Limits, SignatureBackend, SignatureCheck,
    SignatureError, UnixTime, Verifier,
};
use serde_json::{json, Value};

/// The fixed clock: RFC 7515's example `exp` minus one, so the RFC 7515 A.2/A.3 tokens are current.
pub const NOW: UnixTime = UnixTime(1_300_819_379);

/// The issuer of the HS256 seed tokens (`scripts/fuzz-seeds.py` signs them with [`HS256_JWK`]).
pub const HS_ISSUER: &str = "https://idp.example.com/";
/// The audience every fixture issuer expects.
pub const AUDIENCE: &str = "https://api.example.com";

/// RFC 7515 Appendix A.1's HMAC key (crates/core/tests/vectors/rfc.json, `rfc7515-a1-hs256`).
pub const HS256_JWK: &str = r#"{"kty":"oct","kid":"hs-1","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;

/// RFC 8037 Appendix A.1's Ed25519 private key: the assertion signing key of the configurations.
pub const ED25519_PRIVATE_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
/// Its private part, which no output may ever contain.
pub const ED25519_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

/// An HS256 private JWK (RFC 7520 §3.5's key), for `previous_signing_key_secret` and friends.
pub const HS256_SIGNING_JWK: &str = r#"{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037","use":"sig","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}"#;
/// Its secret, which no output may ever contain.
pub const HS256_SIGNING_K: &str = "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg";

/// The HMAC secret of the configurations' HS256 issuer (`hmac_secret = "IDP_HMAC_SECRET"`); its UTF-8
/// bytes are the key.
pub const IDP_HMAC_SECRET: &str = "edge-auth-fuzz-hmac-secret-0123456789abcdef0123";

/// The RFC vectors' public keys.
const RFC_VECTORS: &str = include_str!("../../crates/core/tests/vectors/rfc.json");
/// The route-policy table; its `config` is the representative route table.
const POLICY_CASES: &str = include_str!("../../tests/policy/cases.json");

fn rfc_jwk(name: &str) -> Value {
    let vectors: Value = serde_json::from_str(RFC_VECTORS).expect("rfc.json is JSON");
    vectors
        .as_array()
        .and_then(|cases| {
            cases
                .iter()
                .find(|case| case.get("name").and_then(Value::as_str) == Some(name))
        })
        .and_then(|case| case.get("jwk").cloned())
        .expect("the RFC vector exists")
}

/// Every secret a fuzzed configuration may name: `EDGE_AUTH_SIGNING_KEY` (Ed25519),
/// `EDGE_AUTH_HS_KEY` (an HS256 JWK) and `IDP_HMAC_SECRET`.
pub fn secrets() -> &'static HashMap<String, String> {
    static SECRETS: OnceLock<HashMap<String, String>> = OnceLock::new();
    SECRETS.get_or_init(|| {
        HashMap::from([
            (
                "EDGE_AUTH_SIGNING_KEY".to_owned(),
                ED25519_PRIVATE_JWK.to_owned(),
            ),
            ("EDGE_AUTH_HS_KEY".to_owned(), HS256_SIGNING_JWK.to_owned()),
            ("IDP_HMAC_SECRET".to_owned(), IDP_HMAC_SECRET.to_owned()),
        ])
    })
}

/// The secret values no output (error message, published JWKS) may contain.
pub const SECRET_VALUES: [&str; 3] = [ED25519_D, HS256_SIGNING_K, IDP_HMAC_SECRET];

/// `token_parse`'s verifier: `https://idp.example.com/` with HS256 (kid `hs-1`, audience, `sub`
/// required, at most an hour old), and `joe` (RFC 7515's issuer) with the A.2 RSA and A.3 P-256 keys,
/// `typ: JWT`, any audience, so the RFC tokens verify.
pub fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let hs = IssuerPolicy::builder(
            HS_ISSUER,
            [Algorithm::Hs256],
            KeySet::from_jwk_json(HS256_JWK.as_bytes()).expect("the HS256 key loads"),
        )
        .audiences([AUDIENCE])
        .require_sub()
        .max_age(3600)
        .build()
        .expect("the HS256 issuer builds");
        let jwks = json!({ "keys": [rfc_jwk("rfc7515-a2-rs256"), rfc_jwk("rfc7515-a3-es256")] });
        let joe = IssuerPolicy::builder(
            "joe",
            [Algorithm::Rs256, Algorithm::Es256],
            KeySet::from_jwks_json(jwks.to_string().as_bytes()).expect("the RFC keys load"),
        )
        .dangerous_any_audience()
        .typ("JWT")
        .build()
        .expect("the RFC issuer builds");
        Verifier::new(vec![hs, joe], Limits::default()).expect("the verifier builds")
    })
}

/// A backend that accepts every signature, so that claims checks run on every token the fuzzer
/// mutates (a real signature never survives a mutation).
#[derive(Debug, Clone, Copy)]
pub struct AcceptAll;

impl SignatureBackend for AcceptAll {
    fn verify(&self, _check: &SignatureCheck<'_>) -> Result<(), SignatureError> {
        Ok(())
    }
}

/// The configuration of `tests/policy/cases.json` as the runners complete it (each issuer ES256 with
/// RFC 7515 A.3's key, an Ed25519 assertion key), plus an HS256 issuer, [`HS_ISSUER`], whose secret is
/// [`IDP_HMAC_SECRET`], so seed tokens verify and authorization runs.
pub fn policy_config_value() -> Value {
    let cases: Value = serde_json::from_str(POLICY_CASES).expect("cases.json is JSON");
    let mut config = cases
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .expect("cases.json has a config object");
    let es256 = json!({ "keys": [rfc_jwk("rfc7515-a3-es256")] });
    if let Some(issuers) = config.get_mut("issuers").and_then(Value::as_array_mut) {
        for issuer in issuers.iter_mut().filter_map(Value::as_object_mut) {
            issuer.insert("algorithms".into(), json!(["ES256"]));
            issuer.insert("jwks".into(), es256.clone());
        }
        issuers.push(json!({
            "issuer": HS_ISSUER,
            "audiences": [AUDIENCE],
            "algorithms": ["HS256"],
            "hmac_secret": "IDP_HMAC_SECRET",
            "scope_claims": ["scope"],
            "role_claims": ["roles"],
        }));
    }
    config.insert(
        "assertion".into(),
        json!({
            "issuer": "https://edge.example.com",
            "audience": "https://origin.example.com",
            "signing_key_secret": "EDGE_AUTH_SIGNING_KEY",
        }),
    );
    Value::Object(config)
}

/// [`policy_config_value`], compiled.
pub fn policy_config() -> &'static GateConfig {
    static CONFIG: OnceLock<GateConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        GateConfig::from_value(&policy_config_value(), secrets())
            .expect("the policy table's configuration compiles")
    })
}

/// Splits fuzz input into text lines (`\n`), or `None` when it is not UTF-8.
pub fn lines(data: &[u8]) -> Option<Vec<&str>> {
    std::str::from_utf8(data)
        .ok()
        .map(|text| text.split('\n').collect())
}

/// Compiles a configuration value three ways and checks what must hold whatever the input:
/// - as given, and as its JSON text (the `EDGE_AUTH`-as-a-string form): both compile or neither does;
/// - a refusal lists at least one error, and no error message repeats a secret's value (unless the
///   input itself holds it);
/// - a compiled configuration never publishes a private or symmetric key member in its assertion
///   JWKS, and plans a few fixed requests.
///
/// `input` is the fuzz input the value came from.
pub fn check_config(value: &Value, input: &[u8]) {
    if value.is_string() {
        // Already the JSON-text form.
        return check_compiled(GateConfig::from_value(value, secrets()), input);
    }
    let compiled = GateConfig::from_value(value, secrets());
    let as_text = GateConfig::from_value(&Value::String(value.to_string()), secrets());
    assert_eq!(
        compiled.is_ok(),
        as_text.is_ok(),
        "a configuration and its JSON text compile differently: {:?} / {:?}",
        compiled.as_ref().err(),
        as_text.as_ref().err()
    );
    for result in [compiled, as_text] {
        check_compiled(result, input);
    }
}

/// The checks of [`check_config`] on one compilation's outcome.
pub fn check_compiled(result: Result<GateConfig, edge_auth_core::ConfigErrors>, input: &[u8]) {
    let input = String::from_utf8_lossy(input);
    match result {
        Err(errors) => {
            assert!(!errors.0.is_empty(), "a refusal without an error");
            let text = errors.to_string();
            for secret in SECRET_VALUES {
                assert!(
                    !text.contains(secret) || input.contains(secret),
                    "a configuration error shows a secret"
                );
            }
        }
        Ok(config) => {
            let jwks: Value =
                serde_json::from_str(&config.assertion.jwks_json).unwrap_or(Value::Null);
            assert!(jwks.is_object(), "the assertion JWKS is not a JSON object");
            let keys = jwks
                .get("keys")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            for key in keys {
                for member in ["k", "d", "p", "q", "dp", "dq", "qi", "oth"] {
                    assert!(
                        key.get(member).is_none(),
                        "the assertion JWKS publishes `{member}`"
                    );
                }
            }
            for secret in SECRET_VALUES {
                assert!(!config.assertion.jwks_json.contains(secret));
            }
            for (method, url, path, host) in [
                ("GET", "https://api.example.com/", "/", "api.example.com"),
                (
                    "POST",
                    "https://api.example.com/orders/1",
                    "/orders/1",
                    "api.example.com",
                ),
                (
                    "GET",
                    "http://127.0.0.1:8787/admin/x",
                    "/admin/x",
                    "127.0.0.1:8787",
                ),
                (
                    "GET",
                    "https://api.example.com/.well-known/edge-auth/jwks.json",
                    "/.well-known/edge-auth/jwks.json",
                    "api.example.com",
                ),
            ] {
                let head = edge_auth_gate::RequestHead::simple(method, url, path, host);
                let _ = edge_auth_gate::plan(&config, &head);
            }
        }
    }
}
