//! The route-policy table (`tests/policy/cases.json`) against the gate in Rust: plan → verify (the core,
//! Rust crypto) → authorize → the HTTP answer, exactly as the Worker composes them. The same table runs
//! against the built Worker in workerd (`tests/worker/policy.test.mjs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests: a panic is a test failure"
)]

use std::collections::HashMap;

use edge_auth_core::{mint, Algorithm, GateConfig, MintOptions, SigningKey, UnixTime};
use edge_auth_gate::Refusal;
use edge_auth_gate::{self as gate, Plan, RequestHead};
use serde_json::{json, Map, Value};

const NOW: u64 = 1_800_000_000;
const AUD: &str = "https://api.example.com";

struct Table {
    config: GateConfig,
    keys: HashMap<String, SigningKey>,
    cases: Vec<Value>,
}

fn table() -> Table {
    table_with(|_| {})
}

/// The table with its configuration changed by `edit` first (the cases' expectations then no longer
/// hold; only equivalences do).
fn table_with(edit: impl FnOnce(&mut Map<String, Value>)) -> Table {
    let file: Value = serde_json::from_str(include_str!("../../../tests/policy/cases.json"))
        .expect("cases.json is JSON");
    let mut config = file["config"].clone();
    edit(config.as_object_mut().unwrap());
    let mut keys = HashMap::new();
    for issuer in config["issuers"].as_array_mut().unwrap() {
        let key = SigningKey::generate(Algorithm::Es256, None, &mut rand_core::OsRng).unwrap();
        issuer["algorithms"] = json!(["ES256"]);
        issuer["jwks"] = json!({ "keys": [Value::Object(key.public_key().to_jwk())] });
        keys.insert(issuer["issuer"].as_str().unwrap().to_owned(), key);
    }
    let edge = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng).unwrap();
    config["assertion"] = json!({
        "issuer": "https://edge.example.com", "audience": "https://origin.example.com",
        "signing_key_secret": "SIGNING"
    });
    let secrets = HashMap::from([(
        "SIGNING".to_owned(),
        Value::Object(edge.to_private_jwk()).to_string(),
    )]);
    Table {
        config: GateConfig::from_value(&config, &secrets).expect("the table's config compiles"),
        keys,
        cases: file["cases"].as_array().unwrap().clone(),
    }
}

/// The answer, reduced to what the table states.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    code: Option<String>,
    scope: Option<String>,
    path: Option<String>,
    headers: Vec<(String, String)>,
    /// For forwarded requests: the `Cookie` and `Authorization` the origin receives.
    forwarded_headers: Vec<(&'static str, Option<String>)>,
}

/// `scope="…"` from a challenge.
fn scope_of(challenge: &str) -> Option<String> {
    let (_, rest) = challenge.split_once("scope=\"")?;
    Some(rest.split('"').next()?.to_owned())
}

fn run(table: &Table, case: &Value) -> Answer {
    run_reading(table, case, false)
}

/// `only_reads`: the request carries only the optional headers [`gate::header_reads`] names, as the
/// Worker reads them.
fn run_reading(table: &Table, case: &Value, only_reads: bool) -> Answer {
    let request = &case["request"];
    let url = request["url"].as_str().unwrap();
    let method = request["method"].as_str().unwrap_or("GET");
    let (_, rest) = url.split_once("://").unwrap();
    let (host, path_and_query) = rest.split_at(rest.find('/').unwrap());
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let header = |name: &str| request["headers"][name].as_str();
    let token = case.get("token").map(|spec| {
        let mut claims: Map<String, Value> = spec["claims"].as_object().unwrap().clone();
        let issuer = spec["issuer"].as_str().unwrap();
        let defaults = [
            ("iss", json!(issuer)),
            ("aud", json!(AUD)),
            ("sub", json!("user-1")),
            ("iat", json!(NOW)),
            ("exp", json!(NOW + 3600)),
        ];
        for (name, value) in defaults {
            claims.entry(name).or_insert(value);
        }
        // A negative `exp` in the table is relative to now (past the default 60 s leeway: expired).
        if let Some(offset) = claims["exp"].as_i64().filter(|e| *e < 0) {
            claims.insert("exp".into(), json!(NOW as i64 + offset));
        }
        let key = &table.keys[issuer];
        (
            mint(key, &claims, &MintOptions::default()),
            spec["in"].as_str().unwrap_or("header") == "cookie",
        )
    });
    let authorization = token
        .as_ref()
        .filter(|(_, cookie)| !cookie)
        .map(|(t, _)| format!("Bearer {t}"))
        .or_else(|| header("authorization").map(str::to_owned));
    // A cookie token is appended to the case's own cookies.
    let cookie = match (
        header("cookie"),
        token.as_ref().filter(|(_, cookie)| *cookie),
    ) {
        (Some(own), Some((t, _))) => Some(format!("{own}; at={t}")),
        (None, Some((t, _))) => Some(format!("at={t}")),
        (own, None) => own.map(str::to_owned),
    };
    let config = &table.config;
    let reads = if only_reads {
        gate::header_reads(config, method)
    } else {
        gate::HeaderReads {
            cookie: true,
            origin: true,
            csrf: true,
            preflight: true,
        }
    };
    fn read(on: bool, value: Option<&str>) -> Option<&str> {
        value.filter(|_| on)
    }
    let head = RequestHead {
        authorization: authorization.as_deref(),
        cookie: cookie.as_deref().filter(|_| reads.cookie),
        origin: read(reads.origin, header("origin")),
        referer: read(reads.csrf, header("referer")),
        sec_fetch_site: read(reads.csrf, header("sec-fetch-site")),
        cors_method: read(reads.preflight, header("access-control-request-method")),
        cors_headers: read(reads.preflight, header("access-control-request-headers")),
        ..RequestHead::simple(method, url, path, host)
    };
    // The answer's own headers are not the table's business: only what the edge adds.
    let mut headers: Vec<(String, String)> =
        gate::response_headers(config, &head, Vec::new()).unwrap_or_default();
    let forwarded = |path: String| {
        Some(match query {
            Some(q) => format!("{path}?{q}"),
            None => path,
        })
    };
    let refused = |refusal: Refusal, headers| {
        let http = refusal.to_http(&config.realm);
        Answer {
            status: http.status,
            code: Some(http.code.to_owned()),
            scope: http.www_authenticate.as_deref().and_then(scope_of),
            path: None,
            headers,
            forwarded_headers: Vec::new(),
        }
    };
    // What the origin receives of the request's credentials, per the forwarding instructions.
    let sent = |how: &gate::Forward| {
        let cookie = match &how.cookie {
            Some(replaced) => replaced.clone(),
            None => cookie.clone(),
        };
        let authorization = if how.remove_authorization {
            None
        } else {
            authorization.clone()
        };
        vec![("cookie", cookie), ("authorization", authorization)]
    };
    let forward = |how: gate::Forward, headers| Answer {
        status: 200,
        code: None,
        scope: None,
        forwarded_headers: sent(&how),
        path: forwarded(how.path),
        headers,
    };
    match gate::plan(config, &head) {
        Plan::ServeJwks | Plan::ServeStatus | Plan::BackchannelLogout | Plan::Revoke { .. } => {
            panic!("no case asks for the JWKS, the status or a revocation endpoint")
        }
        Plan::Preflight(extra) => {
            headers.extend(extra.into_iter().map(|(n, v)| (n.to_owned(), v)));
            Answer {
                status: 204,
                code: None,
                scope: None,
                path: None,
                headers,
                forwarded_headers: Vec::new(),
            }
        }
        Plan::Refuse(refusal) => refused(refusal, headers),
        Plan::ForwardAnonymous { path, .. } => {
            forward(gate::forward_anonymous(config, &head, path), headers)
        }
        Plan::Verify {
            token,
            route,
            params,
            path,
        } => {
            let verified = match config.verifier.verify(&token, UnixTime(NOW)) {
                Ok(v) => v,
                Err(e) => return refused(Refusal::Token(e), headers),
            };
            if let Err(refusal) = gate::authorize(config, route, &params, &verified) {
                return refused(refusal, headers);
            }
            forward(
                gate::forward_verified(config, &head, path, String::new()),
                headers,
            )
        }
    }
}

#[test]
fn policy_table() {
    let table = table();
    let mut failures = Vec::new();
    for case in &table.cases {
        let name = case["name"].as_str().unwrap();
        let expect = &case["expect"];
        let answer = run(&table, case);
        let mut wrong = Vec::new();
        if u64::from(answer.status) != expect["status"].as_u64().unwrap() {
            wrong.push(format!("status {}", answer.status));
        }
        if let Some(code) = expect["code"].as_str() {
            if answer.code.as_deref() != Some(code) {
                wrong.push(format!("code {:?}", answer.code));
            }
        }
        if let Some(scope) = expect["scope"].as_str() {
            if answer.scope.as_deref() != Some(scope) {
                wrong.push(format!("scope {:?}", answer.scope));
            }
        }
        if let Some(path) = expect["path"].as_str() {
            if answer.path.as_deref() != Some(path) {
                wrong.push(format!("path {:?}", answer.path));
            }
        }
        for (name, value) in expect["forwarded_headers"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let got = answer
                .forwarded_headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_deref());
            if got != Some(value.as_str()) {
                wrong.push(format!("forwarded {name}: {got:?}"));
            }
        }
        for (name, value) in expect["headers"].as_object().into_iter().flatten() {
            let got = answer
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v);
            if got.map(String::as_str) != value.as_str() {
                wrong.push(format!("header {name}: {got:?}"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!("{name}: {}", wrong.join(", ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.cases.len(),
        failures.join("\n")
    );
    // The table covers every decision kind.
    for status in [200, 204, 400, 401, 403] {
        assert!(
            table.cases.iter().any(|c| c["expect"]["status"] == status),
            "no case expects {status}"
        );
    }
}

/// Reading only the headers `header_reads` names decides every case exactly as reading them all, under
/// the table's configuration and under ones without CORS, without the token cookie, and with CSRF on
/// every state-changing request. The last check makes sure that some header was left unread somewhere,
/// so the comparison is not between two identical requests.
#[test]
fn header_reads_decide_as_reading_everything() {
    type Edit = fn(&mut Map<String, Value>);
    let variants: [(&str, Edit); 4] = [
        ("the table's", |_| {}),
        ("no cors", |c| {
            c.remove("cors");
        }),
        ("no token cookie", |c| {
            c.remove("token_cookie");
        }),
        ("no cookie, csrf on all requests", |c| {
            c.remove("token_cookie");
            c.insert("csrf".into(), json!({ "all_requests": true }));
        }),
    ];
    let mut skipped = 0;
    for (label, edit) in variants {
        let table = table_with(edit);
        for case in &table.cases {
            let name = case["name"].as_str().unwrap();
            let method = case["request"]["method"].as_str().unwrap_or("GET");
            let reads = gate::header_reads(&table.config, method);
            if !(reads.cookie && reads.origin && reads.csrf && reads.preflight) {
                skipped += 1;
            }
            assert_eq!(
                run_reading(&table, case, true),
                run_reading(&table, case, false),
                "{label} configuration, case {name}: reading only {reads:?} decides differently"
            );
        }
    }
    assert!(skipped > 0, "every case read every header");
}
