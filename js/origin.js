// What the origin middlewares (express.js, hono.js) share: their options, and the public URL a request
// is checked against. Nothing is decided here: the assertion, its binding (`htm`, `htu`, `ath`), the
// route's scopes and roles and every refusal (status, `WWW-Authenticate`, problem body) are the Rust
// side's (`verifier.authorize`, crates/wasm/src/assertion.rs); this file only says which URL the request
// was made at, and never from a header it was not told to trust.

/// A middleware's options, checked once: `publicUrl` (the edge's public origin, `https://host[:port]`)
/// and `trustForwarded` (take scheme and host from `Forwarded` / `X-Forwarded-Proto` /
/// `X-Forwarded-Host`).
export function originOptions(verifier, options, what) {
  if (typeof verifier?.authorize !== "function") {
    throw new TypeError(`${what}(verifier, options): a verifier from createAssertionVerifier`);
  }
  const { publicUrl, trustForwarded = false } = options ?? {};
  if (typeof trustForwarded !== "boolean") throw new TypeError(`${what}: trustForwarded: true or false`);
  let base;
  if (publicUrl !== undefined && publicUrl !== null) {
    let url;
    try {
      url = new URL(publicUrl);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash ||
      (url.pathname !== "/" && url.pathname !== "")) {
      throw new TypeError(`${what}: publicUrl: the edge's public origin, http(s)://host[:port] (no path, query or userinfo)`);
    }
    base = { scheme: url.protocol.slice(0, -1), host: url.host };
  }
  return { base, trustForwarded };
}

/// `scopes` / `roles` of a route's requirement: names the caller must all hold (as a token carries them:
/// no spaces; printable ASCII without `"` or `\`, so that `WWW-Authenticate: … scope="…"` quotes them).
export function namesOf(value, what) {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((name) => typeof name === "string" && /^[\x21-\x7e]+$/.test(name) && !/["\\]/.test(name))) {
    throw new TypeError(`${what}: a list of names (printable ASCII, no spaces, quotes or backslashes)`);
  }
  return value;
}

/// A route's requirement, `{ scopes?, roles? }`, checked when the route is declared.
export function requirementOf(requirement, what) {
  const { scopes, roles, ...rest } = requirement ?? {};
  const extra = Object.keys(rest);
  if (extra.length) throw new TypeError(`${what}: unknown requirement ${extra.map((k) => `\`${k}\``).join(", ")} (scopes, roles)`);
  return { scopes: namesOf(scopes, `${what}: scopes`), roles: namesOf(roles, `${what}: roles`) };
}

/// The first value of a comma-separated header, trimmed (`undefined` when absent or empty).
function first(value) {
  const item = value?.split(",")[0]?.trim();
  return item ? item : undefined;
}

/// `proto` and `host` of the first element of a `Forwarded` header (RFC 7239 §4: the proxy nearest the
/// client, here the edge), with quoted values unquoted.
function forwardedPair(value) {
  const result = {};
  const element = value?.split(",")[0];
  if (!element) return result;
  for (const pair of element.split(";")) {
    const at = pair.indexOf("=");
    if (at < 0) continue;
    const name = pair.slice(0, at).trim().toLowerCase();
    let text = pair.slice(at + 1).trim();
    if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1).replace(/\\(.)/g, "$1");
    if ((name === "proto" || name === "host") && text) result[name] = text;
  }
  return result;
}

/// A host as a `Host` header may carry it: a name or IPv4 address, or a bracketed IPv6 address, and an
/// optional port — nothing that would move the path (`/`, `?`, `#`, `@`, `\`).
const HOST = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/// What stands for a URL that cannot be built from the request: it does not parse, so the Rust side
/// answers `binding_mismatch`.
const UNUSABLE = "unusable:";

/// The URL the edge was asked for: scheme and host from the trusted forwarding headers (only with
/// `trustForwarded`), else from `publicUrl`, else the request's own (`own`: `{ scheme, host }`), then the
/// path as received (the query is not part of `htu`; the Rust side drops it). A scheme other than http(s)
/// or a host that is not one (a header can carry `api.example.com/admin#`) gives a URL that does not
/// parse: the request is refused (`binding_mismatch`), never checked against a path it did not name.
export function publicUrlOf({ base, trustForwarded }, own, path, header) {
  let scheme = base?.scheme ?? own.scheme;
  let host = base?.host ?? own.host;
  if (trustForwarded) {
    const forwarded = forwardedPair(header("forwarded"));
    const proto = forwarded.proto ?? first(header("x-forwarded-proto"));
    const forwardedHost = forwarded.host ?? first(header("x-forwarded-host"));
    if (proto) scheme = proto.toLowerCase();
    if (forwardedHost) host = forwardedHost;
  }
  if ((scheme !== "http" && scheme !== "https") || typeof host !== "string" || !HOST.test(host) ||
    typeof path !== "string" || !path.startsWith("/")) {
    return UNUSABLE;
  }
  return `${scheme}://${host}${path}`;
}
