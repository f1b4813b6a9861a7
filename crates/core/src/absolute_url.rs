//! The one absolute-URL type: an `http` or `https` URL parsed by the WHATWG rules (the `url` crate, what
//! the Workers runtime and browsers do), so that every part of edge-auth reads a URL the way the runtime
//! that delivered it did. The assertion's `htu`, a request's origin (CSRF), the remote-keys URL rule,
//! the demo's loopback guard, `ORIGIN` and the CLI's `explain --url` all go through it.

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// An absolute `http(s)` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsoluteUrl(Url);

/// Why a text is not an [`AbsoluteUrl`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// Not a URL at all (the parser's reason).
    NotAUrl(String),
    /// Another scheme than `http` or `https`.
    Scheme,
    /// No host.
    NoHost,
    /// A host (or userinfo) holding a non-ASCII character or a `%` escape; see [`ascii_authority`].
    NonAsciiHost,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::NotAUrl(why) => write!(f, "not an absolute URL ({why})"),
            UrlError::Scheme => f.write_str("only http and https URLs"),
            UrlError::NoHost => f.write_str("no host"),
            UrlError::NonAsciiHost => f.write_str(
                "the host must be ASCII without `%` escapes (write an internationalized name in its \
                 punycode form, `xn--…`)",
            ),
        }
    }
}

impl std::error::Error for UrlError {}

impl AbsoluteUrl {
    /// Parses an absolute `http(s)` URL.
    pub fn parse(text: &str) -> Result<AbsoluteUrl, UrlError> {
        if !ascii_authority(text) {
            return Err(UrlError::NonAsciiHost);
        }
        let url = Url::parse(text).map_err(|e| UrlError::NotAUrl(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlError::Scheme);
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(UrlError::NoHost);
        }
        Ok(AbsoluteUrl(url))
    }

    /// The parsed URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    pub fn scheme(&self) -> &str {
        self.0.scheme()
    }

    /// The host and, when it is not the scheme's default, the port (`api.example:8443`, `[::1]:80`).
    pub fn authority(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The path, percent-encoded as the parser left it (dot segments resolved).
    pub fn path(&self) -> &str {
        self.0.path()
    }

    pub fn query(&self) -> Option<&str> {
        self.0.query()
    }

    pub fn has_userinfo(&self) -> bool {
        !self.0.username().is_empty() || self.0.password().is_some()
    }

    pub fn has_fragment(&self) -> bool {
        self.0.fragment().is_some()
    }

    /// `scheme://host[:port]`, lower-case, the default port left out: how browsers write `Origin`.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.0.scheme(), self.authority())
    }

    /// RFC 9449 §4.2 `htu`: the origin and the path, without query or fragment.
    pub fn htu(&self) -> String {
        format!("{}{}", self.origin(), self.0.path())
    }

    /// Whether the host is loopback: `localhost`, `127.0.0.0/8` or `::1`.
    pub fn is_loopback(&self) -> bool {
        match self.0.host() {
            Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(address)) => Ipv4Addr::is_loopback(&address),
            Some(Host::Ipv6(address)) => Ipv6Addr::is_loopback(&address),
            None => false,
        }
    }
}

/// Whether the authority of `text` (what the WHATWG parser will read as userinfo, host and port) is
/// ASCII without `%`. Checked before the `url` crate sees the text, because that crate is built with
/// the table-free IDNA back end (`idna_adapter` 1.0, pinned in this crate's Cargo.toml: about 48 KB of
/// the Worker's gzip), which is only sound on such hosts: a non-ASCII host, or one that percent-decodes
/// to non-ASCII, reaches its Unicode mapping, which has no data (and a `debug_assert!` on upper case).
/// Runtimes hand requests over with punycode hosts, so only hand-written URLs can be refused here.
///
/// The authority is found the way the parser finds it, conservatively: tabs and newlines removed (the
/// parser drops them anywhere), then everything after the first `:` and any run of `/` or `\\`, up to
/// the next `/`, `\\`, `?` or `#`. If the first `:` does not end a scheme the parser fails on its own
/// (no base URL), before any host parsing.
fn ascii_authority(text: &str) -> bool {
    let chars = text
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .skip_while(|&c| c != ':')
        .skip(1)
        .skip_while(|&c| matches!(c, '/' | '\\'));
    chars
        .take_while(|&c| !matches!(c, '/' | '\\' | '?' | '#'))
        .all(|c| c.is_ascii() && c != '%')
}

impl fmt::Display for AbsoluteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        let url = AbsoluteUrl::parse("HTTPS://API.Example:443/a/./b/../c?x=1#f").unwrap();
        assert_eq!(url.origin(), "https://api.example");
        assert_eq!(url.htu(), "https://api.example/a/c");
        assert_eq!(url.path(), "/a/c");
        assert_eq!(url.query(), Some("x=1"));
        assert!(url.has_fragment());
        let url = AbsoluteUrl::parse("http://[::1]:8787").unwrap();
        assert_eq!(url.authority(), "[::1]:8787");
        assert_eq!(url.htu(), "http://[::1]:8787/");
        assert!(url.is_loopback());
        assert!(AbsoluteUrl::parse("https://user:pw@h.example/")
            .unwrap()
            .has_userinfo());
        for (bad, error) in [
            ("ftp://h.example/", UrlError::Scheme),
            ("mailto:a@b.example", UrlError::Scheme),
        ] {
            assert_eq!(AbsoluteUrl::parse(bad), Err(error), "{bad}");
        }
        for bad in ["/relative", "h.example/x", "https://", "http://[::1"] {
            assert!(AbsoluteUrl::parse(bad).is_err(), "{bad}");
        }
    }

    /// Authorities the table-free IDNA back end must never see, each written the ways the WHATWG
    /// parser still reads as a host; and what stays accepted (ASCII, `%` after the authority).
    #[test]
    fn non_ascii_or_escaped_hosts_are_refused_before_parsing() {
        for bad in [
            "https://bücher.example/x",
            "https:F%Fd.2a.min/",
            "https://F%C3%BC.example/",
            "https://%41.example/",
            "HTTPS:\\\\B\u{fc}cher.example",
            "https:/\t/bücher.example",
            "https://user:p%40ss@h.example/",
            "https://h.example\u{3002}com/",
            "https://xn--bcher-kva.ex\u{e4}mple:443?q",
            "file://F%Fd/",
            "foo://%41/",
        ] {
            assert_eq!(
                AbsoluteUrl::parse(bad),
                Err(UrlError::NonAsciiHost),
                "{bad:?}"
            );
        }
        for good in [
            (
                "https://xn--bcher-kva.example/b%C3%BCcher",
                "https://xn--bcher-kva.example/b%C3%BCcher",
            ),
            (
                "https://API.example/ü?ü#ü",
                "https://api.example/%C3%BC?%C3%BC#%C3%BC",
            ),
            ("https://h.example?%41", "https://h.example/?%41"),
            ("https://h.example#%", "https://h.example/#%"),
            ("https://h.example\\%41", "https://h.example/%41"),
        ] {
            assert_eq!(
                AbsoluteUrl::parse(good.0).map(|u| u.to_string()).as_deref(),
                Ok(good.1),
                "{good:?}"
            );
        }
    }

    #[test]
    fn loopback_hosts() {
        for local in [
            "http://127.0.0.1:8787/x",
            "http://localhost/x",
            "http://LOCALHOST/",
            "http://[::1]:8787/",
            "http://127.1.2.3/",
            "http://0x7f.1/",
        ] {
            assert!(AbsoluteUrl::parse(local).unwrap().is_loopback(), "{local}");
        }
        for remote in [
            "https://api.example.com/",
            "http://127.0.0.1.evil.example/",
            "http://localhost.evil.example/",
            "http://10.0.0.1/",
            "http://[::2]/",
        ] {
            assert!(
                !AbsoluteUrl::parse(remote).unwrap().is_loopback(),
                "{remote}"
            );
        }
    }
}
