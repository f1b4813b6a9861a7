//! Browser-facing request rules decided at the edge: CORS preflights (answered without reaching the
//! origin) and CSRF protection for state-changing requests that carry a cookie token.

use crate::absolute_url::AbsoluteUrl;

/// The compiled `cors` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsPolicy {
    /// Exact origins (`https://app.example.com`), lower-case; `None` = any origin (`"*"`).
    pub allowed_origins: Option<Vec<String>>,
    /// Upper-case methods.
    pub allowed_methods: Vec<String>,
    /// Lower-case header names.
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: u64,
    pub allow_credentials: bool,
}

/// What a preflight asked.
#[derive(Debug, Clone, Copy)]
pub struct Preflight<'a> {
    pub origin: &'a str,
    pub method: &'a str,
    /// `Access-Control-Request-Headers`, comma-separated, if sent.
    pub headers: Option<&'a str>,
}

/// Why a preflight is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsRefusal {
    Origin,
    Method,
    Header(String),
}

impl CorsPolicy {
    /// Whether `origin` may read responses.
    pub fn allows_origin(&self, origin: &str) -> bool {
        match &self.allowed_origins {
            None => true,
            Some(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }

    /// The response headers for an actual (non-preflight) request from `origin`, when allowed.
    pub fn response_headers(&self, origin: Option<&str>) -> Vec<(&'static str, String)> {
        let mut out = vec![("vary", "Origin".to_owned())];
        let Some(origin) = origin.filter(|o| self.allows_origin(o)) else {
            return out;
        };
        out.push(("access-control-allow-origin", self.echo(origin)));
        if self.allow_credentials {
            out.push(("access-control-allow-credentials", "true".into()));
        }
        if !self.expose_headers.is_empty() {
            out.push((
                "access-control-expose-headers",
                self.expose_headers.join(", "),
            ));
        }
        out
    }

    fn echo(&self, origin: &str) -> String {
        // With credentials the origin is always echoed (`*` is not allowed then, and config refuses it).
        if self.allowed_origins.is_none() && !self.allow_credentials {
            "*".into()
        } else {
            origin.to_owned()
        }
    }

    /// Answers a preflight: the headers of a `204`, or why it is refused.
    pub fn preflight(
        &self,
        request: &Preflight<'_>,
    ) -> Result<Vec<(&'static str, String)>, CorsRefusal> {
        if !self.allows_origin(request.origin) {
            return Err(CorsRefusal::Origin);
        }
        let method = request.method;
        // CORS-safelisted methods need no listing (Fetch §2.2.1), but only when the list allows them.
        if !self.allowed_methods.iter().any(|m| m == method) {
            return Err(CorsRefusal::Method);
        }
        let mut requested = Vec::new();
        for name in request.headers.unwrap_or("").split(',') {
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            if !self.allowed_headers.contains(&name) {
                return Err(CorsRefusal::Header(name));
            }
            requested.push(name);
        }
        let mut out = vec![
            (
                "vary",
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers".to_owned(),
            ),
            ("access-control-allow-origin", self.echo(request.origin)),
            (
                "access-control-allow-methods",
                self.allowed_methods.join(", "),
            ),
            ("access-control-max-age", self.max_age_seconds.to_string()),
        ];
        if !requested.is_empty() {
            out.push(("access-control-allow-headers", requested.join(", ")));
        }
        if self.allow_credentials {
            out.push(("access-control-allow-credentials", "true".into()));
        }
        Ok(out)
    }
}

/// The compiled `csrf` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsrfPolicy {
    /// Origins allowed besides the request's own, lower-case.
    pub allowed_origins: Vec<String>,
    /// Check every state-changing request, not only those carrying a cookie token.
    pub all_requests: bool,
}

/// The request facts CSRF looks at.
#[derive(Debug, Clone, Copy)]
pub struct CsrfFacts<'a> {
    pub method: &'a str,
    /// The request's own origin (`https://api.example.com`), lower-case.
    pub own_origin: &'a str,
    pub origin: Option<&'a str>,
    pub referer: Option<&'a str>,
    pub sec_fetch_site: Option<&'a str>,
    /// The token came from the cookie.
    pub cookie_token: bool,
}

/// Why a request was refused as a possible cross-site request forgery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfRefusal {
    CrossSite,
    OriginNotAllowed,
    NoOrigin,
}

/// Methods that must not change state (RFC 9110 §9.2.1), and so need no CSRF check.
pub fn is_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// `scheme://host[:port]` of an absolute http(s) URL, lower-case, the default port left out (how
/// browsers write `Origin`); `None` if it has none, or has userinfo (browsers never send a `Referer`
/// with userinfo: such a header is made up).
pub fn origin_of(url: &str) -> Option<String> {
    let url = AbsoluteUrl::parse(url).ok()?;
    (!url.has_userinfo()).then(|| url.origin())
}

impl CsrfPolicy {
    /// Whether the request may go on. Only state-changing requests with a cookie token (or every
    /// state-changing request with `all_requests`) are checked.
    pub fn check(&self, facts: &CsrfFacts<'_>) -> Result<(), CsrfRefusal> {
        if is_safe_method(facts.method) || !(facts.cookie_token || self.all_requests) {
            return Ok(());
        }
        if facts
            .sec_fetch_site
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("cross-site"))
        {
            return Err(CsrfRefusal::CrossSite);
        }
        let claimed = match (facts.origin, facts.referer) {
            (Some(origin), _) => Some(origin.trim().to_ascii_lowercase()),
            (None, Some(referer)) => {
                Some(origin_of(referer.trim()).ok_or(CsrfRefusal::OriginNotAllowed)?)
            }
            (None, None) => None,
        };
        let Some(claimed) = claimed else {
            return Err(CsrfRefusal::NoOrigin);
        };
        if claimed == facts.own_origin || self.allowed_origins.contains(&claimed) {
            Ok(())
        } else {
            Err(CsrfRefusal::OriginNotAllowed)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn facts<'a>(
        method: &'a str,
        origin: Option<&'a str>,
        referer: Option<&'a str>,
    ) -> CsrfFacts<'a> {
        CsrfFacts {
            method,
            own_origin: "https://api.example.com",
            origin,
            referer,
            sec_fetch_site: None,
            cookie_token: true,
        }
    }

    #[test]
    fn csrf() {
        let policy = CsrfPolicy {
            allowed_origins: vec!["https://app.example.com".into()],
            all_requests: false,
        };
        let check = |f: CsrfFacts<'_>| policy.check(&f);
        assert_eq!(
            check(facts("POST", Some("https://api.example.com"), None)),
            Ok(())
        );
        assert_eq!(
            check(facts("POST", Some("HTTPS://APP.example.com"), None)),
            Ok(())
        );
        assert_eq!(
            check(facts("POST", Some("null"), None)),
            Err(CsrfRefusal::OriginNotAllowed)
        );
        assert_eq!(
            check(facts(
                "DELETE",
                None,
                Some("https://app.example.com.evil.example/x")
            )),
            Err(CsrfRefusal::OriginNotAllowed)
        );
        assert_eq!(
            check(facts("PUT", None, Some("https://user@app.example.com/"))),
            Err(CsrfRefusal::OriginNotAllowed)
        );
        assert_eq!(
            check(facts("PATCH", None, None)),
            Err(CsrfRefusal::NoOrigin)
        );
        assert_eq!(check(facts("GET", None, None)), Ok(()));
        let cross = CsrfFacts {
            sec_fetch_site: Some("cross-site"),
            ..facts("POST", Some("https://app.example.com"), None)
        };
        assert_eq!(check(cross), Err(CsrfRefusal::CrossSite));
        // A bearer-header token is not checked, unless `all_requests`.
        let bearer = CsrfFacts {
            cookie_token: false,
            ..facts("POST", Some("https://evil.example"), None)
        };
        assert_eq!(check(bearer), Ok(()));
        let strict = CsrfPolicy {
            all_requests: true,
            ..policy.clone()
        };
        assert_eq!(strict.check(&bearer), Err(CsrfRefusal::OriginNotAllowed));
    }

    #[test]
    fn cors() {
        let policy = CorsPolicy {
            allowed_origins: None,
            allowed_methods: vec!["GET".into()],
            allowed_headers: vec!["authorization".into()],
            expose_headers: vec!["x-request-id".into()],
            max_age_seconds: 60,
            allow_credentials: false,
        };
        let preflight = Preflight {
            origin: "https://any.example",
            method: "GET",
            headers: Some(" Authorization ,"),
        };
        let headers = policy.preflight(&preflight).unwrap();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("access-control-allow-origin"), Some("*"));
        assert_eq!(get("access-control-allow-headers"), Some("authorization"));
        assert_eq!(get("access-control-allow-credentials"), None);
        assert_eq!(
            policy.preflight(&Preflight {
                method: "get",
                ..preflight
            }),
            Err(CorsRefusal::Method)
        );
        let actual = policy.response_headers(Some("https://any.example"));
        assert!(actual.contains(&("access-control-expose-headers", "x-request-id".into())));
        assert_eq!(
            policy.response_headers(None),
            vec![("vary", "Origin".into())]
        );
    }
}
