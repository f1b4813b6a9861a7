//! Route authorization: which rule applies to a request (first match wins, then the default rule) and
//! whether a verified caller satisfies it. Compiled once from `EDGE_AUTH.routes` and
//! `EDGE_AUTH.default` ([`crate::GateConfig`]); evaluation allocates only for path parameters and
//! for the description of a refusal.
//!
//! - [`ClaimPath`]: `realm_access.roles`, `groups[0]`, `["https://example.com/roles"]` (quoted keys may
//!   hold dots; `:` needs no quoting: `cognito:groups`).
//! - [`Requirement`]: scopes and roles (all-of / any-of), claim [`Condition`]s, nested `any` / `all`.
//! - [`Route`]: method, host and path pattern (`/exact`, `/prefix/*`, `/tenants/{tenant}/*`), a
//!   requirement, and bindings of path parameters to claims (tenant isolation).

use core::fmt;

use serde_json::{Map, Value};

use crate::path::PathRules;

/// One step of a [`ClaimPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A path into the claims object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimPath {
    steps: Vec<Step>,
    text: String,
}

impl ClaimPath {
    /// Parses `a.b`, `a[0].b`, `["key.with.dots"].b`. Names are any characters except `.`, `[`, `]`
    /// and `"`; a quoted name escapes `"` and `\` with `\`.
    pub fn parse(text: &str) -> Result<ClaimPath, String> {
        let mut steps = Vec::new();
        let mut rest = text;
        let mut first = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("[\"") {
                let mut name = String::new();
                let mut chars = after.char_indices();
                let end = loop {
                    match chars.next() {
                        None => return Err("a quoted name is not closed with `\"]`".into()),
                        Some((_, '\\')) => match chars.next() {
                            Some((_, c @ ('"' | '\\'))) => name.push(c),
                            _ => {
                                return Err(
                                    "in a quoted name, `\\` escapes only `\"` or `\\`".into()
                                )
                            }
                        },
                        Some((i, '"')) => break i,
                        Some((_, c)) => name.push(c),
                    }
                };
                rest = after
                    .get(end..)
                    .and_then(|r| r.strip_prefix("\"]"))
                    .ok_or("a quoted name is not closed with `\"]`")?;
                steps.push(Step::Key(name));
            } else if let Some(after) = rest.strip_prefix('[') {
                let (digits, tail) = after.split_once(']').ok_or("`[` without `]`")?;
                let index = digits
                    .parse::<usize>()
                    .ok()
                    .filter(|_| digits.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or("an array index must be a non-negative integer: `[0]`")?;
                steps.push(Step::Index(index));
                rest = tail;
            } else {
                let body = if first {
                    rest
                } else {
                    rest.strip_prefix('.')
                        .ok_or("expected `.name`, `[index]` or `[\"name\"]`")?
                };
                let end = body.find(['.', '[', ']', '"']).unwrap_or(body.len());
                let (name, tail) = body.split_at(end);
                if name.is_empty() {
                    return Err("empty name (write keys with dots or quotes as `[\"key\"]`)".into());
                }
                steps.push(Step::Key(name.to_owned()));
                rest = tail;
            }
            first = false;
        }
        if steps.is_empty() {
            return Err("empty claim path".into());
        }
        Ok(ClaimPath {
            steps,
            text: text.to_owned(),
        })
    }

    /// The value at this path, if every step exists.
    pub fn lookup<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        let mut steps = self.steps.iter();
        let mut value = match steps.next()? {
            Step::Key(name) => claims.get(name)?,
            Step::Index(_) => return None,
        };
        for step in steps {
            value = match (step, value) {
                (Step::Key(name), Value::Object(map)) => map.get(name)?,
                (Step::Index(i), Value::Array(items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// The path as written in the configuration.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Where an issuer puts scopes and roles. Each listed claim may be a space-delimited string or an
/// array of strings; all of them are merged into one set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    pub scope_claims: Vec<ClaimPath>,
    pub role_claims: Vec<ClaimPath>,
}

impl Default for ClaimMapping {
    /// `scope` (RFC 8693 §4.2) and `scp` for scopes; `roles` (RFC 9068 §7.2.1.1) for roles.
    fn default() -> Self {
        let path = |p: &str| ClaimPath {
            steps: vec![Step::Key(p.to_owned())],
            text: p.to_owned(),
        };
        ClaimMapping {
            scope_claims: vec![path("scope"), path("scp")],
            role_claims: vec![path("roles")],
        }
    }
}

impl ClaimMapping {
    pub(crate) fn scopes(&self, claims: &Map<String, Value>) -> Vec<String> {
        collect(&self.scope_claims, claims)
    }
    pub(crate) fn roles(&self, claims: &Map<String, Value>) -> Vec<String> {
        collect(&self.role_claims, claims)
    }
}

/// Strings at the given paths, split on spaces, in first-seen order without duplicates.
fn collect(paths: &[ClaimPath], claims: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |item: &str| {
        for word in item.split(' ').filter(|w| !w.is_empty()) {
            if !out.iter().any(|seen| seen == word) {
                out.push(word.to_owned());
            }
        }
    };
    for path in paths {
        match path.lookup(claims) {
            Some(Value::String(s)) => add(s),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(&mut add),
            _ => {}
        }
    }
    out
}

/// A condition on one claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The claim equals this JSON value exactly (no type coercion).
    Equals(Value),
    /// The claim equals one of these values.
    OneOf(Vec<Value>),
    /// The claim is an array with an element equal to this value, or a string with this value as one of
    /// its space-delimited words (never a substring match).
    Contains(Value),
    /// The claim is a string starting with this.
    Prefix(String),
    /// The claim is present (`true`) or absent (`false`).
    Exists(bool),
}

impl Condition {
    fn holds(&self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Condition::Exists(wanted), v) => v.is_some() == *wanted,
            (_, None) => false,
            (Condition::Equals(expected), Some(v)) => v == expected,
            (Condition::OneOf(options), Some(v)) => options.contains(v),
            (Condition::Contains(item), Some(Value::Array(items))) => items.contains(item),
            (Condition::Contains(Value::String(word)), Some(Value::String(s))) => {
                s.split(' ').any(|w| w == word)
            }
            (Condition::Contains(_), Some(_)) => false,
            (Condition::Prefix(prefix), Some(Value::String(s))) => s.starts_with(prefix.as_str()),
            (Condition::Prefix(_), Some(_)) => false,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Equals(v) => write!(f, "equals {v}"),
            Condition::OneOf(vs) => write!(f, "one of {}", Value::Array(vs.clone())),
            Condition::Contains(v) => write!(f, "contains {v}"),
            Condition::Prefix(p) => write!(f, "starts with {}", Value::String(p.clone())),
            Condition::Exists(true) => f.write_str("exists"),
            Condition::Exists(false) => f.write_str("is absent"),
        }
    }
}

/// A condition on the claim at `path`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRule {
    pub path: ClaimPath,
    pub condition: Condition,
}

/// A set of strings the caller must hold: all of `all`, and at least one of `any` when it is not empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeedSet {
    pub all: Vec<String>,
    pub any: Vec<String>,
}

impl NeedSet {
    fn is_empty(&self) -> bool {
        self.all.is_empty() && self.any.is_empty()
    }

    fn holds(&self, held: &[String]) -> bool {
        let has = |s: &String| held.contains(s);
        self.all.iter().all(has) && (self.any.is_empty() || self.any.iter().any(has))
    }
}

/// What a caller must satisfy: every listed part (an empty requirement is satisfied by any verified
/// caller).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Requirement {
    pub scopes: NeedSet,
    pub roles: NeedSet,
    pub claims: Vec<ClaimRule>,
    /// At least one of these (when not empty).
    pub any: Vec<Requirement>,
    /// All of these.
    pub all: Vec<Requirement>,
}

/// The first unmet part of a requirement, for the refusal (names the requirement, never token content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmet {
    Scopes {
        all: Vec<String>,
        any: Vec<String>,
    },
    Roles {
        all: Vec<String>,
        any: Vec<String>,
    },
    Claim {
        path: String,
        condition: String,
    },
    /// A path parameter bound to a claim did not match it.
    Binding {
        param: String,
        claim: String,
    },
    /// None of the alternatives of an `any` held; the first alternative's reason.
    NoAlternative(Box<Unmet>),
}

impl Unmet {
    /// The stable problem code.
    pub fn code(&self) -> &'static str {
        match self {
            Unmet::Scopes { .. } => "insufficient_scope",
            Unmet::Roles { .. } => "role_missing",
            Unmet::Claim { .. } => "claim_mismatch",
            Unmet::Binding { .. } => "binding_refused",
            Unmet::NoAlternative(first) => first.code(),
        }
    }

    /// The scopes that would satisfy the requirement, for `WWW-Authenticate: … scope="…"`.
    pub fn needed_scopes(&self) -> Option<String> {
        match self {
            Unmet::Scopes { all, any } => {
                let mut needed: Vec<&str> = all.iter().map(String::as_str).collect();
                needed.extend(any.iter().map(String::as_str));
                Some(needed.join(" "))
            }
            Unmet::NoAlternative(first) => first.needed_scopes(),
            _ => None,
        }
    }
}

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn set(
            f: &mut fmt::Formatter<'_>,
            what: &str,
            all: &[String],
            any: &[String],
        ) -> fmt::Result {
            let mut parts = Vec::new();
            if !all.is_empty() {
                parts.push(format!("all of [{}]", all.join(", ")));
            }
            if !any.is_empty() {
                parts.push(format!("one of [{}]", any.join(", ")));
            }
            write!(f, "{what}: {}", parts.join(" and "))
        }
        match self {
            Unmet::Scopes { all, any } => set(f, "requires scopes", all, any),
            Unmet::Roles { all, any } => set(f, "requires roles", all, any),
            Unmet::Claim { path, condition } => write!(f, "requires claim {path} {condition}"),
            Unmet::Binding { param, claim } => {
                write!(
                    f,
                    "requires claim {claim} to match the path parameter {{{param}}}"
                )
            }
            Unmet::NoAlternative(first) => write!(f, "no alternative holds; the first {first}"),
        }
    }
}

/// What [`Requirement::check`] needs from a verified caller.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub scopes: &'a [String],
    pub roles: &'a [String],
    pub claims: &'a Map<String, Value>,
}

/// One step of an explanation: a part of a requirement and whether it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainStep {
    pub depth: usize,
    pub text: String,
    pub held: bool,
}

impl Requirement {
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
            && self.roles.is_empty()
            && self.claims.is_empty()
            && self.any.is_empty()
            && self.all.is_empty()
    }

    /// Checks the caller; the first unmet part on failure.
    pub fn check(&self, caller: &Caller<'_>) -> Result<(), Unmet> {
        self.walk(caller, 0, &mut |_| {})
    }

    /// Like [`check`](Self::check), reporting every part evaluated, in order (for `edge-auth explain`).
    pub fn explain(&self, caller: &Caller<'_>, out: &mut Vec<ExplainStep>) -> Result<(), Unmet> {
        self.walk(caller, 0, &mut |step| out.push(step))
    }

    fn walk(
        &self,
        caller: &Caller<'_>,
        depth: usize,
        report: &mut dyn FnMut(ExplainStep),
    ) -> Result<(), Unmet> {
        type Make = fn(Vec<String>, Vec<String>) -> Unmet;
        let sets: [(&NeedSet, &[String], Make); 2] = [
            (&self.scopes, caller.scopes, |all, any| Unmet::Scopes {
                all,
                any,
            }),
            (&self.roles, caller.roles, |all, any| Unmet::Roles {
                all,
                any,
            }),
        ];
        for (need, held_by_caller, make) in sets {
            if need.is_empty() {
                continue;
            }
            let held = need.holds(held_by_caller);
            step(
                report,
                depth,
                held,
                make(need.all.clone(), need.any.clone()),
            )?;
        }
        for rule in &self.claims {
            let held = rule.condition.holds(rule.path.lookup(caller.claims));
            step(
                report,
                depth,
                held,
                Unmet::Claim {
                    path: rule.path.to_string(),
                    condition: rule.condition.to_string(),
                },
            )?;
        }
        for part in &self.all {
            report(ExplainStep {
                depth,
                text: "all of:".into(),
                held: true,
            });
            part.walk(caller, depth + 1, report)?;
        }
        if !self.any.is_empty() {
            report(ExplainStep {
                depth,
                text: "any of:".into(),
                held: true,
            });
            let mut first = None;
            for alternative in &self.any {
                match alternative.walk(caller, depth + 1, report) {
                    Ok(()) => return Ok(()),
                    Err(unmet) => {
                        first.get_or_insert(unmet);
                    }
                }
            }
            if let Some(first) = first {
                return Err(Unmet::NoAlternative(Box::new(first)));
            }
        }
        Ok(())
    }
}

/// Reports one evaluated part of a requirement; its description is the refusal when it did not hold.
fn step(
    report: &mut dyn FnMut(ExplainStep),
    depth: usize,
    held: bool,
    unmet: Unmet,
) -> Result<(), Unmet> {
    report(ExplainStep {
        depth,
        text: unmet.to_string(),
        held,
    });
    if held {
        Ok(())
    } else {
        Err(unmet)
    }
}

/// What a route requires of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Forwarded without a token (spoofed assertion headers are still stripped).
    None,
    /// A token is verified when present (a bad token is refused); without one, forwarded anonymously.
    Optional,
    /// A valid token is required.
    Required,
}

/// One segment of a path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}`: one non-empty segment, captured.
    Param(String),
    /// `*` in the middle: one non-empty segment.
    Any,
}

/// A path pattern: segments, then either the end of the path or a final glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    segments: Vec<Segment>,
    /// `Some(prefix)` for a final `prefix*` segment: the rest of the path (any depth) starts with it.
    glob: Option<String>,
    text: String,
}

impl PathPattern {
    /// Parses a pattern. Literal segments are normalized like request paths, so `/%61dmin` in a rule is
    /// `/admin`. A trailing `/` is insignificant (`/a/b/` is `/a/b`).
    pub fn parse(text: &str) -> Result<PathPattern, String> {
        let body = text.strip_prefix('/').ok_or("must start with `/`")?;
        if body.starts_with('/') || body.contains("//") {
            return Err("an empty segment (`//`) never matches a normalized path".into());
        }
        let body = body.strip_suffix('/').unwrap_or(body);
        let mut parts: Vec<&str> = if body.is_empty() {
            Vec::new()
        } else {
            body.split('/').collect()
        };
        let last = parts.pop();
        let mut segments = Vec::new();
        for part in parts {
            segments.push(segment(part)?);
        }
        let glob = match last.map(|last| (last, last.strip_suffix('*'))) {
            None => None,
            Some((_, Some(prefix))) => {
                if prefix.contains(['*', '{', '}']) {
                    return Err("a final glob is `*` or `text*`".into());
                }
                Some(prefix.to_owned())
            }
            Some((last, None)) => {
                segments.push(segment(last)?);
                None
            }
        };
        Ok(PathPattern {
            segments,
            glob,
            text: text.to_owned(),
        })
    }

    /// `/*`: every path.
    pub fn any() -> PathPattern {
        PathPattern {
            segments: Vec::new(),
            glob: Some(String::new()),
            text: "/*".to_owned(),
        }
    }

    /// Matches a normalized path (ignoring ASCII case when `case_insensitive`); the captured
    /// parameters on success.
    ///
    /// A trailing `/` is insignificant, and `/prefix/*` also matches `/prefix` itself: Express, Flask
    /// and FastAPI serve (or redirect) `/admin`, `/admin/` and what `/admin/*` names with the handlers
    /// of one mount, so the rule written for `/admin/*` must guard all of them.
    pub fn matches(&self, path: &str, case_insensitive: bool) -> Option<Vec<(String, String)>> {
        let same = |a: &str, b: &str| {
            if case_insensitive {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        let body = path.strip_prefix('/')?;
        let body = body.strip_suffix('/').unwrap_or(body);
        // The segments not matched yet (`None`: the path ended).
        let mut rest = (!body.is_empty()).then_some(body);
        let mut params = Vec::new();
        for expected in &self.segments {
            let (segment, tail) = match rest?.split_once('/') {
                Some((segment, tail)) => (segment, Some(tail)),
                None => (rest?, None),
            };
            if segment.is_empty() {
                return None;
            }
            match expected {
                Segment::Literal(literal) => {
                    if !same(segment, literal) {
                        return None;
                    }
                }
                Segment::Param(name) => params.push((name.clone(), segment.to_owned())),
                Segment::Any => {}
            }
            rest = tail;
        }
        match (&self.glob, rest) {
            (None, None) => Some(params),
            (None, Some(_)) => None,
            // `/prefix/*` guards `/prefix` too; `/api*` needs a segment that starts with `api`.
            (Some(prefix), None) => prefix.is_empty().then_some(params),
            (Some(prefix), Some(rest)) => rest
                .get(..prefix.len())
                .is_some_and(|head| same(head, prefix))
                .then_some(params),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn segment(part: &str) -> Result<Segment, String> {
    if part == "*" {
        return Ok(Segment::Any);
    }
    if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "{part:?}: a parameter is `{{name}}` with letters, digits or `_`"
            ));
        }
        return Ok(Segment::Param(name.to_owned()));
    }
    if part.contains(['*', '{', '}']) {
        return Err(format!(
            "{part:?}: `*` is a whole segment or the end of the pattern; `{{name}}` a whole segment"
        ));
    }
    if part == "." || part == ".." {
        return Err(format!(
            "{part:?}: `.` and `..` segments are not allowed in a pattern"
        ));
    }
    let normalized = crate::path::normalize(&format!("/{part}")).map_err(|e| match e {
        crate::path::PathError::PathParameter => format!(
            "{part:?}: a pattern never holds `;` (with paths.allow_matrix_parameters, parameters \
             are ignored when matching)"
        ),
        e => format!("{part:?}: {e}"),
    })?;
    Ok(Segment::Literal(
        normalized.strip_prefix('/').unwrap_or_default().to_owned(),
    ))
}

/// A host pattern: exact (`api.example.com`) or a wildcard for subdomains (`*.example.com`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    Subdomains(String),
}

impl HostPattern {
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let lower = text.to_ascii_lowercase();
        let valid = |h: &str| {
            !h.is_empty()
                && h.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        };
        match lower.strip_prefix("*.") {
            Some(base) if valid(base) => Ok(HostPattern::Subdomains(format!(".{base}"))),
            None if valid(&lower) => Ok(HostPattern::Exact(lower)),
            _ => Err("a host name (`api.example.com`) or `*.example.com`, without port".into()),
        }
    }

    /// Matches a request host (any case; a port is ignored).
    pub fn matches(&self, host: &str) -> bool {
        let host = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        match self {
            HostPattern::Exact(name) => host.eq_ignore_ascii_case(name),
            HostPattern::Subdomains(suffix) => {
                host.len() > suffix.len()
                    && host
                        .get(host.len() - suffix.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
            }
        }
    }
}

/// A path parameter that must equal a claim (a string equal to it, or an array containing it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamBinding {
    pub param: String,
    pub claim: ClaimPath,
}

/// One compiled route rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub path: PathPattern,
    pub methods: Option<Vec<String>>,
    pub host: Option<HostPattern>,
    pub auth: Auth,
    /// Issuers accepted on this route (`None`: every configured issuer).
    pub issuers: Option<Vec<String>>,
    pub requirement: Requirement,
    pub bindings: Vec<ParamBinding>,
    /// The rule's position in `routes`; `None` for the default rule.
    pub index: Option<usize>,
}

/// A route chosen for a request, with its captured path parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched<'a> {
    pub route: &'a Route,
    pub params: Vec<(String, String)>,
}

/// Why a verified caller is refused by a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The token's issuer is not among the route's `issuers` (an authentication failure: 401).
    IssuerNotAllowed,
    /// Authenticated, but a requirement is unmet (403).
    Unmet(Unmet),
}

impl Route {
    fn matches(
        &self,
        method: &str,
        host: &str,
        path: &str,
        case_insensitive: bool,
    ) -> Option<Vec<(String, String)>> {
        if let Some(methods) = &self.methods {
            if !methods.iter().any(|m| m == method) {
                return None;
            }
        }
        if let Some(pattern) = &self.host {
            if !pattern.matches(host) {
                return None;
            }
        }
        self.path.matches(path, case_insensitive)
    }

    /// Whether the caller may pass: issuer, then bindings, then the requirement.
    pub fn authorize(
        &self,
        issuer: Option<&str>,
        caller: &Caller<'_>,
        params: &[(String, String)],
    ) -> Result<(), Denial> {
        if let Some(allowed) = &self.issuers {
            if !issuer.is_some_and(|iss| allowed.iter().any(|a| a == iss)) {
                return Err(Denial::IssuerNotAllowed);
            }
        }
        for binding in &self.bindings {
            let value = params
                .iter()
                .find(|(name, _)| *name == binding.param)
                .map(|(_, v)| v.as_str());
            if !value.is_some_and(|v| binding_holds(binding.claim.lookup(caller.claims), v)) {
                return Err(Denial::Unmet(Unmet::Binding {
                    param: binding.param.clone(),
                    claim: binding.claim.to_string(),
                }));
            }
        }
        self.requirement.check(caller).map_err(Denial::Unmet)
    }
}

/// A path parameter arrives percent-encoded when it is not unreserved text; the claim is compared with
/// the decoded parameter.
fn binding_holds(claim: Option<&Value>, param: &str) -> bool {
    let Some(decoded) = percent_decode(param) else {
        return false;
    };
    match claim {
        Some(Value::String(s)) => *s == decoded,
        Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(decoded.as_str())),
        _ => false,
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = char::from(bytes.next()?).to_digit(16)?;
            let lo = char::from(bytes.next()?).to_digit(16)?;
            out.push(u8::try_from(hi << 4 | lo).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// The compiled route rules: first match wins, then the default rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteTable {
    pub routes: Vec<Route>,
    pub default: Route,
    /// How request paths are normalized and matched.
    pub paths: PathRules,
}

impl RouteTable {
    /// The rule for a request (method upper-case as sent; host as sent; `path` normalized).
    pub fn route(&self, method: &str, host: &str, path: &str) -> Matched<'_> {
        for route in &self.routes {
            if let Some(params) = route.matches(method, host, path, self.paths.case_insensitive) {
                return Matched { route, params };
            }
        }
        Matched {
            route: &self.default,
            params: Vec::new(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claim_paths() {
        let claims = json!({
            "realm_access": {"roles": ["admin", "user"]},
            "https://example.com/roles": ["editor"],
            "cognito:groups": ["g1"],
            "a": {"b.c": {"d": 1}},
            "q\"uote": 2,
        });
        let claims = claims.as_object().unwrap();
        let check = |path: &str, expected: Option<Value>| {
            let parsed = ClaimPath::parse(path).unwrap();
            assert_eq!(parsed.lookup(claims).cloned(), expected, "{path}");
        };
        check("realm_access.roles", Some(json!(["admin", "user"])));
        check("realm_access.roles[1]", Some(json!("user")));
        check("realm_access.roles[2]", None);
        check("[\"https://example.com/roles\"]", Some(json!(["editor"])));
        check("[\"https://example.com/roles\"][0]", Some(json!("editor")));
        check("cognito:groups", Some(json!(["g1"])));
        check("a[\"b.c\"].d", Some(json!(1)));
        check("[\"q\\\"uote\"]", Some(json!(2)));
        check("missing.x", None);
        for bad in [
            "", ".a", "a.", "a..b", "a[", "a[x]", "a[-1]", "[\"a", "a]", "a\"b",
        ] {
            assert!(ClaimPath::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn path_patterns() {
        let check = |pattern: &str, path: &str, expected: Option<Vec<(&str, &str)>>| {
            let p = PathPattern::parse(pattern).unwrap();
            let expected = expected.map(|v| {
                v.into_iter()
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .collect::<Vec<_>>()
            });
            assert_eq!(p.matches(path, false), expected, "{pattern} vs {path}");
            // Ignoring case never loses a match.
            if expected.is_some() {
                assert_eq!(
                    p.matches(path, true),
                    expected,
                    "{pattern} vs {path} (any case)"
                );
            }
        };
        check("/a/b", "/a/b", Some(vec![]));
        // A trailing `/` is insignificant, in the path and in the pattern.
        check("/a/b", "/a/b/", Some(vec![]));
        check("/a/b/", "/a/b", Some(vec![]));
        check("/a/b", "/a/bc", None);
        check("/a/b", "/a", None);
        check("/a/b", "/a/b/c", None);
        check("/a/b/", "/a/b/", Some(vec![]));
        check("/public/*", "/public/", Some(vec![]));
        check("/public/*", "/public/x/y", Some(vec![]));
        // `/prefix/*` guards `/prefix` itself (one handler serves both in common frameworks).
        check("/public/*", "/public", Some(vec![]));
        check("/public/*", "/publicity", None);
        check("/public/*", "/", None);
        check("/api*", "/api", Some(vec![]));
        check("/api*", "/api2/x", Some(vec![]));
        check("/api*", "/ap", None);
        check("/x/api*", "/x", None);
        check("/*", "/", Some(vec![]));
        check("/*", "/anything/at/all", Some(vec![]));
        check("/", "/", Some(vec![]));
        check("/", "/a", None);
        check(
            "/t/{tenant}/*",
            "/t/acme/orders",
            Some(vec![("tenant", "acme")]),
        );
        check("/t/{tenant}/*", "/t/acme", Some(vec![("tenant", "acme")]));
        check("/t/{tenant}/*", "/t/", None);
        check("/t/{tenant}", "/t/acme", Some(vec![("tenant", "acme")]));
        check("/t/{tenant}", "/t/acme/", Some(vec![("tenant", "acme")]));
        check("/t/{tenant}", "/t/", None);
        check("/t/*/x", "/t/a/x", Some(vec![]));
        check("/t/*/x", "/t//x", None);
        check("/%61dmin/*", "/admin/x", Some(vec![]));
        for bad in [
            "a", "/a*b/c", "/{x", "/{}/a", "/a/{b-c}", "/a/../b", "/a/./b", "/a%2fb", "//a",
            "/a//b", "/a/b//", "/a;b", "/a%3Bb",
        ] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn case_insensitive_matching_is_opt_in() {
        let admin = PathPattern::parse("/admin/*").unwrap();
        assert_eq!(admin.matches("/ADMIN/x", false), None);
        assert_eq!(admin.matches("/ADMIN/x", true), Some(vec![]));
        assert_eq!(admin.matches("/Admin", true), Some(vec![]));
        let glob = PathPattern::parse("/API*").unwrap();
        assert_eq!(glob.matches("/api2", true), Some(vec![]));
        assert_eq!(glob.matches("/api2", false), None);
        // Parameters are captured as sent.
        let param = PathPattern::parse("/t/{id}").unwrap();
        assert_eq!(
            param.matches("/T/AbC", true),
            Some(vec![("id".to_owned(), "AbC".to_owned())])
        );
    }

    #[test]
    fn hosts() {
        let exact = HostPattern::parse("API.example.com").unwrap();
        assert!(exact.matches("api.example.com"));
        assert!(exact.matches("api.EXAMPLE.com:8443"));
        assert!(!exact.matches("xapi.example.com"));
        let sub = HostPattern::parse("*.example.com").unwrap();
        assert!(sub.matches("a.example.com"));
        assert!(sub.matches("a.b.example.com:443"));
        assert!(!sub.matches("example.com"));
        assert!(!sub.matches("evilexample.com"));
        for bad in ["", "*", "a..b", "a.com:80", "*.", "a/b"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn conditions() {
        let c = |cond: Condition, v: Option<Value>| cond.holds(v.as_ref());
        assert!(c(Condition::Equals(json!(true)), Some(json!(true))));
        assert!(!c(Condition::Equals(json!("1")), Some(json!(1))));
        assert!(c(
            Condition::OneOf(vec![json!("a"), json!("b")]),
            Some(json!("b"))
        ));
        assert!(c(Condition::Contains(json!("x")), Some(json!(["y", "x"]))));
        assert!(c(Condition::Contains(json!("x")), Some(json!("y x"))));
        assert!(!c(Condition::Contains(json!("x")), Some(json!("xy"))));
        assert!(c(Condition::Prefix("ab".into()), Some(json!("abc"))));
        assert!(!c(Condition::Prefix("ab".into()), Some(json!(["abc"]))));
        assert!(c(Condition::Exists(true), Some(json!(null))));
        assert!(c(Condition::Exists(false), None));
        assert!(!c(Condition::Equals(json!(null)), None));
    }
}
