//! `edge-auth revoke` against a stand-in for the Worker's admin endpoint on 127.0.0.1 (a thread answering
//! one canned HTTP/1.1 answer per connection and recording what it received): the request it sends
//! (method, path, `Authorization`, `Content-Type`, the JSON body of the contract), how each answer maps to
//! the output and the exit code (0 recorded, 1 refused, 2 usage, 3 not recorded now, 4 no usable answer),
//! and that the admin token is never printed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests: a panic is a test failure"
)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2VjcmV0LWFkbWluLXRva2Vu";
const PATH: &str = "/.well-known/edge-auth/revoke";

/// What the stand-in received.
#[derive(Debug)]
struct Received {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A stand-in answering `status` with `body` (and `extra` header lines) to each connection, or holding the
/// connection without answering when `status` is 0. Returns its URL and what it received.
fn stand_in(status: u16, body: &str, extra: &str) -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}{PATH}",
        listener.local_addr().unwrap().port()
    );
    let (tx, rx) = mpsc::channel();
    let body = body.to_owned();
    let extra = extra.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_owned();
            let target = parts.next().unwrap_or_default().to_owned();
            let mut headers = HashMap::new();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
            let length: usize = headers
                .get("content-length")
                .map_or(0, |l| l.parse().unwrap());
            let mut received = vec![0; length];
            reader.read_exact(&mut received).unwrap();
            tx.send(Received {
                method,
                target,
                headers,
                body: received,
            })
            .unwrap();
            if status == 0 {
                std::thread::sleep(Duration::from_secs(5));
                continue;
            }
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (url, rx)
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], env_token: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_edge-auth"));
    command
        .arg("revoke")
        .args(args)
        .env_remove("EDGE_AUTH_ADMIN_TOKEN")
        .stdin(Stdio::null());
    if let Some(token) = env_token {
        command.env("EDGE_AUTH_ADMIN_TOKEN", token);
    }
    let out = command.output().unwrap();
    let output = Output {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    assert!(
        !output.stdout.contains(TOKEN) && !output.stderr.contains(TOKEN),
        "the token was printed: {} {}",
        output.stdout,
        output.stderr
    );
    output
}

fn revoked(kind: &str, value: &str) -> Value {
    json!({"revoked": {"kind": kind, "iss": "https://idp.example/", "value": value, "at": 1_700_000_000u64, "until": 1_700_086_400u64}})
}

#[test]
fn sends_the_contract_body_and_prints_the_record() {
    // (arguments, the JSON body the Worker must receive, the record the stand-in answers)
    let cases: Vec<(Vec<&str>, Value, Value)> = vec![
        (
            vec!["--jti", "t-1"],
            json!({"jti": "t-1"}),
            revoked("jti", "t-1"),
        ),
        (
            vec![
                "--jti",
                "t-2",
                "--exp",
                "1700000300",
                "--iss",
                "https://idp.example/",
            ],
            json!({"iss": "https://idp.example/", "jti": "t-2", "exp": 1_700_000_300u64}),
            revoked("jti", "t-2"),
        ),
        (
            vec!["--sid", "s-1"],
            json!({"sid": "s-1"}),
            revoked("sid", "s-1"),
        ),
        (
            vec!["--sub", "alice", "--iss", "https://idp.example/"],
            json!({"iss": "https://idp.example/", "sub": "alice"}),
            revoked("sub", "alice"),
        ),
    ];
    for (args, body, record) in cases {
        let (url, seen) = stand_in(
            200,
            &record.to_string(),
            "content-type: application/json\r\n",
        );
        let mut all = vec!["--url", &url, "--token", TOKEN];
        all.extend(&args);
        let out = run(&all, None);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_eq!(serde_json::from_str::<Value>(&out.stdout).unwrap(), record);
        let request = seen.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, PATH);
        assert_eq!(request.headers["authorization"], format!("Bearer {TOKEN}"));
        assert_eq!(request.headers["content-type"], "application/json");
        assert_eq!(
            serde_json::from_slice::<Value>(&request.body).unwrap(),
            body,
            "{args:?}"
        );
    }
}

#[test]
fn the_token_comes_from_a_file_the_flag_or_the_environment() {
    let dir = std::env::temp_dir().join(format!("edge-auth-revoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("admin.token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let file = file.to_str().unwrap().to_owned();
    let record = revoked("sid", "s");
    for (args, env) in [
        (vec!["--token-file", file.as_str()], None),
        (vec!["--token", TOKEN], Some("ignored-when-a-flag-is-given")),
        (vec![], Some(TOKEN)),
    ] {
        let (url, seen) = stand_in(200, &record.to_string(), "");
        let mut all = vec!["--url", url.as_str(), "--sid", "s"];
        all.extend(&args);
        let out = run(&all, env);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let request = seen.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(
            request.headers["authorization"],
            format!("Bearer {TOKEN}"),
            "{args:?}"
        );
    }
    // A file far larger than any token is not read whole: exit 2, nothing sent.
    let big = dir.join("big.token");
    std::fs::write(&big, "a".repeat(70 * 1024)).unwrap();
    let (url, seen) = stand_in(200, &record.to_string(), "");
    let out = run(
        &[
            "--url",
            &url,
            "--sid",
            "s",
            "--token-file",
            big.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("more than 65536 bytes"),
        "{}",
        out.stderr
    );
    assert!(seen.try_recv().is_err());
}

#[test]
fn refusals_print_the_code_and_status_with_distinct_exit_codes() {
    let problem = |status: u16, code: &str| {
        json!({"type": format!("urn:edge-auth:problem:{code}"), "title": "x", "status": status, "code": code, "detail": "why"})
            .to_string()
    };
    // (status, body, exit code, what stderr says)
    let cases: Vec<(u16, String, i32, &str)> = vec![
        (
            400,
            problem(400, "revoke_request_invalid"),
            1,
            "error: revoke_request_invalid: HTTP 400: why",
        ),
        (
            401,
            problem(401, "token_missing"),
            1,
            "error: token_missing: HTTP 401",
        ),
        (
            403,
            problem(403, "insufficient_role"),
            1,
            "error: insufficient_role: HTTP 403",
        ),
        (
            503,
            problem(503, "revocation_unavailable"),
            3,
            "error: revocation_unavailable: HTTP 503",
        ),
        (
            507,
            problem(507, "revocation_store_full"),
            3,
            "error: revocation_store_full: HTTP 507",
        ),
        (404, "not found".into(), 1, "error: -: HTTP 404"),
        // A redirect is not followed: one request, exit 4.
        (302, String::new(), 4, "redirects are not followed"),
        // 200 that is not the contract's answer.
        (200, "ok".into(), 4, "200 without a `revoked` record"),
        (
            200,
            json!({"revoked": "jti"}).to_string(),
            4,
            "200 without a `revoked` record",
        ),
    ];
    for (status, body, code, says) in cases {
        // The redirect points back at the stand-in: a client following it would show a second request.
        let (url, seen) = stand_in(
            status,
            &body,
            "location: /.well-known/edge-auth/revoke?again\r\n",
        );
        let out = run(&["--url", &url, "--token", TOKEN, "--jti", "t"], None);
        assert_eq!(out.code, code, "{status}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{status}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{status}");
        seen.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(seen.try_recv().is_err(), "{status}: one request only");
    }
}

#[test]
fn no_answer_exits_4() {
    // Nothing listens there any more: connection refused.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!(
            "http://127.0.0.1:{}{PATH}",
            listener.local_addr().unwrap().port()
        )
    };
    let out = run(&["--url", &closed, "--token", TOKEN, "--sid", "s"], None);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    // https to loopback is allowed; a peer that closes during the handshake is no answer.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let tls_url = format!(
        "https://127.0.0.1:{}{PATH}",
        listener.local_addr().unwrap().port()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let out = run(&["--url", &tls_url, "--token", TOKEN, "--sid", "s"], None);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains(&tls_url), "{}", out.stderr);
    // A stand-in that reads the request and never answers: the timeout ends it.
    let (url, seen) = stand_in(0, "", "");
    let out = run(
        &[
            "--url",
            &url,
            "--token",
            TOKEN,
            "--sid",
            "s",
            "--timeout",
            "1",
        ],
        None,
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("no complete answer within 1 s"),
        "{}",
        out.stderr
    );
    seen.recv_timeout(Duration::from_secs(5)).unwrap();
}

#[test]
fn argument_errors_exit_2_and_send_nothing() {
    let (url, seen) = stand_in(200, &revoked("jti", "t").to_string(), "");
    let url = url.as_str();
    // (arguments, environment token, what stderr says)
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (vec!["--url", url, "--token", TOKEN], None, "required"),
        (
            vec!["--url", url, "--token", TOKEN, "--jti", "a", "--sid", "b"],
            None,
            "cannot be used with",
        ),
        (
            vec!["--url", url, "--token", TOKEN, "--sid", "b", "--exp", "1"],
            None,
            "--jti",
        ),
        (
            vec![
                "--url", url, "--token", TOKEN, "--jti", "a", "--exp", "soon",
            ],
            None,
            "invalid value",
        ),
        (
            vec![
                "--url",
                url,
                "--token",
                TOKEN,
                "--token-file",
                "/x",
                "--jti",
                "a",
            ],
            None,
            "cannot be used with",
        ),
        (vec!["--url", url, "--jti", "a"], None, "no admin token"),
        (
            vec!["--url", url, "--jti", "a"],
            Some("  "),
            "the admin token is empty",
        ),
        (
            vec!["--url", url, "--token", "two words", "--jti", "a"],
            None,
            "spaces",
        ),
        (
            vec![
                "--url",
                url,
                "--token-file",
                "/nonexistent/admin.token",
                "--jti",
                "a",
            ],
            None,
            "--token-file /nonexistent/admin.token",
        ),
        (
            vec![
                "--url",
                "http://edge.example/.well-known/edge-auth/revoke",
                "--token",
                TOKEN,
                "--jti",
                "a",
            ],
            None,
            "only https",
        ),
        (
            vec![
                "--url",
                "https://user:pw@edge.example/r",
                "--token",
                TOKEN,
                "--jti",
                "a",
            ],
            None,
            "userinfo",
        ),
        (
            vec!["--url", "edge.example/r", "--token", TOKEN, "--jti", "a"],
            None,
            "--url",
        ),
        (
            vec![
                "--url",
                url,
                "--token",
                TOKEN,
                "--jti",
                "a",
                "--timeout",
                "0",
            ],
            None,
            "--timeout",
        ),
    ];
    for (args, env, says) in cases {
        let out = run(&args, env);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
    assert!(seen.try_recv().is_err(), "a request was sent");
}
