//! Finding the bearer token: `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750 §2.1) and
//! optionally a named cookie. Two different tokens in one request are refused.
//!
//! A credential whose scheme is `Bearer` is a bearer attempt whatever follows the scheme: it is either
//! exactly `Bearer`, one or more spaces and a `token68`, or it is refused as malformed. Never ignored: an
//! ignored attempt (`Bearer<TAB>token`) would let an unverified token ride along to the origin.

use crate::refusal::Refusal;

/// RFC 7235 `token68`: the characters a bearer credential may hold.
fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// RFC 9110 §5.6.2 `tchar`: the characters of an authentication scheme name.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// Bearer tokens in one `Authorization` value. Runtimes join repeated headers with `, `, and a `token68`
/// never holds a comma, so each comma-separated credential is examined on its own.
fn bearer_tokens(value: &str, out: &mut Vec<String>) -> Result<(), Refusal> {
    for credential in value
        .split(',')
        .map(|c| c.trim_matches([' ', '\t']))
        .filter(|c| !c.is_empty())
    {
        // The scheme is the leading run of token characters; anything else ends it.
        let end = credential
            .find(|c: char| !is_tchar(c))
            .unwrap_or(credential.len());
        let (scheme, rest) = credential.split_at(end);
        if !scheme.eq_ignore_ascii_case("bearer") {
            // Another scheme (Basic, DPoP, …) carries no bearer token.
            continue;
        }
        // RFC 6750 §2.1: `Bearer 1*SP b64token`. A tab, another separator, or nothing at all is malformed.
        let token = rest.trim_start_matches(' ');
        if token.len() == rest.len() || !is_token68(token) {
            return Err(Refusal::AuthorizationMalformed);
        }
        out.push(token.to_owned());
    }
    Ok(())
}

/// Values of the cookie `name` in a `Cookie` header (RFC 6265 §4.2.1).
fn cookie_values<'a>(header: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> {
    header.split(';').filter_map(move |pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then(|| value.trim_matches('"'))
    })
}

/// A token found in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub token: String,
    /// Only the cookie carried it (no `Authorization: Bearer`): a browser may send it cross-site, so
    /// state-changing requests get the CSRF check.
    pub from_cookie: bool,
}

/// The request's token, if any: from every `Authorization` value and, when configured, the cookie.
pub fn extract_token(
    authorization: Option<&str>,
    cookie_header: Option<&str>,
    cookie_name: Option<&str>,
) -> Result<Option<Extracted>, Refusal> {
    let mut found = Vec::new();
    if let Some(value) = authorization {
        bearer_tokens(value, &mut found)?;
    }
    let from_header = found.len();
    if let (Some(header), Some(name)) = (cookie_header, cookie_name) {
        found.extend(
            cookie_values(header, name)
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
        );
    }
    let from_cookie = from_header == 0;
    let mut tokens = found.into_iter();
    let first = tokens.next();
    if let Some(first) = &first {
        if tokens.any(|other| &other != first) {
            return Err(Refusal::MultipleTokens);
        }
    }
    Ok(first.map(|token| Extracted { token, from_cookie }))
}

/// The `Cookie` header without the token cookie (`None` when nothing else is left).
pub fn strip_cookie(header: &str, name: &str) -> Option<String> {
    let kept: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && pair.split_once('=').is_none_or(|(key, _)| key != name))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        authorization: Option<&str>,
        cookie: Option<&str>,
        expected: Result<Option<&str>, &str>,
    ) {
        let actual = extract_token(authorization, cookie, Some("at"));
        let found = actual
            .as_ref()
            .map(|e| e.as_ref().map(|e| e.token.as_str()))
            .map_err(Refusal::code);
        assert_eq!(found, expected, "{authorization:?} {cookie:?}");
        // The cookie alone makes it a cookie token; any bearer header does not.
        if let Ok(Some(extracted)) = actual {
            assert_eq!(
                extracted.from_cookie,
                authorization.is_none_or(|a| !a.to_ascii_lowercase().contains("bearer"))
            );
        }
    }

    #[test]
    fn extraction() {
        check(None, None, Ok(None));
        check(Some("Bearer abc.def.ghi"), None, Ok(Some("abc.def.ghi")));
        check(Some("bearer abc"), None, Ok(Some("abc")));
        check(Some("BEARER   abc"), None, Ok(Some("abc")));
        check(Some("Bearer abc=="), None, Ok(Some("abc==")));
        check(Some("Basic dXNlcjpwdw=="), None, Ok(None));
        check(Some("Bearer"), None, Err("authorization_malformed"));
        check(Some("Bearer "), None, Err("authorization_malformed"));
        check(Some("Bearer a b"), None, Err("authorization_malformed"));
        check(Some("Bearer a\"b"), None, Err("authorization_malformed"));
        check(Some("Bearer abc, Bearer abc"), None, Ok(Some("abc")));
        check(Some("Bearer abc, Bearer xyz"), None, Err("multiple_tokens"));
        check(Some("Basic dXNlcg==, Bearer abc"), None, Ok(Some("abc")));
        // Whatever follows the scheme, a bearer attempt is never ignored (an ignored one would reach
        // the origin unverified on an optional route).
        check(Some("Bearer\tabc"), None, Err("authorization_malformed"));
        check(Some("bearer\t\tabc"), None, Err("authorization_malformed"));
        check(Some("Bearer \tabc"), None, Err("authorization_malformed"));
        check(
            Some("Bearer\u{a0}abc"),
            None,
            Err("authorization_malformed"),
        );
        check(Some("Bearer\"abc\""), None, Err("authorization_malformed"));
        check(Some("Bearer=abc"), None, Err("authorization_malformed"));
        check(Some("\tBearer abc\t"), None, Ok(Some("abc")));
        check(Some("Bearerabc"), None, Ok(None));
        check(Some("Basic\tdXNlcg=="), None, Ok(None));
        check(None, Some("a=1; at=tok; b=2"), Ok(Some("tok")));
        check(None, Some("at=\"tok\""), Ok(Some("tok")));
        check(None, Some("xat=tok"), Ok(None));
        check(None, Some("at=one; at=two"), Err("multiple_tokens"));
        check(Some("Bearer tok"), Some("at=tok"), Ok(Some("tok")));
        check(Some("Bearer tok"), Some("at=other"), Err("multiple_tokens"));
        // Without a configured cookie name, cookies are never read.
        assert_eq!(extract_token(None, Some("at=tok"), None), Ok(None));
        assert_eq!(
            extract_token(Some("Basic x"), Some("at=tok"), Some("at")),
            Ok(Some(Extracted {
                token: "tok".into(),
                from_cookie: true
            }))
        );
    }

    #[test]
    fn cookie_stripping() {
        assert_eq!(
            strip_cookie("a=1; at=tok; b=2", "at").as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(strip_cookie("at=tok", "at"), None);
        assert_eq!(strip_cookie("xat=1;at=2", "at").as_deref(), Some("xat=1"));
    }
}
