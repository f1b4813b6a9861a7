// A real OpenID provider on loopback for the tests: `oidc-provider` (a certified implementation) with one
// client-credentials client issuing JWT access tokens (RFC 9068, ES256) for one resource (audience).
// Used by tests/worker/oidc.test.mjs and tests/e2e/. It keeps its port across restarts (`start` again
// with other keys to rotate), counts discovery and JWKS fetches, and can delay its key documents.
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

/// A provider for `audience` granting `scopes` (space-separated list of what the client may ask for).
/// Not listening until `start(keys)`.
export async function oidcProvider({ audience, scopes = ["orders:read"], clientId = "orders-service" }) {
  const client = { client_id: clientId, client_secret: "a-client-secret-for-the-loopback-provider-only" };
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

    /// (Re)starts the provider on its port with these signing keys (the first one signs).
    async start(keys) {
      const provider = new Provider(op.iss, {
        clients: [{ ...client, grant_types: ["client_credentials"], redirect_uris: [], response_types: [], id_token_signed_response_alg: "ES256" }],
        jwks: { keys },
        scopes,
        features: {
          clientCredentials: { enabled: true },
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
