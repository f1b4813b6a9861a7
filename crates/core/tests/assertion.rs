//! The signed assertion: minted for a verified caller, verified at the origin with its request binding.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests: a panic is a test failure"
)]

mod common;

use common::*;
use edge_auth_core::{
    assertion_signing_input, htu, mint_assertion, signing_input, verify_assertion, AbsoluteUrl,
    Algorithm, AssertionRequest, AssertionSettings, AssertionVerifier, Binding, KeySet,
    MintOptions, SigningKey, UnixTime, VerifiedToken,
};
use serde_json::json;

const EDGE: &str = "https://edge.example.com";
const ORIGIN: &str = "https://origin.example.com";
const URL: &str = "https://API.example.com:443/orders/42?expand=items#frag";

fn caller() -> (VerifiedToken, String) {
    let key = key(Algorithm::Es256);
    let claims = json!({"iss": ISS, "aud": AUD, "sub": "alice", "exp": NOW + 300,
        "scope": "orders:read orders:write orders:read", "scp": ["admin"], "roles": ["customer", "beta"]});
    let token = token(key, &claims);
    let verified = verifier_for(&[key], &[Algorithm::Es256])
        .verify(&token, UnixTime(NOW))
        .unwrap();
    (verified, token)
}

fn settings() -> AssertionSettings {
    AssertionSettings {
        issuer: EDGE.into(),
        audience: ORIGIN.into(),
        ttl_seconds: 60,
    }
}

fn mint(signer: &SigningKey, method: &str, url: &str) -> String {
    let (caller, access_token) = caller();
    let url = AbsoluteUrl::parse(url).unwrap();
    let request = AssertionRequest {
        method,
        url: &url,
        access_token: &access_token,
        now: UnixTime(NOW),
        jti: [7; 16],
    };
    mint_assertion(signer, &settings(), &caller, &request).unwrap()
}

fn origin_keys(signer: &SigningKey) -> KeySet {
    KeySet::from_jwks_json(jwks_of(&[signer]).as_bytes()).unwrap()
}

#[test]
fn assertion_carries_identity_and_binding() {
    let signer = key(Algorithm::EdDsa);
    let assertion = mint(signer, "POST", URL);
    let verifier = AssertionVerifier::new(origin_keys(signer), EDGE, ORIGIN, 10).unwrap();
    let verified = verifier.verify(&assertion, UnixTime(NOW), None).unwrap();
    let (_, access_token) = caller();
    assert_eq!(verified.header().typ(), Some("edge-auth+jwt"));
    assert_eq!(verified.header().kid(), signer.kid());
    let expected = json!({
        "iss": EDGE, "aud": ORIGIN, "sub": "alice", "src_iss": ISS, "iat": NOW, "exp": NOW + 60,
        "jti": "BwcHBwcHBwcHBwcHBwcHBw",
        "scope": "orders:read orders:write admin", "roles": ["customer", "beta"],
        "htm": "POST", "htu": "https://api.example.com/orders/42", "ath": edge_auth_core::ath(&access_token),
    });
    assert_eq!(
        serde_json::Value::Object(verified.claims().clone()),
        expected
    );
}

/// The assertion's signing input as the core wrote it before it wrote JSON member by member: the
/// claims as a serde_json `Map` (sorted), through the general `signing_input`. The bytes must not move.
fn signing_input_through_a_map(
    signer: &SigningKey,
    caller: &VerifiedToken,
    request: &AssertionRequest<'_>,
) -> String {
    let settings = settings();
    let registered = caller.registered();
    let mut claims = serde_json::Map::new();
    let mut put = |name: &str, value: serde_json::Value| {
        claims.insert(name.to_owned(), value);
    };
    put("iss", settings.issuer.into());
    put("aud", settings.audience.into());
    if let Some(sub) = &registered.sub {
        put("sub", sub.clone().into());
    }
    if let Some(src_iss) = &registered.iss {
        put("src_iss", src_iss.clone().into());
    }
    if let Some(sid) = caller.sid() {
        put("sid", sid.into());
    }
    put("iat", request.now.0.into());
    put("exp", (request.now.0 + settings.ttl_seconds).into());
    put("jti", json!(base64_url(&request.jti)));
    if !caller.scopes().is_empty() {
        put("scope", caller.scopes().join(" ").into());
    }
    if !caller.roles().is_empty() {
        put("roles", caller.roles().to_vec().into());
    }
    put("htm", request.method.into());
    put("htu", htu(request.url.as_str()).unwrap().into());
    put("ath", edge_auth_core::ath(request.access_token).into());
    let options = MintOptions {
        kid: None,
        typ: Some("edge-auth+jwt"),
    };
    signing_input(signer, &claims, &options)
}

fn base64_url(bytes: &[u8]) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    Base64UrlUnpadded::encode_string(bytes)
}

#[test]
fn the_signing_input_is_byte_for_byte_the_maps() {
    let claim_sets = [
        json!({"iss": ISS, "aud": AUD, "sub": "alice", "exp": NOW + 300,
            "scope": "orders:read orders:write orders:read", "scp": ["admin"], "roles": ["customer", "beta"]}),
        // No sub, no scopes, no roles; a session; characters that JSON escapes.
        json!({"iss": ISS, "aud": AUD, "exp": NOW + 300, "sid": "s\"1\\\u{1}é"}),
        json!({"iss": ISS, "aud": AUD, "sub": "\u{2028}<\">", "exp": NOW + 300, "roles": ["a\"b"], "sid": ""}),
    ];
    for claims in &claim_sets {
        let token = token(key(Algorithm::Es256), claims);
        let caller = verifier_for(&[key(Algorithm::Es256)], &[Algorithm::Es256])
            .verify(&token, UnixTime(NOW))
            .unwrap();
        // A signer without a `kid` too (the header then has no `kid` member).
        let unnamed = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng).unwrap();
        for signer in [
            key(Algorithm::EdDsa),
            key(Algorithm::Es256),
            key(Algorithm::Hs256),
            &unnamed,
        ] {
            for (method, url) in [("GET", URL), ("pAtCh", "http://[::1]:8080/a/../b?q#f")] {
                let parsed = AbsoluteUrl::parse(url).unwrap();
                let request = AssertionRequest {
                    method,
                    url: &parsed,
                    access_token: &token,
                    now: UnixTime(NOW),
                    jti: [0xfb; 16],
                };
                assert_eq!(
                    assertion_signing_input(signer, &settings(), &caller, &request).unwrap(),
                    signing_input_through_a_map(signer, &caller, &request),
                    "{claims} {method} {url}"
                );
            }
        }
    }
}

#[test]
fn a_verified_tokens_ath_is_kept_and_never_given_for_another_token() {
    let (caller, token) = caller();
    let (_, other) = caller_with_sub("bob");
    let expected = edge_auth_core::ath(&token);
    // The first call may be with another token: it is kept, and the verified token's own hash still
    // comes out right afterwards (and the other way round).
    assert_eq!(caller.ath(&other), edge_auth_core::ath(&other));
    assert_eq!(caller.ath(&token), expected);
    let (fresh, _) = caller_with_sub("alice");
    assert_eq!(fresh.ath(&token), expected);
    assert_eq!(fresh.ath(&token), expected, "from the memo");
    assert_eq!(fresh.ath(&other), edge_auth_core::ath(&other));
    // The same length with one byte changed, at the end (the signature) or in the middle (the
    // payload, the signature kept): not the kept hash.
    for at in [token.len() - 1, token.len() / 2] {
        let mut twin = token.clone();
        let other = if &twin[at..=at] == "A" { "B" } else { "A" };
        twin.replace_range(at..=at, other);
        assert_eq!(fresh.ath(&twin), edge_auth_core::ath(&twin), "byte {at}");
        assert_ne!(fresh.ath(&twin), expected, "byte {at}");
    }
}

fn caller_with_sub(sub: &str) -> (VerifiedToken, String) {
    let key = key(Algorithm::Es256);
    let claims = json!({"iss": ISS, "aud": AUD, "sub": sub, "exp": NOW + 300});
    let token = token(key, &claims);
    let verified = verifier_for(&[key], &[Algorithm::Es256])
        .verify(&token, UnixTime(NOW))
        .unwrap();
    (verified, token)
}

#[test]
fn binding_is_checked_when_given() {
    let signer = key(Algorithm::EdDsa);
    let assertion = mint(signer, "POST", URL);
    let (_, access_token) = caller();
    let verifier = AssertionVerifier::new(origin_keys(signer), EDGE, ORIGIN, 10).unwrap();
    let check = |method: &str, url: &str, token: Option<&str>, expected: &str| {
        let binding = Binding {
            method,
            url,
            access_token: token,
        };
        let actual = match verifier.verify(&assertion, UnixTime(NOW), Some(&binding)) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        assert_eq!(actual, expected, "{method} {url}");
    };
    check(
        "POST",
        "https://api.example.com/orders/42",
        Some(&access_token),
        "ok",
    );
    check(
        "POST",
        "https://api.example.com/orders/42?other=query",
        None,
        "ok",
    );
    check("POST", "HTTPS://api.EXAMPLE.com:443/orders/42", None, "ok");
    check(
        "GET",
        "https://api.example.com/orders/42",
        None,
        "binding_mismatch",
    );
    check(
        "post",
        "https://api.example.com/orders/42",
        None,
        "binding_mismatch",
    );
    check(
        "POST",
        "https://api.example.com/orders/43",
        None,
        "binding_mismatch",
    );
    check(
        "POST",
        "https://api.example.com:8443/orders/42",
        None,
        "binding_mismatch",
    );
    check(
        "POST",
        "http://api.example.com/orders/42",
        None,
        "binding_mismatch",
    );
    check("POST", "/orders/42", None, "binding_mismatch");
    check(
        "POST",
        "https://api.example.com/orders/42",
        Some("another-token"),
        "binding_mismatch",
    );
}

#[test]
fn assertion_refusals() {
    let signer = key(Algorithm::EdDsa);
    let assertion = mint(signer, "GET", URL);
    let keys = || origin_keys(signer);
    let code = |r: Result<VerifiedToken, edge_auth_core::AssertionError>| match r {
        Ok(_) => "ok".to_owned(),
        Err(edge_auth_core::AssertionError::Refused(e)) => e.code().to_owned(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        code(verify_assertion(
            &assertion,
            keys(),
            EDGE,
            ORIGIN,
            UnixTime(NOW + 69),
            None
        )),
        "ok"
    );
    assert_eq!(
        code(verify_assertion(
            &assertion,
            keys(),
            EDGE,
            ORIGIN,
            UnixTime(NOW + 70),
            None
        )),
        "token_expired"
    );
    assert_eq!(
        code(verify_assertion(
            &assertion,
            keys(),
            "https://other-edge",
            ORIGIN,
            UnixTime(NOW),
            None
        )),
        "issuer_unknown"
    );
    assert_eq!(
        code(verify_assertion(
            &assertion,
            keys(),
            EDGE,
            "https://other-origin",
            UnixTime(NOW),
            None
        )),
        "audience_mismatch"
    );
    // Another key with the same kid.
    let other = SigningKey::generate(
        Algorithm::EdDsa,
        signer.kid().map(str::to_owned),
        &mut rand_core::OsRng,
    )
    .unwrap();
    assert_eq!(
        code(verify_assertion(
            &assertion,
            origin_keys(&other),
            EDGE,
            ORIGIN,
            UnixTime(NOW),
            None
        )),
        "signature_invalid"
    );
    // The caller's own access token is not an assertion, even when signed by a key the origin trusts.
    let (_, access_token) = caller();
    let idp_keys = KeySet::from_jwks_json(jwks_of(&[key(Algorithm::Es256)]).as_bytes()).unwrap();
    assert_eq!(
        code(verify_assertion(
            &access_token,
            idp_keys,
            ISS,
            AUD,
            UnixTime(NOW),
            None
        )),
        "typ_mismatch"
    );
}

#[test]
fn assertions_sign_with_every_allowed_key_type() {
    for alg in [Algorithm::EdDsa, Algorithm::Es256, Algorithm::Hs256] {
        let signer = key(alg);
        let assertion = mint(signer, "GET", URL);
        let verifier = AssertionVerifier::new(origin_keys(signer), EDGE, ORIGIN, 10).unwrap();
        verifier.verify(&assertion, UnixTime(NOW), None).unwrap();
    }
}

#[test]
fn htu_normalisation() {
    let cases = [
        (
            "https://EXAMPLE.com/a/b?q=1#f",
            Some("https://example.com/a/b"),
        ),
        ("https://example.com:443/", Some("https://example.com/")),
        ("https://example.com", Some("https://example.com/")),
        ("https://example.com?x", Some("https://example.com/")),
        ("http://example.com:80/x", Some("http://example.com/x")),
        ("http://example.com:443/x", Some("http://example.com:443/x")),
        ("https://[::1]:443/x", Some("https://[::1]/x")),
        ("https://[::1]/x", Some("https://[::1]/x")),
        ("https://user@example.com/", None),
        ("ftp://example.com/", None),
        ("/relative", None),
        // WHATWG parsing, as the runtime and the origin's framework read the URL: extra slashes after a
        // special scheme are skipped, dot segments resolved, spaces escaped. Hosts are ASCII: punycode
        // labels are validated and kept; a host written in Unicode is refused (the core is built without
        // Unicode IDNA tables, crates/core/Cargo.toml `idna_adapter`; runtimes hand over punycode).
        ("https:///nohost", Some("https://nohost/")),
        (
            "https://example.com/a/./b/../c",
            Some("https://example.com/a/c"),
        ),
        ("https://example.com/a b", Some("https://example.com/a%20b")),
        (
            "https://xn--bcher-kva.example/x",
            Some("https://xn--bcher-kva.example/x"),
        ),
        ("https://bücher.example/x", None),
        ("https://xn--zz.example/x", None),
    ];
    for (url, expected) in cases {
        assert_eq!(htu(url).as_deref(), expected, "{url}");
    }
}

#[test]
fn the_parts_of_verify_agree_with_verify() {
    // What an adapter with an async signature backend does: the verifier's steps, then the binding.
    let signer = key(Algorithm::Es256);
    let assertion = mint(signer, "GET", URL);
    let verifier = AssertionVerifier::new(origin_keys(signer), EDGE, ORIGIN, 10).unwrap();
    let binding = Binding {
        method: "GET",
        url: "https://api.example.com/orders/42",
        access_token: None,
    };
    let verified = verifier
        .verifier()
        .begin(&assertion)
        .unwrap()
        .verify_signature(&edge_auth_core::RustCrypto)
        .unwrap()
        .check_claims(UnixTime(NOW))
        .unwrap();
    assert!(AssertionVerifier::check_binding(&verified, &binding).is_ok());
    let other = Binding {
        method: "DELETE",
        ..binding
    };
    assert_eq!(
        AssertionVerifier::check_binding(&verified, &other)
            .unwrap_err()
            .code(),
        "binding_mismatch"
    );
    assert_eq!(
        verifier
            .verify(&assertion, UnixTime(NOW), Some(&other))
            .unwrap_err()
            .code(),
        "binding_mismatch"
    );
}

#[test]
fn a_remote_assertion_verifier_uses_a_fetched_jwks() {
    let signer = key(Algorithm::EdDsa);
    let assertion = mint(signer, "POST", URL);
    let verifier = AssertionVerifier::remote(EDGE, ORIGIN, 10).unwrap();
    // Without a fetched set: keys_unavailable, never a verification.
    assert_eq!(
        verifier
            .verify(&assertion, UnixTime(NOW), None)
            .unwrap_err()
            .code(),
        "keys_unavailable"
    );
    let routed = verifier.verifier().route(&assertion).unwrap();
    let keys = routed.policy().adopt(origin_keys(signer)).unwrap();
    let verified = routed
        .select_from(std::sync::Arc::new(keys))
        .unwrap()
        .verify_signature(&edge_auth_core::RustCrypto)
        .unwrap()
        .check_claims(UnixTime(NOW))
        .unwrap();
    assert_eq!(verified.claims()["sub"], "alice");
    // An HS256 key is never published: a fetched set holding only one is refused.
    let hs = key(Algorithm::Hs256);
    let routed = verifier.verifier().route(&assertion).unwrap();
    assert!(routed.policy().adopt(origin_keys(hs)).is_err());
}
