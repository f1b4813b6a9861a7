// The demo origin: listens on 127.0.0.1, verifies the edge-auth assertion of every request with `jose`
// against the Worker's JWKS (one library call), checks its request binding, and echoes the identity.
// Used by scripts/demo.sh; never deploy it.
import { createServer } from "node:http";
import * as jose from "jose";

const port = Number(process.env.DEMO_ORIGIN_PORT ?? 8788);
const jwks = jose.createRemoteJWKSet(new URL(process.env.EDGE_JWKS_URL));
const issuer = process.env.EDGE_ASSERTION_ISSUER;
const audience = process.env.EDGE_ASSERTION_AUDIENCE;

createServer(async (req, res) => {
  const reply = (status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body, null, 2) + "\n");
  };
  const assertion = req.headers["edge-auth-assertion"];
  if (!assertion) return reply(200, { origin: "demo", identity: null, note: "no assertion (a public route)" });
  try {
    const { payload } = await jose.jwtVerify(assertion, jwks, { issuer, audience, typ: "edge-auth+jwt" });
    const path = new URL(payload.htu).pathname;
    if (payload.htm !== req.method || path !== new URL(req.url, "http://origin").pathname) {
      return reply(401, { origin: "demo", error: "assertion bound to another request" });
    }
    const { sub, src_iss, scope, roles, htm, htu } = payload;
    reply(200, { origin: "demo", verified_by: "jose.jwtVerify against the Worker's JWKS", identity: { sub, src_iss, scope, roles }, request: { htm, htu } });
  } catch (e) {
    reply(401, { origin: "demo", error: String(e.code ?? e.message) });
  }
}).listen(port, "127.0.0.1", () => console.log(`demo origin on http://127.0.0.1:${port}`));
