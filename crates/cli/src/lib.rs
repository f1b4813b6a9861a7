//! The pure part of the `edge-auth` CLI, as a library so that the fuzz target
//! (`fuzz/fuzz_targets/explain_input.rs`) runs exactly what `edge-auth explain` runs: the `--method`,
//! `--url`, `--token`, `--cookie` and `--header` strings become the Worker's [`RequestHead`], which
//! [`gate::plan`] decides. Nothing here prints, reads files or reads the clock.
#![forbid(unsafe_code)]

use std::collections::HashMap;

use edge_auth_core::{AbsoluteUrl, GateConfig};
use edge_auth_core::{VerifiedToken, VerifyError};
use edge_auth_gate::{self as gate, Explanation, Plan, RequestHead};

/// The request `edge-auth explain` is asked about, as given on its command line.
#[derive(Debug, Clone, Copy)]
pub struct ExplainInput<'a> {
    /// `--method`.
    pub method: &'a str,
    /// `--url`: the absolute URL as the Worker receives it.
    pub url: &'a str,
    /// `--token`: sent as `Authorization: Bearer`.
    pub token: Option<&'a str>,
    /// `--cookie`: sent in the configuration's `token_cookie`.
    pub cookie: Option<&'a str>,
    /// `--header` values, `Name: value` each.
    pub headers: &'a [String],
}

/// An [`ExplainInput`] split into the parts the Worker sees. It owns the header values that its
/// [`RequestHead`] borrows.
#[derive(Debug, Clone)]
pub struct ExplainRequest<'a> {
    method: &'a str,
    url: &'a str,
    /// The host (and port, if not the default) and the path, as the runtime's URL parser gives them.
    host: String,
    path: String,
    authorization: Option<String>,
    cookie: Option<String>,
    /// Other headers by lower-cased name (the last of a repeated name wins).
    extra: HashMap<String, String>,
}

impl<'a> ExplainRequest<'a> {
    /// Splits the URL into host and path (WHATWG: the query and fragment dropped, dot segments resolved,
    /// an empty path is `/`) and
    /// parses the headers. The message of an error names the flag at fault.
    pub fn new(input: &ExplainInput<'a>, config: &GateConfig) -> Result<Self, String> {
        // Read the way the Worker's runtime reads it (WHATWG), then split as the Worker does.
        let parsed = AbsoluteUrl::parse(input.url)
            .map_err(|e| format!("--url must be absolute: https://host/path ({e})"))?;
        let host = parsed.authority().to_owned();
        let path = parsed.path().to_owned();
        let mut extra = HashMap::new();
        for header in input.headers {
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| format!("--header {header:?}: expected `Name: value`"))?;
            extra.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
        let authorization = input.token.map(|t| format!("Bearer {t}"));
        let cookie = match (input.cookie, &config.token_cookie) {
            (Some(t), Some(name)) => Some(format!("{name}={t}")),
            (Some(_), None) => return Err("--cookie: the configuration has no token_cookie".into()),
            _ => None,
        };
        Ok(ExplainRequest {
            method: input.method,
            url: input.url,
            host,
            path,
            authorization,
            cookie,
            extra,
        })
    }

    /// The URL's host (and port, if any).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The path as received (percent-encoded, no query).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The request as the Worker's gate sees it.
    pub fn head(&self) -> RequestHead<'_> {
        let get = |name: &str| self.extra.get(name).map(String::as_str);
        RequestHead {
            authorization: self.authorization.as_deref(),
            cookie: self.cookie.as_deref(),
            origin: get("origin"),
            referer: get("referer"),
            sec_fetch_site: get("sec-fetch-site"),
            cors_method: get("access-control-request-method"),
            cors_headers: get("access-control-request-headers"),
            ..RequestHead::simple(self.method, self.url, &self.path, &self.host)
        }
    }

    /// What the Worker would do with this request, before any cryptography.
    pub fn plan(&self, config: &GateConfig) -> Plan {
        gate::plan(config, &self.head())
    }

    /// The Worker's decision for this request, step by step; `verify` checks the token the plan chose.
    pub fn explain(
        &self,
        config: &GateConfig,
        verify: &mut dyn FnMut(&str) -> Result<VerifiedToken, VerifyError>,
    ) -> Explanation {
        gate::explain(config, &self.head(), verify)
    }
}
