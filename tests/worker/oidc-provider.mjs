// A real OpenID provider on loopback for the tests: `oidc-provider` (a certified implementation) with one
// client-credentials client issuing JWT access tokens (RFC 9068, ES256) for one resource (audience).
// Used by tests/worker/oidc.test.mjs and tests/e2e/. It keeps its port across restarts (`start` again
// with other keys to rotate), counts discovery and JWKS fetches, and can delay its key documents.
// With `web`, a second client logs users in (authorization code + PKCE, through the provider's own dev
// interactions, driven by plain HTTP: `login`) and out (RP-initiated logout: `logout`), with OIDC
// Back-Channel Logout to `web.backchannelLogoutUri` (tests/e2e/revocation.test.mjs).
import { createServer, request } from "node:http";
import * as jose from "jose";
import Provider from "oidc-provider";

/// tests/worker's `jose`, for the tests outside this directory (tests/e2e has no node_modules of its own).
export { jose };

/// A new ES256 signing key (private JWK) with this kid.
export async function signingKey(kid) {
  const { privateKey } = await jose.generateKeyPair("ES256", { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg: "ES256", use: "sig" };
}

const basic = (c) => `Basic ${Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(c.client_secret)}`).toString("base64")}`;

/// A minimal browser for `origin`: keeps the cookies it is given (by name; the provider's cookies do not
/// collide across paths in one flow) and follows no redirect. Every request is bounded (10 s).
export function userAgent(origin) {
  const jar = new Map();
  const send = async (path, init = {}) => {
    const headers = { ...init.headers };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(new URL(path, origin), { ...init, headers, redirect: "manual", signal: AbortSignal.timeout(10_000) });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split("=")[1]) <= Date.now());
      if (!value || expired) jar.delete(name); else jar.set(name, value);
    }
    return res;
  };
  return {
    cookies: jar,
    get: (path) => send(path),
    post: (path, form, headers = {}) => send(path, {
      method: "POST", body: new URLSearchParams(form).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    }),
  };
}

/// A provider for `audience` granting `scopes` (space-separated list of what the client may ask for).
/// Not listening until `start(keys)`.
///
/// `web = { clientId, redirectUri, backchannelLogoutUri }` adds the login client: its access tokens carry
/// the session's `sid` (the value the provider writes into that client's logout token), and its
/// back-channel logout calls may go to loopback http (see `fetch` below).
export async function oidcProvider({ audience, scopes = ["orders:read"], clientId = "orders-service", web }) {
  const client = { client_id: clientId, client_secret: "a-client-secret-for-the-loopback-provider-only" };
  const webClient = web && {
    client_id: web.clientId,
    client_secret: "a-web-client-secret-for-the-loopback-provider-only",
    grant_types: ["authorization_code"],
    response_types: ["code"],
    redirect_uris: [web.redirectUri],
    id_token_signed_response_alg: "ES256",
    // `backchannel_logout_uri` is a "web URI" to the provider's client schema: http is accepted as is.
    backchannel_logout_uri: web.backchannelLogoutUri,
    // Without it the logout token has no `sid` (only `sub`), and the code (so the access token) none either.
    backchannel_logout_session_required: true,
  };
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));
  let httpServer;

  const op = {
    iss: `http://127.0.0.1:${port}`,
    clientId,
    /// Requests for the discovery document and the JWKS.
    fetches: { discovery: 0, jwks: 0 },
    /// Delays every answer but the token endpoint's.
    delayMs: 0,
    get listening() { return Boolean(httpServer?.listening); },
    /// Back-channel logout calls made: { ok, clientId, sid, error? } each (the provider does not fail the
    /// logout when one fails: it emits `backchannel.error`, recorded here).
    backchannel: [],

    /// (Re)starts the provider on its port with these signing keys (the first one signs).
    async start(keys) {
      const provider = new Provider(op.iss, {
        clients: [
          { ...client, grant_types: ["client_credentials"], redirect_uris: [], response_types: [], id_token_signed_response_alg: "ES256" },
          ...(webClient ? [webClient] : []),
        ],
        jwks: { keys },
        scopes: web ? ["openid", ...scopes] : scopes,
        // The authorization code carries `sid` (= `session.sidFor(client)`, what `backchannelLogout(sub,
        // sid)` puts in the logout token) when the client has `backchannel_logout_session_required`; the
        // access token inherits it (grant_common.js). Put it into the JWT access token's claims.
        extraTokenClaims: async (_ctx, token) => (token.sid ? { sid: token.sid } : undefined),
        // The provider's outgoing fetch refuses special-use addresses (127.0.0.0/8 included: an SSRF guard
        // in helpers/fetch_request.js, through an undici dispatcher). The back-channel logout call goes to
        // the Worker on 127.0.0.1: drop that dispatcher for loopback http only, keep it for anything else.
        fetch: (url, options) => {
          if (new URL(url).hostname === "127.0.0.1") {
            const { dispatcher: _ssrfGuard, ...rest } = options;
            return globalThis.fetch(url, rest);
          }
          return globalThis.fetch(url, options);
        },
        features: {
          clientCredentials: { enabled: true },
          backchannelLogout: { enabled: Boolean(web) },
          resourceIndicators: {
            enabled: true,
            defaultResource: () => audience,
            useGrantedResource: () => true,
            getResourceServerInfo: () => ({
              scope: scopes.join(" "), audience, accessTokenTTL: 300,
              accessTokenFormat: "jwt", jwt: { sign: { alg: "ES256" } },
            }),
          },
        },
      });
      provider.on("backchannel.success", (_ctx, c, _sub, sid) => op.backchannel.push({ ok: true, clientId: c.clientId, sid }));
      provider.on("backchannel.error", (_ctx, error, c, _sub, sid) => op.backchannel.push({ ok: false, clientId: c.clientId, sid, error: error.message }));
      const callback = provider.callback();
      httpServer = createServer((req, res) => {
        if (req.url === "/.well-known/openid-configuration") op.fetches.discovery++;
        if (req.url.startsWith("/jwks")) op.fetches.jwks++;
        if (op.delayMs && req.url !== "/token") setTimeout(() => callback(req, res), op.delayMs);
        else callback(req, res);
      });
      await new Promise((resolve) => httpServer.listen(port, "127.0.0.1", resolve));
    },

    async stop() {
      httpServer.closeAllConnections?.();
      await new Promise((resolve) => httpServer.close(resolve));
    },

    /// Logs `user` in as the `web` client (authorization code + PKCE for `scope` on `resource`), the way a
    /// browser does, through the dev interactions' login and consent forms.
    /// Returns { accessToken, idToken, browser } (`browser`: the user agent, with its session cookie).
    async login(user, { scope = `openid ${scopes[0]}`, resource = audience, browser = userAgent(op.iss) } = {}) {
      const verifier = jose.base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
      const challenge = jose.base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
      const state = jose.base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
      let res = await browser.get(`/auth?${new URLSearchParams({
        client_id: webClient.client_id, response_type: "code", redirect_uri: web.redirectUri, scope, resource,
        code_challenge: challenge, code_challenge_method: "S256", state, nonce: state,
      })}`);
      let code;
      for (let hop = 0; hop < 12 && !code; hop++) {
        const location = res.headers.get("location");
        if (!location) throw new Error(`login: ${res.status} without a redirect: ${(await res.text()).slice(0, 300)}`);
        const target = new URL(location, op.iss);
        if (target.href.startsWith(web.redirectUri)) {
          if (target.searchParams.get("state") !== state) throw new Error(`login: state mismatch in ${target.search}`);
          code = target.searchParams.get("code");
          if (!code) throw new Error(`login: no code: ${target.search}`);
        } else if (target.pathname.startsWith("/interaction/")) {
          const page = await (await browser.get(target.pathname)).text();
          const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
          const form = prompt === "login" ? { prompt, login: user, password: "any" } : { prompt };
          if (prompt !== "login" && prompt !== "consent") throw new Error(`login: unexpected interaction page: ${page.slice(0, 300)}`);
          res = await browser.post(target.pathname, form);
        } else {
          res = await browser.get(target.pathname + target.search);
        }
      }
      if (!code) throw new Error("login: too many redirects");
      const tokens = await browser.post("/token", {
        grant_type: "authorization_code", code, redirect_uri: web.redirectUri, code_verifier: verifier,
      }, { authorization: basic(webClient) });
      const body = await tokens.json();
      if (tokens.status !== 200) throw new Error(`token endpoint ${tokens.status}: ${JSON.stringify(body)}`);
      return { accessToken: body.access_token, idToken: body.id_token, browser };
    },

    /// RP-initiated logout in `browser` (the session `login` made): the confirmation page with the
    /// `id_token_hint`, then the form's POST. The provider makes its back-channel logout calls before it
    /// answers that POST. Resolves with { status, sentAt } (`sentAt`: `performance.now()` as the POST
    /// left).
    async logout({ idToken, browser }) {
      const page = await browser.get(`/session/end?${new URLSearchParams({ id_token_hint: idToken, client_id: webClient.client_id })}`);
      const html = await page.text();
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
      if (page.status !== 200 || !xsrf) throw new Error(`logout: ${page.status} without a form: ${html.slice(0, 300)}`);
      const sentAt = performance.now();
      const confirm = await browser.post("/session/end/confirm", { xsrf, logout: "yes" });
      if (confirm.status !== 303) throw new Error(`logout confirm: ${confirm.status} ${(await confirm.text()).slice(0, 300)}`);
      return { status: confirm.status, sentAt };
    },

    /// An access token from the token endpoint (client credentials), over a fresh connection each time
    /// (the provider may restart between calls).
    accessToken({ scope = "orders:read", resource = audience } = {}) {
      const form = new URLSearchParams({ grant_type: "client_credentials", scope, resource }).toString();
      return new Promise((resolve, reject) => {
        const req = request(`${op.iss}/token`, {
          method: "POST",
          agent: false,
          timeout: 10_000,
          headers: {
            authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString("base64")}`,
            "content-type": "application/x-www-form-urlencoded",
            "content-length": Buffer.byteLength(form),
          },
        }, (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            const body = JSON.parse(Buffer.concat(chunks).toString());
            if (res.statusCode !== 200) reject(new Error(`token endpoint ${res.statusCode}: ${JSON.stringify(body)}`));
            else resolve(body.access_token);
          });
        });
        req.on("timeout", () => req.destroy(new Error("token endpoint: no answer in 10 s")));
        req.on("error", reject);
        req.end(form);
      });
    },
  };
  return op;
}
