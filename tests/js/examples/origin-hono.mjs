import { Hono } from "hono";
import { createAssertionVerifier } from "edge-auth";
import { edgeAuth } from "edge-auth/hono";

const verifier = await createAssertionVerifier({
  jwks_uri: "https://api.example.com/.well-known/edge-auth/jwks.json",
  issuer: "https://edge.example.com",
  audience: "https://origin.example.com",
});
const auth = edgeAuth(verifier, { publicUrl: "https://api.example.com" });

const app = new Hono();
app.get("/orders", auth({ scopes: ["orders:read"] }), (c) =>
  c.json({ caller: c.get("edgeAuth").claims.sub, scopes: c.get("edgeAuth").scopes }));
app.get("/admin", auth({ roles: ["admin"] }), (c) => c.json({ admin: c.get("edgeAuth").claims.sub }));

export default app; // Deno.serve(app.fetch), Bun.serve(app), @hono/node-server's serve(app)
