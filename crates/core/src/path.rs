//! Request paths as route rules see them: one normal form per resource, so that `/admin/../admin/x`,
//! `//admin/x` or `/%61dmin/x` cannot slip past a rule written for `/admin/*`.
//!
//! [`normalize`] takes the path as received (still percent-encoded, no query) and:
//! 1. decodes percent-escapes of unreserved characters (RFC 3986 §2.3: `A-Z a-z 0-9 - . _ ~`) and
//!    upper-cases the hex digits of every other escape (§6.2.2.1);
//! 2. refuses escapes that change the path's structure or meaning for some servers and not others:
//!    `%2F` (`/`), `%5C` (`\`) and `%00`; a malformed escape (`%zz`, a lone `%`), a raw `\`, and
//!    control characters are refused too;
//! 3. collapses empty segments (`//`) and resolves `.` and `..` segments (§5.2.4; `..` never climbs above
//!    the root), keeping a trailing `/`.
//!
//! The Worker forwards the normalized path, so the origin serves exactly what the rules matched.

use core::fmt;

/// Why a path has no single meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// `%2F`, `%5C` or `%00`: an encoded separator or NUL inside a segment.
    AmbiguousEncoding,
    /// A `%` not followed by two hex digits.
    MalformedEscape,
    /// A raw `\`, a control character, or a path not starting with `/`.
    InvalidCharacter,
}

impl PathError {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            PathError::AmbiguousEncoding => "path_ambiguous",
            PathError::MalformedEscape | PathError::InvalidCharacter => "path_malformed",
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::AmbiguousEncoding => "the path encodes `/`, `\\` or NUL inside a segment",
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

/// Decodes unreserved escapes and upper-cases the others, in one segment.
fn normalize_segment(segment: &str) -> Result<String, PathError> {
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
            b'\\' => return Err(PathError::InvalidCharacter),
            b if b.is_ascii_control() => return Err(PathError::InvalidCharacter),
            // Everything else, including the bytes of non-ASCII text, is kept as it is.
            b => out.push(b),
        }
    }
    // Only ASCII was decoded, and only whole escapes were rewritten: the text stays UTF-8.
    String::from_utf8(out).map_err(|_| PathError::InvalidCharacter)
}

/// The normal form of a request path. See the module documentation.
pub fn normalize(raw: &str) -> Result<String, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::InvalidCharacter);
    }
    let mut segments: Vec<String> = Vec::new();
    let mut directory = false;
    for segment in raw.split('/') {
        let decoded = normalize_segment(segment)?;
        // `/a/b/`, `/a/.` and `/a/..` name a directory: the result keeps a trailing `/`.
        directory = true;
        match decoded.as_str() {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => {
                segments.push(decoded);
                directory = false;
            }
        }
    }
    let mut out = String::with_capacity(raw.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || directory {
        out.push('/');
    }
    Ok(out)
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
}
