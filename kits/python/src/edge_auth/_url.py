"""`htu` (RFC 9449 §4.2) the way the core computes it (`crates/core/src/absolute_url.rs`).

The core reads URLs with the WHATWG parser; this is the subset of that parser an assertion's `htu` and
an origin's request URL can exercise: an absolute `http(s)` URL with an ASCII host without `%`, no
userinfo; scheme and host lower-cased; the scheme's default port dropped; `\\` read as `/`; dot
segments (also `%2e` forms) resolved; the path percent-encoded with the WHATWG path set; query and
fragment dropped. Anything else is `None` (not an `htu`), which never matches.
"""

from __future__ import annotations

import re

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# The WHATWG path percent-encode set: C0 controls, space, `"`, `#`, `<`, `>`, `?`, `` ` ``, `{`, `}`,
# and everything above `~` (as UTF-8).
_PATH_ENCODE = frozenset(b' "#<>?`{}')
_SINGLE_DOT = frozenset({".", "%2e"})
_DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_HOST_CHARS = re.compile(r"^[a-z0-9.\-_~!$&'()*+,;=]+$")


def _encode_segment(segment: str) -> str:
    out = []
    for byte in segment.encode("utf-8", "surrogatepass"):
        if byte < 0x21 or byte > 0x7E or byte in _PATH_ENCODE:
            out.append(f"%{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


def _normalize_path(path: str) -> str:
    segments: list[str] = []
    parts = path.split("/")
    # `path` starts with "/" (or is empty): the first part is empty.
    parts = parts[1:] if parts and parts[0] == "" else parts
    for index, raw in enumerate(parts):
        last = index == len(parts) - 1
        lowered = raw.lower()
        if lowered in _DOUBLE_DOT:
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif lowered in _SINGLE_DOT:
            if last:
                segments.append("")
        else:
            segments.append(_encode_segment(raw))
    return "/" + "/".join(segments)


def _authority(scheme: str, authority: str) -> str | None:
    if "@" in authority or not authority:
        return None  # userinfo, or no host
    if not authority.isascii() or "%" in authority:
        return None
    host, port = authority, ""
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return None
        host, rest = authority[: end + 1], authority[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port = rest[1:]
        if not re.fullmatch(r"\[[0-9A-Fa-f:.]+\]", host):
            return None
    elif ":" in authority:
        host, port = authority.rsplit(":", 1)
    host = host.lower()
    if not host or (not host.startswith("[") and not _HOST_CHARS.match(host)):
        return None
    if port:
        if not port.isdigit() or int(port) > 65535:
            return None
        port = str(int(port))
        if port == _DEFAULT_PORTS[scheme]:
            port = ""
    return f"{host}:{port}" if port else host


def split_url(url: str) -> tuple[str, str, str] | None:
    """`(scheme, authority, raw path)` of an absolute http(s) URL, or `None`."""
    if not isinstance(url, str):
        return None
    # WHATWG: leading/trailing C0 controls and spaces are stripped, tabs and newlines removed anywhere.
    text = url.strip(_C0_AND_SPACE).replace("\t", "").replace("\n", "")
    text = text.replace("\r", "")
    match = _SCHEME.match(text)
    if match is None:
        return None
    scheme = match.group(1).lower()
    if scheme not in _DEFAULT_PORTS:
        return None
    rest = text[match.end() :].replace("\\", "/")
    rest = rest.lstrip("/")
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if 0 <= found < end:
            end = found
    authority = _authority(scheme, rest[:end])
    if authority is None:
        return None
    path = rest[end:]
    for stop in "?#":
        found = path.find(stop)
        if found >= 0:
            path = path[:found]
    return scheme, authority, path


def htu(url: str) -> str | None:
    """The `htu` of an absolute http(s) URL, as the core computes it; `None` if it has none."""
    parts = split_url(url)
    if parts is None:
        return None
    scheme, authority, path = parts
    return f"{scheme}://{authority}{_normalize_path(path)}"


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` (lower-case, default port dropped), or `None`."""
    parts = split_url(url)
    if parts is None:
        return None
    return f"{parts[0]}://{parts[1]}"
