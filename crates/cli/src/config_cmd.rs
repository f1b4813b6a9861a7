//! `check-config` and `explain`: the Worker's configuration and decisions, offline.
//!
//! Both read `EDGE_AUTH` from a `wrangler.toml` (`[vars.EDGE_AUTH]`, or `[env.NAME.vars.EDGE_AUTH]` with
//! `--env`), as a table or a JSON string, and compile it with the same code as the Worker. Secrets are
//! read from `--secrets FILE` (`.dev.vars` lines `NAME=value`, or a JSON object); without it every
//! secret is a stand-in (a fresh Ed25519 private JWK, which is also a valid HMAC secret), so the rest of
//! the configuration can still be checked.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Args;
use edge_auth_cli::{ExplainInput, ExplainRequest};
use edge_auth_core::{
    Algorithm, Auth, GateConfig, RevocationFail, SecretSource, SigningKey, UnixTime,
};
use edge_auth_gate::{ExplainedDecision, Explanation};
use serde_json::Value;

#[derive(Args, Debug)]
pub struct ConfigSource {
    /// The wrangler.toml holding `[vars.EDGE_AUTH]` (a `.json` file holding EDGE_AUTH works too).
    #[arg(value_name = "WRANGLER_TOML")]
    config: PathBuf,
    /// Read `[env.NAME.vars]` instead of `[vars]`.
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
    /// Secrets: a `.dev.vars` file (`NAME=value` lines) or a JSON object. Default: stand-ins.
    #[arg(long, value_name = "FILE")]
    secrets: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The wrangler.toml holding `[vars.EDGE_AUTH]`.
    #[arg(long = "config", value_name = "WRANGLER_TOML")]
    config: PathBuf,
    /// Read `[env.NAME.vars]` instead of `[vars]`.
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
    /// Secrets: a `.dev.vars` file or a JSON object (needed to verify HS* tokens).
    #[arg(long, value_name = "FILE")]
    secrets: Option<PathBuf>,
    /// The request method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// The request URL as the Worker receives it.
    #[arg(long)]
    url: String,
    /// The token, sent as `Authorization: Bearer`.
    #[arg(long, conflicts_with = "cookie")]
    token: Option<String>,
    /// The token, sent in the configured `token_cookie`.
    #[arg(long, value_name = "TOKEN")]
    cookie: Option<String>,
    /// Another request header, `Name: value` (repeatable): Origin, Referer, Sec-Fetch-Site,
    /// Access-Control-Request-Method, Access-Control-Request-Headers.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// The current time as Unix seconds (default: the system clock).
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
}

/// Secrets from a file, or stand-ins.
struct Secrets {
    given: Option<HashMap<String, String>>,
    stand_in: String,
}

impl SecretSource for Secrets {
    fn secret(&self, name: &str) -> Option<String> {
        match &self.given {
            Some(map) => map.get(name).cloned(),
            None => Some(self.stand_in.clone()),
        }
    }
}

fn read_secrets(path: Option<&Path>) -> Result<Secrets, String> {
    let stand_in = SigningKey::generate(Algorithm::EdDsa, None, &mut rand_core::OsRng)
        .map(|k| Value::Object(k.to_private_jwk()).to_string())
        .map_err(|e| format!("stand-in key: {e}"))?;
    let Some(path) = path else {
        return Ok(Secrets {
            given: None,
            stand_in,
        });
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("secrets file {}: {e}", path.display()))?;
    let given = if text.trim_start().starts_with('{') {
        serde_json::from_str::<HashMap<String, String>>(&text)
            .map_err(|e| format!("secrets file {}: {e}", path.display()))?
    } else {
        let mut map = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line.split_once('=').ok_or_else(|| {
                format!(
                    "secrets file {} line {}: expected NAME=value",
                    path.display(),
                    n + 1
                )
            })?;
            let value = value.trim();
            let value = ['"', '\'']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            map.insert(name.trim().to_owned(), value.to_owned());
        }
        map
    };
    Ok(Secrets {
        given: Some(given),
        stand_in,
    })
}

/// `EDGE_AUTH` from a wrangler.toml (or a JSON file).
fn read_edge_auth(path: &Path, env: Option<&str>) -> Result<Value, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("config {}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        return serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()));
    }
    let document: Value =
        toml::from_str(&text).map_err(|e| format!("{}: not TOML: {e}", path.display()))?;
    let vars = match env {
        Some(name) => document
            .get("env")
            .and_then(|e| e.get(name))
            .and_then(|e| e.get("vars"))
            .ok_or_else(|| format!("{}: no [env.{name}.vars]", path.display()))?,
        None => document
            .get("vars")
            .ok_or_else(|| format!("{}: no [vars]", path.display()))?,
    };
    vars.get("EDGE_AUTH").cloned().ok_or_else(|| {
        let table = env.map_or("vars".to_owned(), |n| format!("env.{n}.vars"));
        format!("{}: no {table}.EDGE_AUTH", path.display())
    })
}

fn compile(
    path: &Path,
    env: Option<&str>,
    secrets: Option<&Path>,
) -> Result<(GateConfig, bool), Result<Vec<String>, String>> {
    let value = read_edge_auth(path, env).map_err(Err)?;
    let source = read_secrets(secrets).map_err(Err)?;
    let stand_ins = source.given.is_none();
    GateConfig::from_value(&value, &source)
        .map(|config| (config, stand_ins))
        .map_err(|errors| Ok(errors.0.iter().map(ToString::to_string).collect()))
}

/// `check-config`: 0 valid, 1 invalid (every error with its field path), 2 unreadable.
pub fn check_config(args: &ConfigSource) -> Result<bool, String> {
    match compile(&args.config, args.env.as_deref(), args.secrets.as_deref()) {
        Ok((config, stand_ins)) => {
            let routes = &config.routes;
            println!(
                "ok: {} issuer(s), {} route(s) plus the default rule (auth {}), cors {}, csrf for cookie tokens{}",
                config.verifier.issuers().count(),
                routes.routes.len(),
                match routes.default.auth {
                    Auth::None => "none",
                    Auth::Optional => "optional",
                    Auth::Required => "required",
                },
                if config.cors.is_some() { "on" } else { "off" },
                if config.csrf.all_requests { " and all requests" } else { "" },
            );
            if config.remote.allow_loopback_http {
                println!("warning: remote_keys.allow_loopback_http = true: http:// key URLs on loopback hosts are accepted; for the demo and tests only, never in a deployed Worker");
            }
            if config.routes.paths.allow_matrix_parameters {
                println!("warning: paths.allow_matrix_parameters = true: `;` path parameters reach the origin; see README (Routes and policy) for the risk");
            }
            if let Some(revocation) = &config.revocation {
                let issuers: Vec<&str> = revocation
                    .issuers
                    .iter()
                    .map(|i| i.issuer.as_str())
                    .collect();
                println!(
                    "revocation: {} (binding {}, copies trusted {} s, at most {} records per issuer){}{}",
                    issuers.join(", "),
                    revocation.binding,
                    revocation.cache_seconds,
                    revocation.max_entries,
                    if revocation.has_logout() { ", back-channel logout on" } else { "" },
                    if revocation.admin.is_some() { ", admin endpoint on" } else { "" },
                );
                if revocation.fail == RevocationFail::Open {
                    println!("warning: revocation.fail = \"open\": while the revocation state cannot be read, revoked tokens can pass; see README (Ending sessions)");
                }
            }
            if config.demo {
                println!("note: this is the demo configuration: the Worker serves it on loopback hosts only");
            }
            if stand_ins {
                println!("note: secrets were not checked (stand-ins used); pass --secrets .dev.vars to check them");
            }
            Ok(true)
        }
        Err(Ok(errors)) => {
            for error in &errors {
                println!("error: {error}");
            }
            println!("{} error(s)", errors.len());
            Ok(false)
        }
        Err(Err(message)) => Err(message),
    }
}

/// `explain`: prints each step of the decision; true when the request would be forwarded.
pub fn explain(args: &ExplainArgs, system_now: u64) -> Result<bool, String> {
    let (config, stand_ins) =
        match compile(&args.config, args.env.as_deref(), args.secrets.as_deref()) {
            Ok(compiled) => compiled,
            Err(Ok(errors)) => {
                return Err(format!(
                "the configuration does not compile (the Worker answers 503 config_invalid):\n  {}",
                errors.join("\n  ")
            ))
            }
            Err(Err(message)) => return Err(message),
        };
    let now = args.now.unwrap_or(system_now);
    let input = ExplainInput {
        method: &args.method,
        url: &args.url,
        token: args.token.as_deref(),
        cookie: args.cookie.as_deref(),
        headers: &args.headers,
    };
    let request = ExplainRequest::new(&input, &config)?;
    if stand_ins {
        println!("note     secrets are stand-ins: HS* tokens will not verify (pass --secrets)");
    }
    let explanation = request.explain(&config, &mut |token| {
        config.verifier.verify(token, UnixTime(now))
    });
    print_explanation(&explanation);
    // The revocation state lives in the Worker's Durable Object, which the CLI cannot read: say so
    // rather than let a forward read as the Worker's last word on a token that may be revoked.
    if let (Some(revocation), Some(token)) = (&config.revocation, &explanation.token) {
        let covered = token.error.is_none()
            && token
                .issuer
                .as_deref()
                .is_some_and(|iss| revocation.issuer(iss).is_some());
        if covered {
            println!(
                "note     revocation not checked here: the Worker checks this issuer's tokens against its Durable Object ({}) after verification, and refuses a revoked one with 401 token_revoked",
                revocation.binding
            );
        }
    }
    Ok(matches!(
        explanation.decision,
        ExplainedDecision::Forward { .. }
            | ExplainedDecision::ServeJwks
            | ExplainedDecision::ServeStatus
            | ExplainedDecision::Preflight { .. }
    ))
}

/// Prints an explanation, one step a line.
fn print_explanation(e: &Explanation) {
    println!("request  {} {}", e.method, e.url);
    match (&e.normalized, &e.path_error) {
        (Some(normalized), _) if *normalized == e.path => println!("path     {}", e.path),
        (Some(normalized), _) => println!("path     {} → normalized {normalized}", e.path),
        (None, Some(error)) => println!("path     {}: {error}", e.path),
        (None, None) => println!("path     {}", e.path),
    }
    if let Some(matched) = &e.matched_path {
        println!("         routes match {matched}");
    }
    if let Some(route) = &e.route {
        println!("route    {}", route.describe());
        if !e.params.is_empty() {
            let params: Vec<String> = e.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("params   {}", params.join(" "));
        }
    }
    if let Some(token) = &e.token {
        let source = match token.source {
            "cookie" => "cookie",
            _ => "Authorization header",
        };
        println!("token    from the {source}");
        match &token.error {
            Some(error) => println!("verify   refused: {}: {error}", token.code),
            None => {
                let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
                println!(
                    "verify   ok: iss {}, sub {}, alg {}, kid {}",
                    dash(&token.issuer),
                    dash(&token.subject),
                    dash(&token.algorithm),
                    dash(&token.key_id),
                );
                println!(
                    "caller   scopes [{}] roles [{}]",
                    token.scopes.join(", "),
                    token.roles.join(", ")
                );
                for (param, claim, value) in &token.bindings {
                    println!(
                        "bind     {{{param}}} ↔ claim {claim} = {}",
                        value
                            .as_ref()
                            .map_or("(absent)".to_owned(), ToString::to_string)
                    );
                }
            }
        }
    }
    if !e.requirement.is_empty() {
        println!("require");
    }
    for step in &e.requirement {
        println!(
            "  {}{} {}",
            "  ".repeat(step.depth),
            if step.text.ends_with(':') {
                "•"
            } else if step.held {
                "✓"
            } else {
                "✗"
            },
            step.text
        );
    }
    match &e.decision {
        ExplainedDecision::ServeJwks => println!("decision serve the assertion JWKS"),
        ExplainedDecision::ServeStatus => println!("decision serve the key-source status"),
        ExplainedDecision::EdgeEndpoint { endpoint } => {
            println!("decision answered by the edge's {endpoint} endpoint (never forwarded)")
        }
        ExplainedDecision::Preflight { headers } => {
            println!("decision answer the CORS preflight: 204");
            for (name, value) in headers {
                println!("         {name}: {value}");
            }
        }
        ExplainedDecision::Forward {
            path,
            verified: true,
        } => println!("decision forward to {path} with a signed assertion"),
        ExplainedDecision::Forward {
            path,
            verified: false,
        } => println!("decision forward without identity to {path}"),
        ExplainedDecision::Refuse {
            status,
            code,
            www_authenticate,
            body,
        } => {
            println!("decision refuse: {status} {code}");
            if let Some(www) = www_authenticate {
                println!("         WWW-Authenticate: {www}");
            }
            println!("         {body}");
        }
    }
}
