//! Black-box tests of the `edge-auth` binary: exit codes (0 ok, 1 refused, 2 usage), the
//! `error: <code>: <description>` line, and each subcommand's output.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests: a panic is a test failure"
)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_edge-auth"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edge-auth-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// keygen → (private JWK path, public JWKS path).
fn keygen(dir: &std::path::Path, alg: &str) -> (String, String) {
    let out = run(&["keygen", "--alg", alg], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let keys: Value = serde_json::from_str(&out.stdout).unwrap();
    let private = dir.join(format!("{alg}.jwk"));
    let public = dir.join(format!("{alg}.jwks"));
    std::fs::write(&private, keys["jwk"].to_string()).unwrap();
    std::fs::write(&public, keys["jwks"].to_string()).unwrap();
    (private.display().to_string(), public.display().to_string())
}

fn mint(private: &str, claims: &Value) -> String {
    let out = run(
        &["mint", "--jwk", private, "--claims", &claims.to_string()],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.trim().to_owned()
}

const NOW: &str = "1700000000";

fn claims() -> Value {
    json!({"iss": "https://idp.example/", "aud": "api", "sub": "alice", "exp": 1_700_000_300u64})
}

#[test]
fn verify_prints_claims_and_exits_0() {
    let dir = temp_dir("ok");
    let (private, public) = keygen(&dir, "ES256");
    let token = mint(&private, &claims());
    let out = run(
        &[
            "verify",
            "--jwks",
            &public,
            "--issuer",
            "https://idp.example/",
            "--audience",
            "api",
            "--now",
            NOW,
            &token,
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap(),
        claims()
    );
    assert_eq!(out.stderr, "");
    // Same token from stdin, with `-` and with nothing.
    for args in [vec!["-"], vec![]] {
        let mut all = vec![
            "verify",
            "--jwks",
            &public,
            "--issuer",
            "https://idp.example/",
            "--audience",
            "api",
            "--now",
            NOW,
        ];
        all.extend(args);
        let out = run(&all, Some(&format!("{token}\n")));
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
}

#[test]
fn refusals_exit_1_with_a_stable_code() {
    let dir = temp_dir("refused");
    let (private, public) = keygen(&dir, "EdDSA");
    let token = mint(&private, &claims());
    let base = [
        "verify",
        "--jwks",
        &public,
        "--issuer",
        "https://idp.example/",
        "--audience",
        "api",
    ];
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "expired",
            vec!["--now", "1700000400", &token],
            "token_expired",
        ),
        (
            "malformed",
            vec!["--now", NOW, "not-a-token"],
            "token_malformed",
        ),
        (
            "typ required",
            vec!["--now", NOW, "--typ", "at+jwt", &token],
            "typ_mismatch",
        ),
        (
            "max age without iat",
            vec!["--now", NOW, "--max-age", "60", &token],
            "claim_missing",
        ),
        (
            "too large",
            vec!["--now", NOW, "--max-token-bytes", "64", &token],
            "token_too_large",
        ),
    ];
    for (name, extra, code) in cases {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra);
        let out = run(&args, None);
        assert_eq!(out.code, 1, "{name}: {}", out.stderr);
        assert!(
            out.stderr.starts_with(&format!("error: {code}: ")),
            "{name}: {}",
            out.stderr
        );
        assert_eq!(out.stdout, "", "{name}: nothing on stdout when refused");
    }
    let out = run(
        &[
            "verify",
            "--jwks",
            &public,
            "--issuer",
            "https://idp.example/",
            "--audience",
            "other",
            "--now",
            NOW,
            &token,
        ],
        None,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("error: audience_mismatch: "),
        "{}",
        out.stderr
    );
    // Audiences are any-of: one match among several is enough.
    let out = run(
        &[
            "verify",
            "--jwks",
            &public,
            "--issuer",
            "https://idp.example/",
            "--audience",
            "other",
            "--audience",
            "api",
            "--now",
            NOW,
            &token,
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn usage_and_key_errors_exit_2() {
    let dir = temp_dir("usage");
    let (private, public) = keygen(&dir, "ES256");
    let token = mint(&private, &claims());
    let weak = dir.join("weak.jwk");
    std::fs::write(&weak, r#"{"kty":"oct","k":"c2hvcnQ"}"#).unwrap();
    let no_alg = dir.join("noalg.jwk");
    let mut jwk: Value = serde_json::from_str(&std::fs::read_to_string(&public).unwrap()).unwrap();
    let mut key = jwk["keys"][0].take();
    key.as_object_mut().unwrap().remove("alg");
    std::fs::write(&no_alg, key.to_string()).unwrap();
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "missing key file",
            vec!["verify", "--jwk", "/nonexistent/key.jwk", &token],
            "--jwk /nonexistent/key.jwk",
        ),
        (
            "weak HMAC key",
            vec![
                "verify",
                "--jwk",
                weak.to_str().unwrap(),
                "--alg",
                "HS256",
                &token,
            ],
            "HMAC key is 5 bytes",
        ),
        (
            "private key given to verify",
            vec!["verify", "--jwk", &private, &token],
            "private key material",
        ),
        (
            "key without alg and no --alg",
            vec!["verify", "--jwk", no_alg.to_str().unwrap(), &token],
            "pass --alg",
        ),
        (
            "unknown --alg",
            vec!["verify", "--jwks", &public, "--alg", "none", &token],
            "unknown algorithm",
        ),
        ("no key option", vec!["verify", &token], "--jwk"),
    ];
    for (name, args, needle) in cases {
        let out = run(&args, None);
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{name}: {}", out.stderr);
    }
    // A key without `alg` works once --alg names the algorithm.
    let out = run(
        &[
            "verify",
            "--jwk",
            no_alg.to_str().unwrap(),
            "--alg",
            "ES256",
            "--now",
            NOW,
            &token,
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("warning: no --issuer"),
        "{}",
        out.stderr
    );
}

#[test]
fn signature_only_prints_payload_bytes() {
    let dir = temp_dir("sigonly");
    let (private, public) = keygen(&dir, "HS256");
    // A payload that is not a JWT at all is fine in --signature-only mode (no claims are read).
    let token = mint(&private, &json!({"exp": 1}));
    let out = run(
        &["verify", "--jwks", &public, "--signature-only", &token],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, r#"{"exp":1}"#);
    let out = run(&["verify", "--jwks", &public, "--now", NOW, &token], None);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .ends_with("error: token_expired: token expired at 1 (now 1700000000, leeway 60 s)\n"),
        "{}",
        out.stderr
    );
}

#[test]
fn signature_only_refuses_claim_options_and_bad_stdin_is_a_refusal() {
    let dir = temp_dir("conflicts");
    let (private, public) = keygen(&dir, "EdDSA");
    let token = mint(&private, &claims());
    for option in [
        ["--issuer", "x"],
        ["--audience", "x"],
        ["--typ", "x"],
        ["--now", "1"],
        ["--leeway", "5"],
        ["--max-age", "5"],
    ] {
        let mut args = vec!["verify", "--jwks", &public, "--signature-only"];
        args.extend(option);
        args.push(&token);
        let out = run(&args, None);
        assert_eq!(
            out.code, 2,
            "{option:?}: claim options make no sense with --signature-only"
        );
    }
    // Bytes that are not UTF-8 on stdin are a malformed token (exit 1), not a usage error.
    let mut child = Command::new(env!("CARGO_BIN_EXE_edge-auth"))
        .args([
            "verify",
            "--jwks",
            &public,
            "--issuer",
            "i",
            "--audience",
            "a",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&[0xff, 0xfe, b'.', b'a', b'.', b'b'])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error: token_malformed: "));
}

#[test]
fn decode_escapes_control_characters() {
    let header = base64url(br#"{"alg":"none"}"#);
    let payload = base64url(b"\x1b]0;owned\x07");
    let out = run(&["decode", &format!("{header}.{payload}.")], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains('\x1b'), "{:?}", out.stdout);
    assert!(
        out.stdout.contains("\\u{1b}]0;owned\\u{7}"),
        "{}",
        out.stdout
    );
}

#[test]
fn decode_is_labelled_unverified_and_shows_alg_none() {
    let header = base64url(br#"{"alg":"none"}"#);
    let payload = base64url(br#"{"sub":"x"}"#);
    let out = run(&["decode", &format!("{header}.{payload}.")], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("UNVERIFIED"), "{}", out.stdout);
    assert!(out.stdout.contains(r#""alg": "none""#), "{}", out.stdout);
    assert!(out.stdout.contains(r#""sub": "x""#), "{}", out.stdout);
    let out = run(&["decode", "a.b"], None);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("error: token_malformed: "),
        "{}",
        out.stderr
    );
}

#[test]
fn keygen_kid_is_the_thumbprint_and_jwks_is_public() {
    for alg in [
        "EdDSA", "ES256", "RS256", "HS256", "ES384", "ES512", "ES256K", "PS256",
    ] {
        let out = run(&["keygen", "--alg", alg], None);
        assert_eq!(out.code, 0, "{alg}: {}", out.stderr);
        let keys: Value = serde_json::from_str(&out.stdout).unwrap();
        let public = &keys["jwks"]["keys"][0];
        assert_eq!(keys["jwk"]["kid"], public["kid"]);
        assert_eq!(public["alg"], alg);
        if alg != "HS256" {
            assert!(public.get("d").is_none(), "{alg}: the JWKS must be public");
            assert!(
                keys["jwk"].get("d").is_some(),
                "{alg}: the JWK must be private"
            );
        }
    }
    let out = run(&["keygen", "--alg", "ES256", "--kid", "mine"], None);
    let keys: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(keys["jwks"]["keys"][0]["kid"], "mine");
}

#[test]
fn verify_assertion_checks_binding() {
    let dir = temp_dir("assertion");
    let (private, public) = keygen(&dir, "EdDSA");
    let assertion = |typ: &str| {
        let claims = json!({"iss": "https://edge.example", "aud": "https://origin.example", "sub": "alice",
            "iat": 1_700_000_000u64, "exp": 1_700_000_060u64, "jti": "abc", "htm": "GET",
            "htu": "https://api.example/orders", "ath": "x"});
        let out = run(
            &[
                "mint",
                "--jwk",
                &private,
                "--typ",
                typ,
                "--claims",
                &claims.to_string(),
            ],
            None,
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout.trim().to_owned()
    };
    let good = assertion("edge-auth+jwt");
    let base = [
        "verify-assertion",
        "--jwks",
        &public,
        "--issuer",
        "https://edge.example",
        "--audience",
        "https://origin.example",
        "--now",
        NOW,
    ];
    let with = |extra: &[&str], token: &str| {
        let mut args = base.to_vec();
        args.extend(extra);
        args.push(token);
        run(&args, None)
    };
    let out = with(
        &[
            "--method",
            "GET",
            "--url",
            "https://api.example/orders?page=2",
        ],
        &good,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap()["sub"],
        "alice"
    );
    let out = with(
        &["--method", "POST", "--url", "https://api.example/orders"],
        &good,
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("error: binding_mismatch: claim `htm`"),
        "{}",
        out.stderr
    );
    let out = with(&[], &assertion("JWT"));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with("error: typ_mismatch: "),
        "{}",
        out.stderr
    );
    // --method without --url is a usage error.
    assert_eq!(with(&["--method", "GET"], &good).code, 2);
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["verify", "verify-assertion", "decode", "mint", "keygen"] {
        let out = run(&[sub, "--help"], None);
        assert_eq!(out.code, 0, "{sub}");
        assert!(
            out.stdout.contains("Usage: edge-auth"),
            "{sub}: {}",
            out.stdout
        );
    }
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A wrangler.toml whose `EDGE_AUTH` is a JSON string (as `wrangler dev --var` gives it), plus the
/// issuer's private key.
fn policy_config(dir: &std::path::Path) -> (PathBuf, String) {
    let (private, public) = keygen(dir, "ES256");
    let jwks: Value = serde_json::from_str(&std::fs::read_to_string(public).unwrap()).unwrap();
    let config = json!({
        "issuers": [{"issuer": "https://idp.example/", "audiences": ["api"], "algorithms": ["ES256"],
                     "jwks": jwks, "role_claims": ["realm_access.roles"]}],
        "assertion": {"issuer": "https://edge.example", "audience": "https://origin.example",
                      "signing_key_secret": "EDGE_AUTH_SIGNING_KEY"},
        "routes": [{"path": "/tenants/{tenant}/*", "scopes": ["orders:read"], "bind": {"tenant": "tenant_id"},
                    "any": [{"roles": ["admin"]}, {"claims": [{"claim": "email_verified", "equals": true}]}]}]
    });
    let path = dir.join("wrangler.toml");
    std::fs::write(
        &path,
        format!("name = \"x\"\n[vars]\nEDGE_AUTH = '''{config}'''\n"),
    )
    .unwrap();
    (path, private)
}

#[test]
fn check_config_reports_every_error_with_its_field() {
    let dir = temp_dir("check-config");
    let (good, _) = policy_config(&dir);
    let out = run(&["check-config", good.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("ok: 1 issuer(s), 1 route(s)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("stand-ins"), "{}", out.stdout);

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        r#"
[vars.EDGE_AUTH]
[[vars.EDGE_AUTH.issuers]]
issuer = "https://idp.example/"
audiences = []
algorithms = ["ES256"]
hmac_secret = "NOPE"
[vars.EDGE_AUTH.assertion]
issuer = "https://edge.example"
audience = "https://origin.example"
signing_key_secret = "EDGE_AUTH_SIGNING_KEY"
[[vars.EDGE_AUTH.routes]]
path = "/a/{id}/*"
bind = { tenant = "tenant_id" }
claims = [ { claim = "x", equals = 1, prefix = "y" } ]
"#,
    )
    .unwrap();
    let secrets = dir.join(".dev.vars");
    std::fs::write(&secrets, "# nothing for NOPE\nEDGE_AUTH_SIGNING_KEY='{}'\n").unwrap();
    let out = run(
        &[
            "check-config",
            bad.to_str().unwrap(),
            "--secrets",
            secrets.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for expected in [
        "error: EDGE_AUTH.issuers[0].hmac_secret: the secret \"NOPE\" is not set",
        "error: EDGE_AUTH.issuers[0].audiences: empty list",
        "error: EDGE_AUTH.assertion.signing_key_secret: the secret \"EDGE_AUTH_SIGNING_KEY\" is not a private JWK",
        "error: EDGE_AUTH.routes[0].bind.tenant: the path has no parameter {tenant}",
        "error: EDGE_AUTH.routes[0].claims[0]: give exactly one of",
    ] {
        assert!(out.stdout.contains(expected), "missing {expected:?} in\n{}", out.stdout);
    }
    // The loopback-http switch compiles, with a warning (it is for the demo and tests only).
    let loopback = dir.join("loopback.json");
    let remote = json!({
        "issuers": [{"issuer": "http://127.0.0.1:9/", "audiences": ["api"], "algorithms": ["ES256"], "discovery": true}],
        "assertion": {"issuer": "https://edge.example", "audience": "https://origin.example",
                      "signing_key_secret": "EDGE_AUTH_SIGNING_KEY"},
        "remote_keys": {"allow_loopback_http": true}
    });
    std::fs::write(&loopback, remote.to_string()).unwrap();
    let out = run(&["check-config", loopback.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("warning: remote_keys.allow_loopback_http = true"),
        "{}",
        out.stdout
    );
    // Revocation is summarized; `fail = "open"` compiles with a warning.
    let revoking = dir.join("revoking.json");
    let mut config = remote.clone();
    config["revocation"] =
        json!({ "issuers": ["http://127.0.0.1:9/"], "fail": "open", "cache_seconds": 2 });
    config["issuers"][0]["backchannel_logout"] = json!({ "client_id": "edge" });
    std::fs::write(&revoking, config.to_string()).unwrap();
    let out = run(&["check-config", revoking.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for expected in [
        "revocation: http://127.0.0.1:9/ (binding EDGE_AUTH_REVOCATIONS, copies trusted 2 s, at most 10000 records per issuer), back-channel logout on",
        "warning: revocation.fail = \"open\"",
    ] {
        assert!(out.stdout.contains(expected), "missing {expected:?} in\n{}", out.stdout);
    }
    // Without the switch the same loopback issuer is a mistake naming the field.
    let mut without = remote.clone();
    without.as_object_mut().unwrap().remove("remote_keys");
    std::fs::write(&loopback, without.to_string()).unwrap();
    let out = run(&["check-config", loopback.to_str().unwrap()], None);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("error: EDGE_AUTH.issuers[0].discovery: the issuer is where discovery looks: URL refused: http to a loopback host needs remote_keys.allow_loopback_http = true"),
        "{}",
        out.stdout
    );
    // Unreadable input is a usage error.
    let out = run(&["check-config", "/nonexistent/wrangler.toml"], None);
    assert_eq!(out.code, 2);
    let out = run(
        &[
            "check-config",
            good.to_str().unwrap(),
            "--env",
            "production",
        ],
        None,
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no [env.production.vars]"),
        "{}",
        out.stderr
    );
}

#[test]
fn explain_walks_the_decision() {
    let dir = temp_dir("explain");
    let (config, private) = policy_config(&dir);
    let config = config.to_str().unwrap();
    let token = |extra: Value| {
        let mut claims = json!({"iss": "https://idp.example/", "aud": "api", "sub": "u1", "exp": 4_000_000_000u64,
                                "scope": "orders:read", "tenant_id": "acme", "realm_access": {"roles": ["staff"]}});
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        mint(&private, &claims)
    };
    let explain = |url: &str, token: &str| {
        run(
            &[
                "explain", "--config", config, "--url", url, "--token", token,
            ],
            None,
        )
    };
    // The second alternative of `any` holds: forwarded.
    let out = explain(
        "https://api.example/tenants/acme/orders",
        &token(json!({"email_verified": true})),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    for line in [
        "route    routes[0] /tenants/{tenant}/* (auth required)",
        "params   tenant=acme",
        "caller   scopes [orders:read] roles [staff]",
        "✓ requires scopes: all of [orders:read]",
        "✗ requires roles: all of [admin]",
        "✓ requires claim email_verified equals true",
        "decision forward to /tenants/acme/orders with a signed assertion",
    ] {
        assert!(
            out.stdout.contains(line),
            "missing {line:?} in\n{}",
            out.stdout
        );
    }
    // Another tenant, reached through dot segments (resolved by the URL parser, as the runtime does):
    // the binding refuses it.
    let out = explain(
        "https://api.example/tenants/acme/../globex/orders",
        &token(json!({"email_verified": true})),
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("path     /tenants/globex/orders\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("decision refuse: 403 binding_refused"),
        "{}",
        out.stdout
    );
    // An empty segment survives URL parsing; the gate's normalization collapses it.
    let out = explain(
        "https://api.example/tenants//globex/orders",
        &token(json!({"email_verified": true})),
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("path     /tenants//globex/orders → normalized /tenants/globex/orders"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("decision refuse: 403 binding_refused"),
        "{}",
        out.stdout
    );
    // No alternative: 403 with the challenge.
    let out = explain("https://api.example/tenants/acme/orders", &token(json!({})));
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("decision refuse: 403 role_missing"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("error=\"insufficient_scope\""),
        "{}",
        out.stdout
    );
    // An expired token: 401 with the core's code.
    let out = explain(
        "https://api.example/tenants/acme/orders",
        &token(json!({"exp": 1_000})),
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("decision refuse: 401 token_expired"),
        "{}",
        out.stdout
    );
}

#[test]
fn explain_says_revocation_is_not_checked_for_a_covered_issuer() {
    let dir = temp_dir("explain-revocation");
    let (path, private) = policy_config(&dir);
    let toml = std::fs::read_to_string(&path).unwrap();
    let config: Value = serde_json::from_str(
        toml.split("'''")
            .nth(1)
            .expect("policy_config writes EDGE_AUTH between '''"),
    )
    .unwrap();
    // `iat` is required once revocation covers the issuer (a `sub` record is matched against it).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = mint(
        &private,
        &json!({"iss": "https://idp.example/", "aud": "api", "sub": "u1", "iat": now - 60, "exp": now + 600,
                "scope": "orders:read", "tenant_id": "acme", "email_verified": true}),
    );
    let explain = |config: &Value, token: &str| {
        std::fs::write(
            &path,
            format!("name = \"x\"\n[vars]\nEDGE_AUTH = '''{config}'''\n"),
        )
        .unwrap();
        run(
            &[
                "explain",
                "--config",
                path.to_str().unwrap(),
                "--url",
                "https://api.example/tenants/acme/orders",
                "--token",
                token,
            ],
            None,
        )
    };
    const NOTE: &str = "note     revocation not checked here: the Worker checks this issuer's tokens against its Durable Object (EDGE_AUTH_REVOCATIONS) after verification, and refuses a revoked one with 401 token_revoked";
    // No revocation configured: no note.
    let out = explain(&config, &token);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("revocation"), "{}", out.stdout);
    // The token's issuer under revocation: the note, after the forward it cannot vouch for.
    let mut revoking = config.clone();
    revoking["revocation"] = json!({ "issuers": ["https://idp.example/"] });
    let out = explain(&revoking, &token);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(NOTE), "{}", out.stdout);
    // A refused token never reaches the revocation check: no note.
    let out = explain(&revoking, "not.a.token");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("revocation"), "{}", out.stdout);
    // Another issuer under revocation (one the configuration also trusts): no note for this token.
    let mut other = revoking.clone();
    other["issuers"].as_array_mut().unwrap().push(
        json!({"issuer": "https://other.example/", "audiences": ["api"], "algorithms": ["HS256"],
                     "hmac_secret": "OTHER_HMAC_SECRET"}),
    );
    other["revocation"] = json!({ "issuers": ["https://other.example/"] });
    let out = explain(&other, &token);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("revocation"), "{}", out.stdout);
}
