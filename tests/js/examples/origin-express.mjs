import express from "express";
import { createAssertionVerifier } from "edge-auth";
import { edgeAuth } from "edge-auth/express";

const verifier = await createAssertionVerifier({
  jwks_uri: "https://api.example.com/.well-known/edge-auth/jwks.json",
  issuer: "https://edge.example.com",
  audience: "https://origin.example.com",
});
const auth = edgeAuth(verifier, { publicUrl: "https://api.example.com" });

const app = express();
app.get("/orders", auth({ scopes: ["orders:read"] }), (req, res) =>
  res.json({ caller: req.edgeAuth.claims.sub, scopes: req.edgeAuth.scopes }));
app.get("/admin", auth({ roles: ["admin"] }), (req, res) => res.json({ admin: req.edgeAuth.claims.sub }));

export default app; // app.listen(8080)
