//! A decision, step by step, as data: the normalized path, the route and its parameters, the token's
//! verification, the caller's scopes and roles, each requirement part, and the answer. `edge-auth
//! explain` prints it; the JS package returns it. It is computed by the same [`plan`] and
//! [`authorize`] the Worker runs, so it cannot tell a different story.

use edge_auth_core::{
    normalize_with, Auth, Caller, ExplainStep, GateConfig, Route, VerifiedToken, VerifyError,
};
use serde::Serialize;
use serde_json::Value;

use crate::extract::extract_token;
use crate::refusal::Refusal;
use crate::request::{authorize, plan, Plan, RequestHead};

/// Everything `explain` found, in the order the Worker decides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub method: String,
    pub url: String,
    /// The path as received.
    pub path: String,
    /// The normal form the origin receives (`None`: the path has no single meaning).
    pub normalized: Option<String>,
    /// What routes match, when it differs from `normalized` (`;` parameters allowed and present).
    pub matched_path: Option<String>,
    /// Why the path was refused.
    pub path_error: Option<String>,
    /// The rule the request matched (`None` when the path was refused).
    pub route: Option<ExplainedRoute>,
    /// Path parameters the route captured.
    pub params: Vec<(String, String)>,
    /// The token and its verification, when the plan verified one.
    pub token: Option<ExplainedToken>,
    /// Each requirement part evaluated, in order (for a verified caller).
    pub requirement: Vec<ExplainedStep>,
    pub decision: ExplainedDecision,
}

/// A route rule as configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainedRoute {
    /// The rule's position in `routes` (`None`: the default rule).
    pub index: Option<usize>,
    pub pattern: String,
    pub methods: Option<Vec<String>>,
    /// `none`, `optional` or `required`.
    pub auth: &'static str,
    pub issuers: Option<Vec<String>>,
}

impl ExplainedRoute {
    fn of(route: &Route) -> ExplainedRoute {
        ExplainedRoute {
            index: route.index,
            pattern: match route.index {
                Some(_) => route.path.as_str().to_owned(),
                None => "(default rule)".to_owned(),
            },
            methods: route.methods.clone(),
            auth: match route.auth {
                Auth::None => "none",
                Auth::Optional => "optional",
                Auth::Required => "required",
            },
            issuers: route.issuers.clone(),
        }
    }

    /// One line: `routes[2] /orders/* methods GET,HEAD (auth required) issuers [...]`.
    pub fn describe(&self) -> String {
        let mut out = match self.index {
            Some(i) => format!("routes[{i}] {}", self.pattern),
            None => "default rule (no route matched)".to_owned(),
        };
        if let Some(methods) = &self.methods {
            out.push_str(&format!(" methods {}", methods.join(",")));
        }
        out.push_str(&format!(" (auth {})", self.auth));
        if let Some(issuers) = &self.issuers {
            out.push_str(&format!(" issuers [{}]", issuers.join(", ")));
        }
        out
    }
}

/// The token the plan verified, and what verification said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainedToken {
    /// `header` (`Authorization: Bearer`) or `cookie`.
    pub source: &'static str,
    /// `ok`, or the stable refusal code.
    pub code: &'static str,
    /// The refusal's description (may quote the token's `kid` or a claim name: for the operator only).
    pub error: Option<String>,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub algorithm: Option<String>,
    pub key_id: Option<String>,
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
    /// Path parameters bound to claims: (parameter, claim path, the claim's value if present).
    pub bindings: Vec<(String, String, Option<Value>)>,
}

/// One evaluated requirement part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainedStep {
    pub depth: usize,
    pub text: String,
    /// `all of:` / `any of:` headings hold by themselves.
    pub held: bool,
}

impl From<ExplainStep> for ExplainedStep {
    fn from(step: ExplainStep) -> ExplainedStep {
        ExplainedStep {
            depth: step.depth,
            text: step.text,
            held: step.held,
        }
    }
}

/// What the Worker answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExplainedDecision {
    ServeJwks,
    ServeStatus,
    /// Answered by one of the edge's own endpoints (`backchannel_logout`, `revoke`), never forwarded;
    /// what it answers depends on the request's body and the revocation state.
    EdgeEndpoint {
        endpoint: String,
    },
    /// A CORS preflight answered at the edge: `204` with these headers.
    Preflight {
        headers: Vec<(String, String)>,
    },
    /// Forwarded to the origin at `path`, with a signed assertion when `verified`.
    Forward {
        path: String,
        verified: bool,
    },
    Refuse {
        status: u16,
        code: &'static str,
        www_authenticate: Option<String>,
        /// The `application/problem+json` body.
        body: String,
    },
}

impl ExplainedDecision {
    fn refuse(refusal: &Refusal, realm: &str) -> ExplainedDecision {
        let http = refusal.to_http(realm);
        ExplainedDecision::Refuse {
            status: http.status,
            code: http.code,
            www_authenticate: http.www_authenticate,
            body: http.body,
        }
    }

    /// The HTTP status the Worker answers with (`200` for a forward: the origin's own status then).
    pub fn status(&self) -> u16 {
        match self {
            ExplainedDecision::ServeJwks
            | ExplainedDecision::ServeStatus
            | ExplainedDecision::EdgeEndpoint { .. }
            | ExplainedDecision::Forward { .. } => 200,
            ExplainedDecision::Preflight { .. } => 204,
            ExplainedDecision::Refuse { status, .. } => *status,
        }
    }

    /// `forward` for forwarded requests, the refusal code, or what the edge serves itself.
    pub fn code(&self) -> &'static str {
        match self {
            ExplainedDecision::ServeJwks => "jwks",
            ExplainedDecision::ServeStatus => "status",
            ExplainedDecision::EdgeEndpoint { .. } => "edge_endpoint",
            ExplainedDecision::Preflight { .. } => "preflight",
            ExplainedDecision::Forward { .. } => "forward",
            ExplainedDecision::Refuse { code, .. } => code,
        }
    }
}

/// Explains what the Worker does with `request`. `verify` is asked at most once, for the token the plan
/// chose: the CLI verifies with the core's Rust backends; the JS package verifies first (with
/// WebCrypto, asynchronously) and hands the outcome in.
pub fn explain(
    config: &GateConfig,
    request: &RequestHead<'_>,
    verify: &mut dyn FnMut(&str) -> Result<VerifiedToken, VerifyError>,
) -> Explanation {
    let normal = normalize_with(request.path, &config.routes.paths);
    let matched = normal.as_ref().ok().map(|p| {
        config
            .routes
            .route(request.method, request.host, p.matched())
    });
    let mut explanation = Explanation {
        method: request.method.to_owned(),
        url: request.url.to_owned(),
        path: request.path.to_owned(),
        normalized: normal.as_ref().ok().map(|p| p.forwarded().to_owned()),
        matched_path: normal
            .as_ref()
            .ok()
            .filter(|p| p.matched() != p.forwarded())
            .map(|p| p.matched().to_owned()),
        path_error: normal.as_ref().err().map(ToString::to_string),
        route: matched.as_ref().map(|m| ExplainedRoute::of(m.route)),
        params: matched
            .as_ref()
            .map(|m| m.params.clone())
            .unwrap_or_default(),
        token: None,
        requirement: Vec::new(),
        decision: ExplainedDecision::ServeJwks,
    };
    explanation.decision = match plan(config, request) {
        Plan::ServeJwks => ExplainedDecision::ServeJwks,
        Plan::ServeStatus => ExplainedDecision::ServeStatus,
        Plan::BackchannelLogout => ExplainedDecision::EdgeEndpoint {
            endpoint: "backchannel_logout".into(),
        },
        Plan::Revoke { .. } => ExplainedDecision::EdgeEndpoint {
            endpoint: "revoke".into(),
        },
        Plan::Preflight(headers) => ExplainedDecision::Preflight {
            headers: headers
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
        },
        Plan::Refuse(refusal) => ExplainedDecision::refuse(&refusal, &config.realm),
        Plan::ForwardAnonymous { path, .. } => ExplainedDecision::Forward {
            path,
            verified: false,
        },
        Plan::Verify {
            token,
            route,
            params,
            path,
        } => {
            let from_cookie = extract_token(
                request.authorization,
                request.cookie,
                config.token_cookie.as_deref(),
            )
            .ok()
            .flatten()
            .is_some_and(|e| e.from_cookie);
            let source = if from_cookie { "cookie" } else { "header" };
            match verify(&token) {
                Err(error) => {
                    explanation.token = Some(ExplainedToken {
                        source,
                        code: error.code(),
                        error: Some(error.to_string()),
                        issuer: None,
                        subject: None,
                        algorithm: None,
                        key_id: None,
                        scopes: Vec::new(),
                        roles: Vec::new(),
                        bindings: Vec::new(),
                    });
                    ExplainedDecision::refuse(&Refusal::Token(error), &config.realm)
                }
                Ok(verified) => {
                    let bindings = matched
                        .as_ref()
                        .map(|m| {
                            m.route
                                .bindings
                                .iter()
                                .map(|b| {
                                    (
                                        b.param.clone(),
                                        b.claim.to_string(),
                                        b.claim.lookup(verified.claims()).cloned(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let registered = verified.registered();
                    explanation.token = Some(ExplainedToken {
                        source,
                        code: "ok",
                        error: None,
                        issuer: registered.iss.clone(),
                        subject: registered.sub.clone(),
                        algorithm: Some(verified.algorithm().to_string()),
                        key_id: verified.key_id().map(str::to_owned),
                        scopes: verified.scopes().to_vec(),
                        roles: verified.roles().to_vec(),
                        bindings,
                    });
                    if let Some(m) = &matched {
                        let caller = Caller {
                            scopes: verified.scopes(),
                            roles: verified.roles(),
                            claims: verified.claims(),
                        };
                        let mut steps = Vec::new();
                        // The refusal itself comes from `authorize` below; these are the steps.
                        let _unmet = m.route.requirement.explain(&caller, &mut steps);
                        explanation.requirement = steps.into_iter().map(Into::into).collect();
                    }
                    match authorize(config, route, &params, &verified) {
                        Ok(()) => ExplainedDecision::Forward {
                            path,
                            verified: true,
                        },
                        Err(refusal) => ExplainedDecision::refuse(&refusal, &config.realm),
                    }
                }
            }
        }
    };
    explanation
}
