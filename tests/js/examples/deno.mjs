import { createGate, withEdgeAuth } from "edge-auth";

const gate = await createGate(JSON.parse(Deno.env.get("EDGE_AUTH")), {
  secrets: { EDGE_AUTH_SIGNING_KEY: Deno.env.get("EDGE_AUTH_SIGNING_KEY") },
});

Deno.serve(
  { hostname: "127.0.0.1", port: Number(Deno.env.get("PORT") ?? 8000) },
  withEdgeAuth(gate, (request, identity) =>
    Response.json({ path: new URL(request.url).pathname, caller: identity.claims.sub })),
);
