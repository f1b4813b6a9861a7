// A tiny Hono origin behind the edge, for the end-to-end run (tests/e2e/) and tests/js/origin.test.mjs:
//   node tests/js/origins/hono.mjs
// Its packages come from tests/js/node_modules (bash scripts/setup-js-tests.sh; `edge-auth` is linked
// to js/, which bash scripts/build-js.sh builds). Configured by the environment:
//   EDGE_AUTH_JWKS_URL      the edge's JWKS, e.g. http://127.0.0.1:8787/.well-known/edge-auth/jwks.json
//   EDGE_AUTH_ISSUER        the edge's assertion.issuer
//   EDGE_AUTH_AUDIENCE      the edge's assertion.audience
//   PUBLIC_URL              the edge's public origin, e.g. http://127.0.0.1:8787 (htu = it + the path)
//   EDGE_AUTH_REMOTE_KEYS   optional: JSON of remote_keys, e.g. {"allow_loopback_http":true,"error_backoff_seconds":1}
//                           (an http:// JWKS URL needs allow_loopback_http)
//   TRUST_FORWARDED         optional: 1 = take scheme and host from Forwarded / X-Forwarded-*
//   HOST, PORT              where to listen (default 127.0.0.1 and 0, an ephemeral port)
// Prints `listening on http://HOST:PORT` once it accepts connections. Routes (any method):
//   /orders  needs scope orders:read   → 200 with the identity as JSON
//   /admin   needs role admin          → 200 with the identity as JSON
//   /healthz no assertion needed       → 200 "ok"
// Refusals are the Worker's (401 / 403 / 503, problem+json). SIGTERM / SIGINT stop it.
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { createAssertionVerifier } from "edge-auth";
import { edgeAuth } from "edge-auth/hono";

const env = process.env;
const required = (name) => {
  const value = env[name];
  if (!value) {
    console.error(`origins/hono.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
};

const verifier = await createAssertionVerifier({
  jwks_uri: required("EDGE_AUTH_JWKS_URL"),
  issuer: required("EDGE_AUTH_ISSUER"),
  audience: required("EDGE_AUTH_AUDIENCE"),
  ...(env.EDGE_AUTH_REMOTE_KEYS ? { remote_keys: JSON.parse(env.EDGE_AUTH_REMOTE_KEYS) } : {}),
});
const auth = edgeAuth(verifier, { publicUrl: required("PUBLIC_URL"), trustForwarded: env.TRUST_FORWARDED === "1" });

const app = new Hono();
app.all("/orders", auth({ scopes: ["orders:read"] }), (c) => c.json(c.get("edgeAuth")));
app.all("/admin", auth({ roles: ["admin"] }), (c) => c.json(c.get("edgeAuth")));
app.get("/healthz", (c) => c.text("ok"));

const server = serve({ fetch: app.fetch, hostname: env.HOST || "127.0.0.1", port: Number(env.PORT || 0) }, (info) => {
  console.log(`listening on http://${info.address}:${info.port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
