// `edge-auth/hono`: the origin's side as Hono middleware, on every runtime Hono runs on (Node, Deno, Bun,
// Workers). No dependency on Hono: a middleware is `(c, next)`.
//
//   const auth = edgeAuth(verifier, { publicUrl: "https://api.example.com" });
//   app.get("/orders", auth({ scopes: ["orders:read"] }), (c) => c.json(c.get("edgeAuth")));
//
// A verified request goes on with the identity in `c.get("edgeAuth")`; a refused one is answered with
// the Worker's answer to the same refusal (status, `WWW-Authenticate`, `Retry-After`, problem+json
// body), all decided by `verifier.authorize`. Anything that is not a refusal is thrown (Hono's onError).
import { originOptions, publicUrlOf, requirementOf } from "./origin.js";

/// `edgeAuth(verifier, { publicUrl?, trustForwarded? })` → `(requirement?) => middleware`.
export function edgeAuth(verifier, options = {}) {
  const settings = originOptions(verifier, options, "edgeAuth");
  return function forRoute(requirement = {}) {
    const { scopes, roles } = requirementOf(requirement, "edgeAuth(…)(requirement)");
    return async function edgeAuthMiddleware(c, next) {
      const request = c.req.raw;
      const url = new URL(request.url);
      const own = { scheme: url.protocol.slice(0, -1), host: url.host };
      const publicUrl = publicUrlOf(settings, own, url.pathname, (name) => request.headers.get(name) ?? undefined);
      const answer = await verifier.authorize(request, { publicUrl, scopes, roles });
      if (answer.refusal) {
        const { status, headers, body } = answer.refusal;
        return new Response(body, { status, headers });
      }
      c.set("edgeAuth", answer.identity);
      await next();
    };
  };
}
