//! `edge-auth`: verify, decode, mint and generate keys from the command line.
//!
//! Exit codes: 0 success; 1 the token was refused (`error: <code>: <description>` on stderr);
//! 2 usage, file or key errors. `revoke` adds 3 and 4 (see `revoke_cmd`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

mod config_cmd;
mod revoke_cmd;

use clap::{Args, Parser, Subcommand};
use edge_auth_core::{
    decode_unverified, mint, Algorithm, AssertionVerifier, Binding, IssuerPolicy, KeySet, Limits,
    MintOptions, RustCrypto, SignatureVerifier, SigningKey, UnixTime, Verifier, VerifyError,
};
use serde_json::{Map, Value};

#[derive(Parser, Debug)]
#[command(
    name = "edge-auth",
    version,
    about = "Strict JWT verification for the edge"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify a token's signature and claims; print the verified claims as JSON.
    Verify(VerifyArgs),
    /// Verify an edge-auth assertion (what the origin receives) against the Worker's JWKS.
    VerifyAssertion(VerifyAssertionArgs),
    /// Print a token's header and payload WITHOUT verifying anything.
    Decode {
        /// The compact token, or `-` (or nothing) to read it from stdin.
        token: Option<String>,
    },
    /// Sign a token (for development and tests).
    Mint(MintArgs),
    /// Validate the Worker's configuration (`[vars.EDGE_AUTH]` in wrangler.toml) offline; print every
    /// error with its field path. Exit 0 valid, 1 invalid.
    CheckConfig(config_cmd::ConfigSource),
    /// Show the Worker's decision for one request, step by step (route, token, requirement, answer).
    /// Exit 0 forwarded (or answered), 1 refused.
    Explain(config_cmd::ExplainArgs),
    /// Revoke a token (`--jti`), a session (`--sid`) or a subject's tokens (`--sub`) at the Worker's admin
    /// endpoint; print the `revoked` record. Exit 0 recorded, 1 refused, 2 usage, 3 not recorded now
    /// (503/507: retry later or raise the cap), 4 no usable answer (network, TLS, timeout, redirect).
    Revoke(revoke_cmd::RevokeArgs),
    /// Generate a new private JWK and its public JWK Set; the kid is the RFC 7638 thumbprint.
    Keygen {
        /// Algorithm of the new key.
        #[arg(long, default_value = "EdDSA", value_parser = parse_alg)]
        alg: Algorithm,
        /// Use this kid instead of the thumbprint.
        #[arg(long)]
        kid: Option<String>,
    },
}

#[derive(Args, Debug)]
struct VerifyArgs {
    /// A file holding one JWK.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "jwks",
        required_unless_present = "jwks"
    )]
    jwk: Option<PathBuf>,
    /// A file holding a JWK Set.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// Required exact `iss`. Without it any issuer is accepted (a warning is printed).
    #[arg(long)]
    issuer: Option<String>,
    /// Accepted audience (repeatable); the token's `aud` must contain one. Without it `aud` is not checked.
    #[arg(long = "audience", value_name = "AUD")]
    audiences: Vec<String>,
    /// Allowed algorithm (repeatable). Default: the keys' own `alg` members.
    #[arg(long = "alg", value_name = "ALG", value_parser = parse_alg)]
    algorithms: Vec<Algorithm>,
    /// Clock leeway in seconds for exp, nbf and iat.
    #[arg(long, value_name = "SECS", default_value_t = edge_auth_core::DEFAULT_LEEWAY)]
    leeway: u64,
    /// The current time as Unix seconds (default: the system clock).
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
    /// Required `typ` header (for example `at+jwt`).
    #[arg(long)]
    typ: Option<String>,
    /// Refuse tokens whose `iat` is older than this many seconds.
    #[arg(long, value_name = "SECS")]
    max_age: Option<u64>,
    /// Require a `sub` claim.
    #[arg(long)]
    require_sub: bool,
    /// Largest token accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_token_bytes)]
    max_token_bytes: usize,
    /// Check structure, header rules, key selection and signature only; print the payload bytes.
    #[arg(
        long,
        conflicts_with_all = ["issuer", "audiences", "typ", "max_age", "require_sub", "now", "leeway"]
    )]
    signature_only: bool,
    /// The compact token, or `-` (or nothing) to read it from stdin.
    token: Option<String>,
}

#[derive(Args, Debug)]
struct VerifyAssertionArgs {
    /// The Worker's JWK Set (`/.well-known/edge-auth/jwks.json`).
    #[arg(long, value_name = "FILE")]
    jwks: PathBuf,
    /// The assertion issuer (the Worker's `assertion.issuer`).
    #[arg(long)]
    issuer: String,
    /// The assertion audience (this origin).
    #[arg(long)]
    audience: String,
    /// The request method the assertion must be bound to (`htm`).
    #[arg(long, requires = "url")]
    method: Option<String>,
    /// The request URL the assertion must be bound to (`htu`; query and fragment are ignored).
    #[arg(long, requires = "method")]
    url: Option<String>,
    /// The caller's access token, when the origin receives it too (`ath`).
    #[arg(long, value_name = "TOKEN", requires = "method")]
    access_token: Option<String>,
    /// Clock leeway in seconds.
    #[arg(long, value_name = "SECS", default_value_t = edge_auth_core::DEFAULT_ASSERTION_LEEWAY)]
    leeway: u64,
    /// The current time as Unix seconds (default: the system clock).
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
    /// The assertion, or `-` (or nothing) to read it from stdin.
    token: Option<String>,
}

#[derive(Args, Debug)]
struct MintArgs {
    /// A file holding the private JWK.
    #[arg(long, value_name = "FILE")]
    jwk: PathBuf,
    /// The claims, a JSON object (or `@FILE`).
    #[arg(long, value_name = "JSON")]
    claims: String,
    /// The `kid` header (default: the key's kid).
    #[arg(long)]
    kid: Option<String>,
    /// The `typ` header.
    #[arg(long)]
    typ: Option<String>,
    /// Algorithm, when the key has no `alg` member.
    #[arg(long, value_parser = parse_alg)]
    alg: Option<Algorithm>,
}

fn parse_alg(name: &str) -> Result<Algorithm, String> {
    Algorithm::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        format!(
            "unknown algorithm {name:?}; expected one of {}",
            known.join(", ")
        )
    })
}

/// A failure and its exit code.
enum Failure {
    /// The token was refused: exit 1.
    Refused(VerifyError),
    /// Usage, file or key problem: exit 2.
    Usage(String),
    /// A negative answer already printed (invalid config, refused request): exit 1.
    No,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Usage(message)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify(args) => verify(args),
        Command::VerifyAssertion(args) => verify_assertion(args),
        Command::Decode { token } => decode(token),
        Command::Mint(args) => mint_cmd(args),
        Command::Keygen { alg, kid } => keygen(alg, kid),
        Command::Revoke(args) => {
            return match revoke_cmd::revoke(&args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(failure) => {
                    match &failure {
                        revoke_cmd::RevokeFailure::Usage(message)
                        | revoke_cmd::RevokeFailure::NoAnswer(message) => {
                            eprintln!("error: {message}");
                        }
                        // Already said: the Worker's code and status.
                        revoke_cmd::RevokeFailure::Refused
                        | revoke_cmd::RevokeFailure::NotRecorded => {}
                    }
                    ExitCode::from(failure.exit_code())
                }
            };
        }
        Command::CheckConfig(args) => yes_no(config_cmd::check_config(&args)),
        Command::Explain(args) => now_or_clock(None)
            .map_err(Failure::Usage)
            .and_then(|clock| yes_no(config_cmd::explain(&args, clock))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(error)) => {
            eprintln!("error: {}: {error}", error.code());
            ExitCode::from(1)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::No) => ExitCode::from(1),
    }
}

fn yes_no(answer: Result<bool, String>) -> Result<(), Failure> {
    match answer {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure::No),
        Err(message) => Err(Failure::Usage(message)),
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// The most read from stdin: far above any token limit, and a bound on memory.
const STDIN_LIMIT: u64 = 1 << 20;

fn read_token(token: Option<String>) -> Result<String, String> {
    let text = match token.as_deref() {
        None | Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(STDIN_LIMIT + 1)
                .read_to_end(&mut buf)
                .map_err(|e| format!("reading the token from stdin: {e}"))?;
            if buf.len() as u64 > STDIN_LIMIT {
                return Err(format!("stdin holds more than {STDIN_LIMIT} bytes"));
            }
            // Not UTF-8 cannot be base64url either: the parser refuses the replacement characters.
            String::from_utf8_lossy(&buf).into_owned()
        }
        Some(token) => token.to_owned(),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("no token given".into());
    }
    Ok(trimmed.to_owned())
}

fn print_json(value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    writeln!(std::io::stdout(), "{text}").map_err(|e| format!("writing output: {e}"))
}

fn verify(args: VerifyArgs) -> Result<(), Failure> {
    let keys = match (&args.jwk, &args.jwks) {
        (Some(path), _) => KeySet::from_jwk_json(&read_file(path, "--jwk")?)
            .map_err(|e| format!("--jwk {}: {e}", path.display()))?,
        (None, Some(path)) => KeySet::from_jwks_json(&read_file(path, "--jwks")?)
            .map_err(|e| format!("--jwks {}: {e}", path.display()))?,
        (None, None) => return Err(Failure::Usage("give --jwk or --jwks".into())),
    };
    let algorithms: Vec<Algorithm> = if args.algorithms.is_empty() {
        keys.declared_algorithms().iter().collect()
    } else {
        args.algorithms.clone()
    };
    if algorithms.is_empty() {
        return Err(Failure::Usage(
            "the key has no `alg` member: pass --alg to say which algorithm it verifies".into(),
        ));
    }
    let limits = Limits {
        max_token_bytes: args.max_token_bytes,
        ..Limits::default()
    };
    let token = read_token(args.token.clone())?;

    if args.signature_only {
        let verifier =
            SignatureVerifier::new(keys, algorithms, limits).map_err(|e| e.to_string())?;
        let verified = verifier
            .verify(&token, &RustCrypto)
            .map_err(Failure::Refused)?;
        let mut out = std::io::stdout();
        out.write_all(&verified.payload)
            .and_then(|()| out.flush())
            .map_err(|e| format!("writing output: {e}"))?;
        return Ok(());
    }

    let mut builder = match &args.issuer {
        Some(issuer) => IssuerPolicy::builder(issuer.clone(), algorithms, keys),
        None => {
            eprintln!("warning: no --issuer: the token's iss is not checked");
            IssuerPolicy::builder("-", algorithms, keys).dangerous_any_issuer()
        }
    };
    builder = if args.audiences.is_empty() {
        eprintln!("warning: no --audience: the token's aud is not checked");
        builder.dangerous_any_audience()
    } else {
        builder.audiences(args.audiences.clone())
    };
    builder = builder.leeway(args.leeway);
    if let Some(typ) = &args.typ {
        builder = builder.typ(typ.clone());
    }
    if let Some(max_age) = args.max_age {
        builder = builder.max_age(max_age);
    }
    if args.require_sub {
        builder = builder.require_sub();
    }
    let policy = builder.build().map_err(|e| e.to_string())?;
    let verifier = Verifier::new(vec![policy], limits).map_err(|e| e.to_string())?;
    let now = now_or_clock(args.now)?;
    let verified = verifier
        .verify(&token, UnixTime(now))
        .map_err(Failure::Refused)?;
    print_json(&Value::Object(verified.claims().clone()))?;
    Ok(())
}

fn now_or_clock(now: Option<u64>) -> Result<u64, String> {
    match now {
        Some(now) => Ok(now),
        None => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| format!("system clock before 1970: {e}"))?
            .as_secs()),
    }
}

fn verify_assertion(args: VerifyAssertionArgs) -> Result<(), Failure> {
    let keys = KeySet::from_jwks_json(&read_file(&args.jwks, "--jwks")?)
        .map_err(|e| format!("--jwks {}: {e}", args.jwks.display()))?;
    let verifier = AssertionVerifier::new(keys, args.issuer, args.audience, args.leeway)
        .map_err(|e| e.to_string())?;
    let token = read_token(args.token)?;
    let now = now_or_clock(args.now)?;
    let binding = match (&args.method, &args.url) {
        (Some(method), Some(url)) => Some(Binding {
            method,
            url,
            access_token: args.access_token.as_deref(),
        }),
        _ => None,
    };
    let verified = verifier
        .verify(&token, UnixTime(now), binding.as_ref())
        .map_err(Failure::Refused)?;
    print_json(&Value::Object(verified.claims().clone()))?;
    Ok(())
}

fn decode(token: Option<String>) -> Result<(), Failure> {
    let token = read_token(token)?;
    let decoded = decode_unverified(&token, &Limits::default())
        .map_err(|e| Failure::Refused(VerifyError::Parse(e)))?;
    let mut out = String::from("UNVERIFIED: nothing below has been checked; do not trust it.\n");
    let pretty = |v: Value| serde_json::to_string_pretty(&v).unwrap_or_default();
    out.push_str("header:\n");
    out.push_str(&pretty(Value::Object(decoded.header)));
    out.push_str("\npayload:\n");
    match decoded.claims {
        Ok(claims) => out.push_str(&pretty(Value::Object(claims))),
        // Escaped, so an untrusted payload cannot send control sequences to the terminal.
        Err(e) => out.push_str(&format!(
            "({} bytes, not a JSON object: {e})\n{}",
            decoded.payload.len(),
            String::from_utf8_lossy(&decoded.payload).escape_debug()
        )),
    }
    out.push_str(&format!("\nsignature: {} bytes\n", decoded.signature_len));
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|e| Failure::Usage(format!("writing output: {e}")))
}

fn mint_cmd(args: MintArgs) -> Result<(), Failure> {
    let key = SigningKey::from_json(&read_file(&args.jwk, "--jwk")?, args.alg)
        .map_err(|e| format!("--jwk {}: {e}", args.jwk.display()))?;
    let claims_text = match args.claims.strip_prefix('@') {
        Some(path) => String::from_utf8(read_file(Path::new(path), "--claims")?)
            .map_err(|_| format!("--claims {path}: not UTF-8"))?,
        None => args.claims.clone(),
    };
    let claims: Map<String, Value> = match serde_json::from_str(&claims_text) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(Failure::Usage("--claims: must be a JSON object".into())),
        Err(e) => return Err(Failure::Usage(format!("--claims: not valid JSON: {e}"))),
    };
    let token = mint(
        &key,
        &claims,
        &MintOptions {
            kid: args.kid.as_deref(),
            typ: args.typ.as_deref(),
        },
    );
    writeln!(std::io::stdout(), "{token}")
        .map_err(|e| Failure::Usage(format!("writing output: {e}")))
}

fn keygen(alg: Algorithm, kid: Option<String>) -> Result<(), Failure> {
    let key = SigningKey::generate(alg, kid, &mut rand_core::OsRng).map_err(|e| e.to_string())?;
    let output = serde_json::json!({
        "jwk": Value::Object(key.to_private_jwk()),
        "jwks": { "keys": [Value::Object(key.public_key().to_jwk())] },
    });
    print_json(&output)?;
    Ok(())
}
