//! The one absolute-URL type: an `http` or `https` URL parsed by the WHATWG URL Standard's basic URL
//! parser (what the Workers runtime and browsers do), so that every part of edge-auth reads a URL the way
//! the runtime that delivered it did. The assertion's `htu`, a request's origin (CSRF), the remote-keys
//! URL rule, the demo's loopback guard, `ORIGIN` and the CLI's `explain --url` all go through it.
//!
//! Written here rather than taken from the `url` crate (issue 11: the crate and its IDNA layer were
//! about 37 KB of the Worker's wasm). It implements the parser for the two special schemes edge-auth
//! accepts, without a base URL, on authorities that are ASCII without `%` ([`ascii_authority`]: anything
//! else needs Unicode IDNA tables and is refused): scheme, the special authority (userinfo, host, port),
//! domains (ASCII lower-casing, forbidden code points), IPv4 (with its hex and octal forms) and IPv6
//! hosts, the path (dot segments, `\` as `/`, the path percent-encode set), the special query and the
//! fragment. `crates/core/tests/absolute_url.rs` checks it against the `url` crate (a dev-dependency) on
//! the web-platform-tests URL vectors and on generated inputs; the fuzz target `absolute_url` does the
//! same on arbitrary input.

use core::fmt;
use std::borrow::Cow;
use std::fmt::Write as _;

/// An absolute `http(s)` URL with a host, kept as its WHATWG serialization and the offsets of its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsoluteUrl {
    /// The serialization (`href`).
    href: String,
    /// `href[..scheme_end]` is the scheme (`http` or `https`).
    scheme_end: usize,
    /// `href[host_start..path_start]` is the host and, when not the default, `:port`.
    host_start: usize,
    host: Host,
    path_start: usize,
    /// The `?` and the `#`, if any.
    query_start: Option<usize>,
    fragment_start: Option<usize>,
}

/// The host, as the parser classified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    Domain,
    Ipv4(u32),
    Ipv6([u16; 8]),
}

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

fn not_a_url(why: &str) -> UrlError {
    UrlError::NotAUrl(why.to_owned())
}

impl AbsoluteUrl {
    /// Parses an absolute `http(s)` URL.
    pub fn parse(text: &str) -> Result<AbsoluteUrl, UrlError> {
        if !ascii_authority(text) {
            return Err(UrlError::NonAsciiHost);
        }
        // Leading and trailing C0 controls and spaces go; tabs and newlines go from anywhere (a copy
        // only when there is one: a URL from the runtime has none).
        let trimmed = text.trim_matches(|c: char| c <= ' ');
        let input: Cow<'_, str> = if trimmed.contains(['\t', '\n', '\r']) {
            Cow::Owned(
                trimmed
                    .chars()
                    .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                    .collect(),
            )
        } else {
            Cow::Borrowed(trimmed)
        };
        let (scheme, rest) = split_scheme(&input)?;
        let https = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return Err(UrlError::Scheme);
        };
        // The special authority: any run of `/` and `\` first, then up to the path, query or fragment.
        let rest = rest.trim_start_matches(['/', '\\']);
        let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at_checked(end).unwrap_or((rest, ""));
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let (host_text, port) = split_port(host_port)?;
        if host_text.is_empty() {
            return Err(UrlError::NoHost);
        }
        let default_port = if https { 443 } else { 80 };
        let port = port.filter(|&port| port != default_port);

        let mut href = String::with_capacity(input.len() + 8);
        href.push_str(if https { "https" } else { "http" });
        let scheme_end = href.len();
        href.push_str("://");
        if let Some((username, password)) = userinfo.map(|u| u.split_once(':').unwrap_or((u, ""))) {
            if !username.is_empty() || !password.is_empty() {
                percent_encode(username, USERINFO, &mut href);
                if !password.is_empty() {
                    href.push(':');
                    percent_encode(password, USERINFO, &mut href);
                }
                href.push('@');
            }
        }
        let host_start = href.len();
        let host = parse_host(host_text, &mut href)?;
        if let Some(port) = port {
            let _ = write!(href, ":{port}");
        }
        let path_start = href.len();
        let (query_start, fragment_start) = parse_path_query_fragment(tail, &mut href, false);
        Ok(AbsoluteUrl {
            href,
            scheme_end,
            host_start,
            host,
            path_start,
            query_start,
            fragment_start,
        })
    }

    /// This URL's scheme, userinfo, host and port with another path and query and no fragment: `path`
    /// is read as the path setter reads it (dot segments resolved, `?` and `#` escaped), `query` as the
    /// query setter does.
    pub fn with_path_and_query(&self, path: &str, query: Option<&str>) -> AbsoluteUrl {
        let mut href = self
            .href
            .get(..self.path_start)
            .unwrap_or_default()
            .to_owned();
        let path_start = href.len();
        parse_path_query_fragment(path, &mut href, true);
        let query_start = query.map(|query| {
            let at = href.len();
            href.push('?');
            percent_encode(query, SPECIAL_QUERY, &mut href);
            at
        });
        AbsoluteUrl {
            href,
            path_start,
            query_start,
            fragment_start: None,
            ..*self
        }
    }

    /// The serialization (`href`).
    pub fn as_str(&self) -> &str {
        &self.href
    }

    pub fn scheme(&self) -> &str {
        self.href.get(..self.scheme_end).unwrap_or_default()
    }

    /// The host and, when it is not the scheme's default, the port (`api.example:8443`, `[::1]:80`).
    pub fn authority(&self) -> &str {
        self.href
            .get(self.host_start..self.path_start)
            .unwrap_or_default()
    }

    /// The path, percent-encoded as the parser left it (dot segments resolved).
    pub fn path(&self) -> &str {
        let end = self
            .query_start
            .or(self.fragment_start)
            .unwrap_or(self.href.len());
        self.href.get(self.path_start..end).unwrap_or_default()
    }

    pub fn query(&self) -> Option<&str> {
        let start = self.query_start?.saturating_add(1);
        let end = self.fragment_start.unwrap_or(self.href.len());
        self.href.get(start..end)
    }

    pub fn has_userinfo(&self) -> bool {
        // `scheme://` is followed by the host unless there is userinfo.
        self.host_start != self.scheme_end + 3
    }

    pub fn has_fragment(&self) -> bool {
        self.fragment_start.is_some()
    }

    /// `scheme://host[:port]`, lower-case, the default port left out: how browsers write `Origin`.
    pub fn origin(&self) -> String {
        let (scheme, authority) = (self.scheme(), self.authority());
        let mut out = String::with_capacity(scheme.len() + 3 + authority.len());
        out.push_str(scheme);
        out.push_str("://");
        out.push_str(authority);
        out
    }

    /// RFC 9449 §4.2 `htu`: the origin and the path, without query or fragment.
    pub fn htu(&self) -> String {
        let mut out = self.origin();
        out.push_str(self.path());
        out
    }

    /// Whether the host is loopback: `localhost`, `127.0.0.0/8` or `::1`.
    pub fn is_loopback(&self) -> bool {
        match self.host {
            Host::Domain => {
                let authority = self.authority();
                let name = authority
                    .rsplit_once(':')
                    .map_or(authority, |(name, _)| name);
                name == "localhost"
            }
            Host::Ipv4(address) => address >> 24 == 127,
            Host::Ipv6(pieces) => pieces == [0, 0, 0, 0, 0, 0, 0, 1],
        }
    }
}

/// The scheme (ASCII alpha, then alphanumerics, `+`, `-`, `.`) and what follows its `:`.
fn split_scheme(input: &str) -> Result<(&str, &str), UrlError> {
    let relative = || not_a_url("relative URL without a base");
    let (scheme, rest) = input.split_once(':').ok_or_else(relative)?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        return Err(relative());
    }
    Ok((scheme, rest))
}

/// Splits `host[:port]` at the first `:` outside brackets; the port is decimal digits (maybe none).
fn split_port(host_port: &str) -> Result<(&str, Option<u16>), UrlError> {
    let mut inside_brackets = false;
    let mut colon = None;
    for (at, c) in host_port.char_indices() {
        match c {
            '[' => inside_brackets = true,
            ']' => inside_brackets = false,
            ':' if !inside_brackets => {
                colon = Some(at);
                break;
            }
            _ => {}
        }
    }
    let Some(colon) = colon else {
        return Ok((host_port, None));
    };
    let host = host_port.get(..colon).unwrap_or_default();
    let digits = host_port.get(colon + 1..).unwrap_or_default();
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    if digits.is_empty() {
        return Ok((host, None));
    }
    let mut port: u32 = 0;
    for byte in digits.bytes() {
        if !byte.is_ascii_digit() {
            return Err(not_a_url("invalid port number"));
        }
        port = port * 10 + u32::from(byte - b'0');
        if port > u32::from(u16::MAX) {
            return Err(not_a_url("invalid port number"));
        }
    }
    Ok((host, u16::try_from(port).ok()))
}

/// Parses a special URL's host (non-empty, ASCII without `%`) and appends its serialization.
fn parse_host(text: &str, out: &mut String) -> Result<Host, UrlError> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| not_a_url("invalid IPv6 address"))?;
        let pieces =
            parse_ipv6(inner.as_bytes()).ok_or_else(|| not_a_url("invalid IPv6 address"))?;
        out.push('[');
        write_ipv6(&pieces, out);
        out.push(']');
        return Ok(Host::Ipv6(pieces));
    }
    // Domain to ASCII on an ASCII domain: lower-casing; then the forbidden domain code points.
    let domain = text.to_ascii_lowercase();
    if domain.bytes().any(forbidden_domain_byte) {
        return Err(not_a_url("invalid domain character"));
    }
    if !domain.split('.').all(valid_label) {
        return Err(not_a_url("invalid international domain name"));
    }
    if ends_in_a_number(&domain) {
        let address = parse_ipv4(&domain).ok_or_else(|| not_a_url("invalid IPv4 address"))?;
        let [a, b, c, d] = address.to_be_bytes();
        let _ = write!(out, "{a}.{b}.{c}.{d}");
        return Ok(Host::Ipv4(address));
    }
    out.push_str(&domain);
    Ok(Host::Domain)
}

/// A forbidden domain code point (URL Standard §3.2), on ASCII.
fn forbidden_domain_byte(byte: u8) -> bool {
    byte <= 0x20
        || byte == 0x7f
        || matches!(
            byte,
            b'#' | b'%'
                | b'/'
                | b':'
                | b'<'
                | b'>'
                | b'?'
                | b'@'
                | b'['
                | b'\\'
                | b']'
                | b'^'
                | b'|'
        )
}

/// UTS #46 processing of an ASCII label, beyond lower-casing: an `xn--` label must be Punycode
/// (RFC 3492) for something that is not plain ASCII, as the IDNA layer checks it.
fn valid_label(label: &str) -> bool {
    match label.strip_prefix("xn--") {
        Some(encoded) => punycode_decodes_to_non_ascii(encoded),
        None => true,
    }
}

/// Whether `encoded` (the part after `xn--`) decodes (RFC 3492 §6.2) to a label with a non-ASCII code
/// point. The decoded text is not kept: the URL keeps the `xn--` form.
fn punycode_decodes_to_non_ascii(encoded: &str) -> bool {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    if encoded.is_empty() || !encoded.is_ascii() {
        return false;
    }
    // Basic code points before the last `-`; with none, the deltas start at the beginning (§6.2).
    let (basic, deltas) = match encoded.rfind('-') {
        Some(at) if at > 0 => (
            encoded.get(..at).unwrap_or_default(),
            encoded.get(at + 1..).unwrap_or_default(),
        ),
        _ => ("", encoded),
    };
    if deltas.is_empty() {
        return false;
    }
    let mut length = u32::try_from(basic.len()).unwrap_or(u32::MAX);
    let (mut n, mut i, mut bias) = (0x80_u32, 0_u32, 72_u32);
    let mut non_ascii = false;
    let mut digits = deltas.bytes().peekable();
    while digits.peek().is_some() {
        let old_i = i;
        let mut weight = 1_u32;
        let mut k = BASE;
        loop {
            let Some(byte) = digits.next() else {
                return false;
            };
            let digit = match byte {
                b'a'..=b'z' => u32::from(byte - b'a'),
                b'0'..=b'9' => u32::from(byte - b'0') + 26,
                _ => return false,
            };
            let Some(next) = digit.checked_mul(weight).and_then(|d| i.checked_add(d)) else {
                return false;
            };
            i = next;
            let t = k.saturating_sub(bias).clamp(T_MIN, T_MAX);
            if digit < t {
                break;
            }
            let Some(next) = weight.checked_mul(BASE - t) else {
                return false;
            };
            weight = next;
            k += BASE;
        }
        length += 1;
        // Bias adaptation (RFC 3492 §6.1).
        let mut delta = (i - old_i) / if old_i == 0 { 700 } else { 2 };
        delta += delta / length;
        let mut k = 0;
        while delta > ((BASE - T_MIN) * T_MAX) / 2 {
            delta /= BASE - T_MIN;
            k += BASE;
        }
        bias = k + (BASE * delta) / (delta + 38);
        let Some(next) = n.checked_add(i / length) else {
            return false;
        };
        n = next;
        i %= length;
        if char::from_u32(n).is_none() {
            return false;
        }
        non_ascii |= n >= 0x80;
        i += 1;
    }
    non_ascii
}

/// The ends-in-a-number checker: the last label (a final empty one after `.` aside) is all digits
/// or an IPv4 number (`0x…`).
fn ends_in_a_number(domain: &str) -> bool {
    let mut labels = domain.rsplit('.');
    let last = match labels.next() {
        Some("") => labels.next(),
        last => last,
    };
    let Some(last) = last.filter(|last| !last.is_empty()) else {
        return false;
    };
    last.bytes().all(|b| b.is_ascii_digit()) || parse_ipv4_number(last).is_some()
}

/// The IPv4 number parser: decimal, `0x` hex or `0` octal; `Some(None)` is a number over `u32`.
fn parse_ipv4_number(text: &str) -> Option<Option<u32>> {
    if text.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            (hex, 16)
        } else if text.len() >= 2 && text.starts_with('0') {
            (text.get(1..).unwrap_or_default(), 8)
        } else {
            (text, 10)
        };
    if digits.is_empty() {
        return Some(Some(0));
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some(u32::from_str_radix(digits, radix).ok())
}

/// The IPv4 parser, after the ends-in-a-number check.
fn parse_ipv4(domain: &str) -> Option<u32> {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let parts: Vec<&str> = domain.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in parts {
        numbers.push(parse_ipv4_number(part)??);
    }
    let last = numbers.pop()?;
    let shift = 8 * u32::try_from(numbers.len()).ok()?;
    if last > u32::MAX.checked_shr(shift).unwrap_or(0) || numbers.iter().any(|&n| n > 255) {
        return None;
    }
    let mut address = last;
    for (counter, n) in (0_u32..).zip(&numbers) {
        address += n << (8 * (3 - counter));
    }
    Some(address)
}

/// The IPv6 parser (URL Standard §3.5), on the text between the brackets.
fn parse_ipv6(input: &[u8]) -> Option<[u16; 8]> {
    let mut pieces = [0_u16; 8];
    let mut piece = 0_usize;
    let mut compress = None;
    let mut i = 0_usize;
    let at = |i: usize| input.get(i).copied();
    if at(0) == Some(b':') {
        if at(1) != Some(b':') {
            return None;
        }
        i = 2;
        piece = 1;
        compress = Some(1);
    }
    while i < input.len() {
        if piece == 8 {
            return None;
        }
        if at(i) == Some(b':') {
            if compress.is_some() {
                return None;
            }
            i += 1;
            piece += 1;
            compress = Some(piece);
            continue;
        }
        let start = i;
        let mut value = 0_u16;
        while i < input.len() && i < start + 4 {
            let Some(digit) = at(i).and_then(|b| char::from(b).to_digit(16)) else {
                break;
            };
            value = value * 0x10 + u16::try_from(digit).ok()?;
            i += 1;
        }
        match at(i) {
            Some(b'.') => {
                if i == start || piece > 6 {
                    return None;
                }
                let ipv4 = parse_ipv6_ipv4(input.get(start..)?)?;
                for half in ipv4 {
                    *pieces.get_mut(piece)? = half;
                    piece += 1;
                }
                break;
            }
            Some(b':') => {
                i += 1;
                if i == input.len() {
                    return None;
                }
            }
            Some(_) => return None,
            None => {}
        }
        *pieces.get_mut(piece)? = value;
        piece += 1;
    }
    match compress {
        Some(compress) => {
            // Move the pieces after the `::` to the end.
            let moved = piece.checked_sub(compress)?;
            let tail: Vec<u16> = pieces.get(compress..piece)?.to_vec();
            for slot in pieces.get_mut(compress..)? {
                *slot = 0;
            }
            let start = 8_usize.checked_sub(moved)?;
            pieces.get_mut(start..)?.copy_from_slice(&tail);
        }
        None if piece != 8 => return None,
        None => {}
    }
    Some(pieces)
}

/// The dotted IPv4 part of an IPv6 address: four decimal numbers ≤ 255 without leading zeros.
fn parse_ipv6_ipv4(text: &[u8]) -> Option<[u16; 2]> {
    let mut octets = [0_u8; 4];
    let mut parts = text.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part.first() == Some(&b'0')) {
            return None;
        }
        let mut value = 0_u16;
        for &b in part {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(b - b'0');
        }
        *octet = u8::try_from(value).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let [a, b, c, d] = octets;
    Some([u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d])])
}

/// The IPv6 serializer: lower-case hex, the first longest run of two or more zero pieces as `::`.
fn write_ipv6(pieces: &[u16; 8], out: &mut String) {
    let (mut best, mut best_len) = (None, 1);
    let mut run = None;
    for (at, &piece) in pieces.iter().enumerate() {
        if piece == 0 {
            let start = *run.get_or_insert(at);
            if at + 1 - start > best_len {
                best = Some(start);
                best_len = at + 1 - start;
            }
        } else {
            run = None;
        }
    }
    let mut at = 0;
    while at < 8 {
        if Some(at) == best {
            out.push_str(if at == 0 { "::" } else { ":" });
            at += best_len;
            continue;
        }
        let _ = write!(out, "{:x}", pieces.get(at).copied().unwrap_or_default());
        if at != 7 {
            out.push(':');
        }
        at += 1;
    }
}

/// Percent-encode sets (URL Standard §1.3), as predicates on ASCII bytes; every non-ASCII byte is
/// always encoded.
type EncodeSet = fn(u8) -> bool;

const FRAGMENT: EncodeSet =
    |b| b < 0x20 || b == 0x7f || matches!(b, b' ' | b'"' | b'<' | b'>' | b'`');
const QUERY: EncodeSet = |b| b < 0x20 || b == 0x7f || matches!(b, b' ' | b'"' | b'#' | b'<' | b'>');
const SPECIAL_QUERY: EncodeSet = |b| QUERY(b) || b == b'\'';
const PATH: EncodeSet = |b| QUERY(b) || matches!(b, b'?' | b'`' | b'{' | b'}');
const USERINFO: EncodeSet = |b| {
    PATH(b)
        || matches!(
            b,
            b'/' | b':' | b';' | b'=' | b'@' | b'[' | b'\\' | b']' | b'^' | b'|'
        )
};

fn percent_encode(text: &str, set: EncodeSet, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut rest = text;
    loop {
        // The run of bytes written as they are, copied at once (a URL is mostly such runs).
        let run = rest
            .bytes()
            .position(|b| !b.is_ascii() || set(b))
            .unwrap_or(rest.len());
        // `run` is at an ASCII byte or at the first byte of a character: a character boundary.
        let Some((plain, tail)) = rest.split_at_checked(run) else {
            return;
        };
        out.push_str(plain);
        let mut chars = tail.chars();
        let Some(c) = chars.next() else {
            return;
        };
        let mut buffer = [0_u8; 4];
        for &byte in c.encode_utf8(&mut buffer).as_bytes() {
            out.push('%');
            for digit in [byte >> 4, byte & 0xf] {
                out.push(char::from(
                    HEX.get(usize::from(digit)).copied().unwrap_or(b'0'),
                ));
            }
        }
        rest = chars.as_str();
    }
}

/// The path, query and fragment states of a special URL, on what follows the authority (`setter`:
/// the path setter's reading, where `?` and `#` are part of the path). Appends the serialization and
/// returns where the `?` and the `#` are.
fn parse_path_query_fragment(
    text: &str,
    out: &mut String,
    setter: bool,
) -> (Option<usize>, Option<usize>) {
    let path_end = if setter {
        text.len()
    } else {
        text.find(['?', '#']).unwrap_or(text.len())
    };
    let (path, after) = text.split_at_checked(path_end).unwrap_or((text, ""));
    let path = path.strip_prefix(['/', '\\']).unwrap_or(path);
    let path_start = out.len();
    let mut segments = path.split(['/', '\\']).peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if is_double_dot(segment) {
            // Shorten the path (never past its start), then an empty last segment if at the end.
            let keep = out
                .get(path_start..)
                .and_then(|p| p.rfind('/'))
                .map_or(path_start, |at| path_start + at);
            out.truncate(keep);
            if last {
                out.push('/');
            }
        } else if is_single_dot(segment) {
            if last {
                out.push('/');
            }
        } else {
            out.push('/');
            percent_encode(segment, PATH, out);
        }
    }
    let mut query_start = None;
    let mut fragment_start = None;
    let (query, fragment) = match after.strip_prefix('?') {
        Some(rest) => match rest.split_once('#') {
            Some((query, fragment)) => (Some(query), Some(fragment)),
            None => (Some(rest), None),
        },
        None => (None, after.strip_prefix('#')),
    };
    if let Some(query) = query {
        query_start = Some(out.len());
        out.push('?');
        percent_encode(query, SPECIAL_QUERY, out);
    }
    if let Some(fragment) = fragment {
        fragment_start = Some(out.len());
        out.push('#');
        percent_encode(fragment, FRAGMENT, out);
    }
    (query_start, fragment_start)
}

fn is_single_dot(segment: &str) -> bool {
    segment == "." || segment.eq_ignore_ascii_case("%2e")
}

fn is_double_dot(segment: &str) -> bool {
    matches!(segment.len(), 2 | 4 | 6)
        && matches!(
            segment.to_ascii_lowercase().as_str(),
            ".." | ".%2e" | "%2e." | "%2e%2e"
        )
}

/// Whether the authority of `text` (what the WHATWG parser will read as userinfo, host and port) is
/// ASCII without `%`. Checked before parsing: a non-ASCII host, or one that percent-decodes to
/// non-ASCII, needs the Unicode IDNA mapping, whose tables edge-auth does not carry (about 48 KB of
/// the Worker's gzip). Runtimes hand requests over with punycode hosts, so only hand-written URLs can be
/// refused here.
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
        f.write_str(&self.href)
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
        // Dot segments remove a drive-letter-like segment too: the URL Standard keeps those only in
        // file URLs (the url crate keeps them in every scheme; tests/support/url_oracle.rs).
        let url = AbsoluteUrl::parse("http://h.example/c:/a/../../x").unwrap();
        assert_eq!(url.path(), "/x");
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
