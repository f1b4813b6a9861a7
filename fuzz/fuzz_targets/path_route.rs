//! Path normalization and route matching: `normalize_path` / `normalize_with` on arbitrary paths, then
//! `RouteTable::route` of the compiled `tests/policy/cases.json` configuration (and of the same table
//! with matrix parameters allowed and case-insensitive matching), then the Worker's `gate::plan`.
//!
//! Input: `PATH`, or `METHOD\nHOST\nPATH[\nAUTHORIZATION]`.
#![no_main]
#![allow(
    clippy::panic,
    reason = "a fuzz target reports a broken invariant by panicking"
)]

use edge_auth_core::{normalize_path, normalize_with, Auth, PathRules, RouteTable};
use edge_auth_fuzz::{lines, policy_config};
use edge_auth_gate::Refusal;
use edge_auth_gate::{self as gate, Plan, RequestHead};
use libfuzzer_sys::fuzz_target;

fn is_upper_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'A'..=b'F').contains(&b)
}

/// `Bearer` (any case) followed by whitespace, at the start of one of the comma-separated credentials.
fn is_bearer_attempt(authorization: &str) -> bool {
    authorization.split(',').any(|credential| {
        let credential = credential.trim_start();
        credential
            .get(..6)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer"))
            && credential
                .get(6..)
                .is_some_and(|rest| rest.starts_with(char::is_whitespace))
    })
}

/// What every normal form satisfies (the default rules: no `;` parameters).
fn check_normal(path: &str) {
    assert!(path.starts_with('/'), "{path:?}");
    assert!(!path.contains("//"), "{path:?}");
    assert!(
        path.split('/').all(|s| s != "." && s != ".."),
        "dot segment in {path:?}"
    );
    assert!(!path.contains(';'), "{path:?}");
    assert!(!path.contains('\\'), "{path:?}");
    assert!(!path.chars().any(|c| c.is_ascii_control()), "{path:?}");
    // Every escape is `%XX` upper-case, of a byte that is not unreserved, `/`, `\`, `;` or NUL.
    let bytes = path.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let (hi, lo) = (bytes.get(i + 1).copied(), bytes.get(i + 2).copied());
            assert!(
                hi.is_some_and(is_upper_hex) && lo.is_some_and(is_upper_hex),
                "bad escape in {path:?}"
            );
            let text = path.get(i + 1..i + 3).unwrap_or("");
            let decoded = u8::from_str_radix(text, 16).unwrap_or(0);
            assert!(
                !(decoded.is_ascii_alphanumeric()
                    || matches!(decoded, b'-' | b'.' | b'_' | b'~' | b'/' | b'\\' | b';' | 0)),
                "escape of {decoded:#04x} kept in {path:?}"
            );
        }
    }
    assert_eq!(normalize_path(path).as_deref(), Ok(path), "not idempotent");
}

/// A route written `/prefix/*` (literal segments only, any method and host) guards `/prefix`,
/// `/prefix/` and everything below: such a request matches that route or an earlier one.
fn check_prefix_guards(table: &RouteTable, method: &str, host: &str, path: &str) {
    let chosen = table.route(method, host, path).route.index;
    let fold = |s: &str| {
        if table.paths.case_insensitive {
            s.to_ascii_lowercase()
        } else {
            s.to_owned()
        }
    };
    for route in &table.routes {
        let Some(prefix) = route.path.as_str().strip_suffix("/*") else {
            continue;
        };
        if prefix.is_empty()
            || prefix.contains(['*', '{'])
            || route.methods.is_some()
            || route.host.is_some()
        {
            continue;
        }
        let (prefix, path) = (fold(prefix), fold(path));
        let below = path == prefix || path.starts_with(&format!("{prefix}/"));
        if below {
            assert!(
                chosen.is_some_and(|c| Some(c) <= route.index),
                "{path:?} escapes {}/* (chose {chosen:?})",
                prefix
            );
        }
    }
}

fn check_route(table: &RouteTable, method: &str, host: &str, path: &str) {
    let matched = table.route(method, host, path);
    if matched.route.index.is_some() {
        assert!(matched
            .route
            .path
            .matches(path, table.paths.case_insensitive)
            .is_some());
    }
    for (name, value) in &matched.params {
        assert!(!name.is_empty());
        assert!(
            !value.is_empty() && !value.contains('/'),
            "param {name} = {value:?}"
        );
    }
    check_prefix_guards(table, method, host, path);
}

fuzz_target!(|data: &[u8]| {
    let Some(lines) = lines(data) else {
        return;
    };
    let (method, host, raw, authorization) = match lines.as_slice() {
        [path] => ("GET", "api.example.com", *path, None),
        [method, host, path] => (*method, *host, *path, None),
        [method, host, path, authorization, ..] => (*method, *host, *path, Some(*authorization)),
        _ => return,
    };
    let config = policy_config();

    // The default rules.
    let normal = normalize_path(raw);
    if let Ok(path) = &normal {
        check_normal(path);
    }
    let rules = PathRules::default();
    match normalize_with(raw, &rules) {
        Ok(np) => {
            assert_eq!(Ok(np.matched()), normal.as_deref());
            assert_eq!(np.forwarded(), np.matched());
        }
        Err(e) => assert_eq!(Err(e), normal),
    }
    if let Ok(path) = &normal {
        check_route(&config.routes, method, host, path);
    }

    // Matrix parameters allowed, case-insensitive routes: the forwarded path is a normal form too.
    let lenient = PathRules {
        allow_matrix_parameters: true,
        case_insensitive: true,
    };
    if let Ok(np) = normalize_with(raw, &lenient) {
        let matched = np.matched();
        assert!(
            matched.starts_with('/') && !matched.contains("//"),
            "{matched:?}"
        );
        assert!(
            matched.split('/').all(|s| s != "." && s != ".."),
            "{matched:?}"
        );
        assert!(!matched.contains(';'), "{matched:?}");
        let again = normalize_with(np.forwarded(), &lenient);
        assert_eq!(
            again.as_ref(),
            Ok(&np),
            "the forwarded path is not a normal form"
        );
        let table = RouteTable {
            paths: lenient,
            ..config.routes.clone()
        };
        check_route(&table, method, host, matched);
    }

    // The Worker's decision, before any cryptography.
    let url = format!("https://{host}{raw}");
    let head = RequestHead {
        authorization,
        ..RequestHead::simple(method, &url, raw, host)
    };
    let expected = normalize_with(raw, &config.routes.paths);
    let plan = gate::plan(config, &head);
    if let Err(e) = expected {
        // A path without a single meaning is refused before anything else can happen to it.
        assert_eq!(plan, Plan::Refuse(Refusal::Path(e)));
        return;
    }
    let np = expected.as_ref().ok();
    match plan {
        Plan::ForwardAnonymous { route, path } => {
            assert_eq!(Some(path.as_str()), np.map(|np| np.forwarded()));
            let auth = config
                .routes
                .route(method, host, np.map_or("", |np| np.matched()))
                .route
                .auth;
            assert!(matches!(auth, Auth::None | Auth::Optional), "{route:?}");
            // A bearer attempt, whatever whitespace follows the scheme, is never waved through on an
            // optional route (it is verified or refused).
            if auth == Auth::Optional {
                assert!(
                    !authorization.is_some_and(is_bearer_attempt),
                    "a bearer attempt forwarded anonymously"
                );
            }
        }
        Plan::Verify { path, .. } => {
            assert!(authorization.is_some(), "a token appeared");
            assert_eq!(Some(path.as_str()), np.map(|np| np.forwarded()));
        }
        Plan::Refuse(Refusal::Path(e)) => panic!("refused a normal path: {e}"),
        // This target's configuration has no `revocation`: its endpoints never appear.
        Plan::BackchannelLogout | Plan::Revoke { .. } => panic!("a revocation endpoint"),
        Plan::ServeJwks | Plan::ServeStatus | Plan::Refuse(_) | Plan::Preflight(_) => {}
    }
});
