//! Request paths as route rules see them: one normal form per resource, so that `/admin/../admin/x`,
//! `//admin/x`, `/%61dmin/x` or `/public/..;/admin/x` cannot slip past a rule written for `/admin/*`.
//!
//! [`normalize_with`] takes the path as received (still percent-encoded, no query) and:
//! 1. decodes percent-escapes of unreserved characters (RFC 3986 §2.3: `A-Z a-z 0-9 - . _ ~`) and
//!    upper-cases the hex digits of every other escape (§6.2.2.1);
//! 2. refuses escapes that change the path's structure or meaning for some servers and not others:
//!    `%2F` (`/`), `%5C` (`\`) and `%00`; a malformed escape (`%zz`, a lone `%`), a raw `\`, and
//!    control characters are refused too;
//! 3. refuses `;` path parameters (raw `;` or `%3B`): Tomcat, Jetty and Spring strip `;…` from a
//!    segment before resolving dot segments, so `/public/..;/admin/x` is `/admin/x` to them while it
//!    looks like a child of `/public/` here. With [`PathRules::allow_matrix_parameters`], a segment's
//!    parameters are allowed instead: routes match the path without them (dot segments resolved the way
//!    those servers resolve them), and the origin receives each kept segment with its parameters;
//! 4. collapses empty segments (`//`) and resolves `.` and `..` segments (§5.2.4; `..` never climbs above
//!    the root), keeping a trailing `/`.
//!
//! The Worker forwards the normalized path, so the origin serves exactly what the rules matched.

use core::fmt;

/// How request paths are read (the `paths` section of the configuration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathRules {
    /// Allow `;` parameters in path segments (matrix parameters). Off by default: see the module docs.
    pub allow_matrix_parameters: bool,
    /// Route patterns match paths ignoring ASCII case (`/ADMIN/x` is guarded by `/admin/*`), for origins
    /// that route case-insensitively. Off by default.
    pub case_insensitive: bool,
}

/// A request path in normal form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalPath {
    /// What route rules match: the normal form, without `;` parameters.
    matched: String,
    /// What the origin receives when it differs from `matched` (segments keeping their parameters).
    forwarded: Option<String>,
}

impl NormalPath {
    /// The path route rules match.
    pub fn matched(&self) -> &str {
        &self.matched
    }

    /// The path the origin receives (and the assertion's `htu` names).
    pub fn forwarded(&self) -> &str {
        self.forwarded.as_deref().unwrap_or(&self.matched)
    }
}

/// Why a path has no single meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// `%2F`, `%5C` or `%00`: an encoded separator or NUL inside a segment.
    AmbiguousEncoding,
    /// A `;` (or `%3B`) path parameter, while matrix parameters are not allowed.
    PathParameter,
    /// A `%` not followed by two hex digits.
    MalformedEscape,
    /// A raw `\`, a control character, or a path not starting with `/`.
    InvalidCharacter,
}

impl PathError {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            PathError::AmbiguousEncoding | PathError::PathParameter => "path_ambiguous",
            PathError::MalformedEscape | PathError::InvalidCharacter => "path_malformed",
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::AmbiguousEncoding => "the path encodes `/`, `\\` or NUL inside a segment",
            PathError::PathParameter => {
                "the path has a `;` parameter (allowed only with paths.allow_matrix_parameters)"
            }
            PathError::MalformedEscape => "the path has a malformed percent-escape",
            PathError::InvalidCharacter => "the path has a character that is not allowed",
        })
    }
}

impl std::error::Error for PathError {}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Decodes unreserved escapes and upper-cases the others, in one segment (or one segment's parameters).
/// `;`, raw or escaped, is refused unless `semicolons` (matrix parameters allowed: the caller split
/// them off, and an escaped `;` stays an escaped literal).
fn normalize_segment(segment: &str, semicolons: bool) -> Result<String, PathError> {
    let mut out = Vec::with_capacity(segment.len());
    let mut bytes = segment.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let (Some(hi), Some(lo)) = (bytes.next(), bytes.next()) else {
                    return Err(PathError::MalformedEscape);
                };
                let (Some(h), Some(l)) = (hex(hi), hex(lo)) else {
                    return Err(PathError::MalformedEscape);
                };
                let decoded = h << 4 | l;
                if matches!(decoded, b'/' | b'\\' | 0) {
                    return Err(PathError::AmbiguousEncoding);
                }
                if decoded == b';' && !semicolons {
                    return Err(PathError::PathParameter);
                }
                if is_unreserved(decoded) {
                    out.push(decoded);
                } else {
                    out.extend_from_slice(&[
                        b'%',
                        hi.to_ascii_uppercase(),
                        lo.to_ascii_uppercase(),
                    ]);
                }
            }
            b';' if !semicolons => return Err(PathError::PathParameter),
            b'\\' => return Err(PathError::InvalidCharacter),
            b if b.is_ascii_control() => return Err(PathError::InvalidCharacter),
            // Everything else, including the bytes of non-ASCII text, is kept as it is.
            b => out.push(b),
        }
    }
    // Only ASCII was decoded, and only whole escapes were rewritten: the text stays UTF-8.
    String::from_utf8(out).map_err(|_| PathError::InvalidCharacter)
}

/// The normal form of a request path under the default rules (no `;` parameters). See the module
/// documentation.
pub fn normalize(raw: &str) -> Result<String, PathError> {
    normalize_with(raw, &PathRules::default()).map(|path| path.matched)
}

/// The normal form of a request path under `rules`. See the module documentation.
pub fn normalize_with(raw: &str, rules: &PathRules) -> Result<NormalPath, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::InvalidCharacter);
    }
    let matrix = rules.allow_matrix_parameters;
    // (segment, its `;…` parameters as received but normalized), for the segments that stay.
    let mut segments: Vec<(String, Option<String>)> = Vec::new();
    let mut directory = false;
    for segment in raw.split('/') {
        let (name, params) = match segment.split_once(';') {
            Some((name, params)) if matrix => (name, Some(params)),
            _ => (segment, None),
        };
        let decoded = normalize_segment(name, matrix)?;
        let params = params.map(|p| normalize_segment(p, true)).transpose()?;
        // `/a/b/`, `/a/.` and `/a/..` name a directory: the result keeps a trailing `/`. Parameters of
        // an empty or dot segment go with it (the servers that allow them do the same).
        directory = true;
        match decoded.as_str() {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => {
                segments.push((decoded, params));
                directory = false;
            }
        }
    }
    let mut matched = String::with_capacity(raw.len());
    for (segment, _) in &segments {
        matched.push('/');
        matched.push_str(segment);
    }
    if matched.is_empty() || directory {
        matched.push('/');
    }
    let forwarded = segments.iter().any(|(_, p)| p.is_some()).then(|| {
        let mut out = String::with_capacity(raw.len());
        for (segment, params) in &segments {
            out.push('/');
            out.push_str(segment);
            if let Some(params) = params {
                out.push(';');
                out.push_str(params);
            }
        }
        if out.is_empty() || directory {
            out.push('/');
        }
        out
    });
    Ok(NormalPath { matched, forwarded })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Result<&str, PathError>) {
        assert_eq!(normalize(raw).as_deref().map_err(|e| *e), expected, "{raw}");
    }

    #[test]
    fn normal_forms() {
        check("/", Ok("/"));
        check("/a/b", Ok("/a/b"));
        check("/a/b/", Ok("/a/b/"));
        check("//a///b", Ok("/a/b"));
        check("/a/./b", Ok("/a/b"));
        check("/a/../b", Ok("/b"));
        check("/../../a", Ok("/a"));
        check("/a/..", Ok("/"));
        check("/a/b/.", Ok("/a/b/"));
        check("/a/b/..", Ok("/a/"));
        check("/%61dmin/x", Ok("/admin/x"));
        check("/%2e%2E/admin", Ok("/admin"));
        check("/a/%2e%2e/admin", Ok("/admin"));
        check("/a%7e%5f%2D", Ok("/a~_-"));
        check("/a%20b%3a", Ok("/a%20b%3A"));
        check("/caf%C3%A9/é", Ok("/caf%C3%A9/é"));
        check("/a%2Fb", Err(PathError::AmbiguousEncoding));
        check("/a%2fb", Err(PathError::AmbiguousEncoding));
        check("/a%5cb", Err(PathError::AmbiguousEncoding));
        check("/a%00", Err(PathError::AmbiguousEncoding));
        check("/a%zz", Err(PathError::MalformedEscape));
        check("/a%4", Err(PathError::MalformedEscape));
        check("/a%", Err(PathError::MalformedEscape));
        check("/a\\b", Err(PathError::InvalidCharacter));
        check("/a\tb", Err(PathError::InvalidCharacter));
        check("a/b", Err(PathError::InvalidCharacter));
        check("", Err(PathError::InvalidCharacter));
    }

    #[test]
    fn path_parameters_are_refused_by_default() {
        // Tomcat, Jetty and Spring read `/public/..;/admin/x` as `/admin/x`.
        check("/public/..;/admin/x", Err(PathError::PathParameter));
        check("/a;jsessionid=1/b", Err(PathError::PathParameter));
        check("/a/b;", Err(PathError::PathParameter));
        check("/a%3Bb", Err(PathError::PathParameter));
        check("/a%3bb", Err(PathError::PathParameter));
        assert_eq!(PathError::PathParameter.code(), "path_ambiguous");
    }

    fn matrix(raw: &str, expected: Result<(&str, &str), PathError>) {
        let rules = PathRules {
            allow_matrix_parameters: true,
            ..PathRules::default()
        };
        let got = normalize_with(raw, &rules);
        let got = got
            .as_ref()
            .map(|p| (p.matched(), p.forwarded()))
            .map_err(|e| *e);
        assert_eq!(got, expected, "{raw}");
    }

    #[test]
    fn matrix_parameters_when_allowed() {
        // Dot segments resolve the way the servers that strip parameters resolve them.
        matrix("/public/..;/admin/x", Ok(("/admin/x", "/admin/x")));
        matrix("/public/.;x=1/a", Ok(("/public/a", "/public/a")));
        // Kept segments keep their parameters for the origin; routes match without them.
        matrix("/orders;v=1/7", Ok(("/orders/7", "/orders;v=1/7")));
        matrix("/a;x=%61;y/b/", Ok(("/a/b/", "/a;x=a;y/b/")));
        matrix("//;x/a", Ok(("/a", "/a")));
        matrix("/a;b/..", Ok(("/", "/")));
        // An escaped `;` is a literal character of the segment, not a parameter.
        matrix("/a%3bb", Ok(("/a%3Bb", "/a%3Bb")));
        // The parameters obey the same escape rules as the path.
        matrix("/a;x=%2F", Err(PathError::AmbiguousEncoding));
        matrix("/a;x=%zz", Err(PathError::MalformedEscape));
        matrix("/a;x=\\", Err(PathError::InvalidCharacter));
        matrix("/a/b", Ok(("/a/b", "/a/b")));
    }
}
