//! The CLI's `explain` input: `edge_auth_cli::ExplainRequest` turns `--method`, `--url`, `--token`,
//! `--cookie` and `--header` strings into the Worker's `RequestHead` (exactly what `edge-auth explain`
//! runs), which is then planned, verified at the fixed clock and authorized against the compiled
//! `tests/policy/cases.json` configuration, and every refusal rendered for the wire.
//!
//! Input: lines `METHOD`, `URL`, `TOKEN` (empty: none), `COOKIE` (empty: none), then `Name: value`
//! headers.
#![no_main]

use edge_auth_cli::{ExplainInput, ExplainRequest};
use edge_auth_core::{AbsoluteUrl, ErrorCode};
use edge_auth_fuzz::{lines, policy_config, NOW};
use edge_auth_gate::Refusal;
use edge_auth_gate::{self as gate, Plan};
use libfuzzer_sys::fuzz_target;

/// A refusal on the wire names the code and the configured requirement, never the request's token.
fn check_refusal(refusal: &Refusal, realm: &str, secrets: &[&str]) {
    let http = refusal.to_http(realm);
    assert!((400..600).contains(&http.status));
    assert_eq!(http.code, refusal.code());
    assert!(serde_json::from_str::<serde_json::Value>(&http.body).is_ok_and(|b| b.is_object()));
    // Our own fixed words: a "token" the fuzzer made out of them (`earer realm="edge-aut`) shows nothing.
    let mut fixed = format!(
        "Bearer realm=\"{realm}\", error=\"invalid_request\", error=\"invalid_token\", \
         error=\"insufficient_scope\", scope=\""
    );
    for code in ErrorCode::ALL {
        fixed.push_str(code.as_str());
        fixed.push_str(code.sentence());
    }
    for secret in secrets
        .iter()
        .filter(|s| s.len() >= 16 && !fixed.contains(**s))
    {
        assert!(
            !http.body.contains(secret),
            "the problem body shows the token"
        );
        assert!(
            !http
                .www_authenticate
                .as_deref()
                .is_some_and(|h| h.contains(secret)),
            "WWW-Authenticate shows the token"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(lines) = lines(data) else {
        return;
    };
    let [method, url, token, cookie, headers @ ..] = lines.as_slice() else {
        return;
    };
    let token = Some(*token).filter(|t| !t.is_empty());
    let cookie = Some(*cookie).filter(|c| !c.is_empty());
    let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    let input = ExplainInput {
        method,
        url,
        token,
        cookie,
        headers: &headers,
    };
    let config = policy_config();
    let request = match ExplainRequest::new(&input, config) {
        Ok(request) => request,
        Err(message) => {
            assert!(message.starts_with("--"), "an error that names no flag");
            return;
        }
    };
    let head = request.head();
    assert_eq!((head.method, head.url), (*method, *url));
    // The host is the WHATWG-normalized authority (lower case, IDNA, IPv4 canonical form, default port
    // dropped), so it need not appear in `url` verbatim; normalizing it again must not change it.
    let host = request.host();
    assert!(!host.is_empty() && !host.contains(['/', '?', '#', '@', '\\']));
    assert!(
        !host.bytes().any(|b| b.is_ascii_uppercase()),
        "a host that is not normalized"
    );
    let scheme = AbsoluteUrl::parse(url).map(|u| u.scheme().to_owned());
    assert!(scheme.is_ok(), "a request from a URL that does not parse");
    let scheme = scheme.unwrap_or_default();
    let again = AbsoluteUrl::parse(&format!("{scheme}://{host}/"));
    assert_eq!(
        again.map(|u| u.authority().to_owned()).as_deref(),
        Ok(host),
        "normalizing the host twice"
    );
    assert!(!request.path().is_empty() && !request.path().contains(['?', '#']));
    assert_eq!(head.authorization.is_some(), token.is_some());

    let secrets: Vec<&str> = token.into_iter().chain(cookie).collect();
    match request.plan(config) {
        Plan::Refuse(refusal) => check_refusal(&refusal, &config.realm, &secrets),
        Plan::Verify {
            token: found,
            route,
            params,
            ..
        } => {
            assert!(token.is_some() || cookie.is_some(), "a token from nowhere");
            match config.verifier.verify(&found, NOW) {
                Err(error) => check_refusal(&Refusal::Token(error), &config.realm, &secrets),
                Ok(verified) => {
                    if let Err(refusal) = gate::authorize(config, route, &params, &verified) {
                        check_refusal(&refusal, &config.realm, &secrets);
                    }
                }
            }
        }
        Plan::Revoke { token: found } => {
            assert_eq!(
                Some(found.as_str()),
                token,
                "an admin token only from the header"
            );
        }
        Plan::ForwardAnonymous { .. }
        | Plan::ServeJwks
        | Plan::ServeStatus
        | Plan::BackchannelLogout
        | Plan::Preflight(_) => {}
    }
});
