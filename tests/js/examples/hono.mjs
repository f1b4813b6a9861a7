import { Hono } from "hono";
import { createGate, withEdgeAuth } from "edge-auth";

const gate = await createGate(JSON.parse(process.env.EDGE_AUTH), {
  secrets: { EDGE_AUTH_SIGNING_KEY: process.env.EDGE_AUTH_SIGNING_KEY },
});
const app = new Hono();
app.get("/orders/:id", (c) => c.json({ order: c.req.param("id"), caller: c.env.identity.claims.sub }));

export default { fetch: withEdgeAuth(gate, (request, identity) => app.fetch(request, { identity })) };
