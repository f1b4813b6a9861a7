// `edge-auth/express`: the origin's side as Connect-style middleware (Express 4 and 5, Connect, Node's
// `http` with a `(req, res, next)` chain). No dependency on Express: it reads the Node request and
// writes the Node response.
//
//   const auth = edgeAuth(verifier, { publicUrl: "https://api.example.com" });
//   app.get("/orders", auth({ scopes: ["orders:read"] }), (req, res) => res.json(req.edgeAuth));
//
// A verified request goes on with the identity in `req.edgeAuth`; a refused one is answered here, as the
// Worker answers the same refusal (status, `WWW-Authenticate`, `Retry-After`, problem+json body) — all
// decided by `verifier.authorize`. Anything that is not a refusal goes to `next(error)`.
import { originOptions, publicUrlOf, requirementOf } from "./origin.js";

/// The request's own scheme and host: TLS on the socket, and the `Host` header.
function ownOrigin(req) {
  return { scheme: req.socket?.encrypted ? "https" : "http", host: req.headers?.host };
}

function header(req) {
  return (name) => {
    const value = req.headers?.[name];
    return Array.isArray(value) ? value.join(", ") : value;
  };
}

/// `edgeAuth(verifier, { publicUrl?, trustForwarded? })` → `(requirement?) => middleware`.
export function edgeAuth(verifier, options = {}) {
  const settings = originOptions(verifier, options, "edgeAuth");
  return function forRoute(requirement = {}) {
    const { scopes, roles } = requirementOf(requirement, "edgeAuth(…)(requirement)");
    return async function edgeAuthMiddleware(req, res, next) {
      let answer;
      try {
        // `originalUrl`: the path as received, also inside a mounted router (Express); `url` elsewhere.
        const path = req.originalUrl ?? req.url ?? "/";
        const publicUrl = publicUrlOf(settings, ownOrigin(req), path, header(req));
        answer = await verifier.authorize(req, { publicUrl, scopes, roles });
      } catch (error) {
        next(error);
        return;
      }
      if (answer.refusal) {
        const { status, headers, body } = answer.refusal;
        res.statusCode = status;
        for (const [name, value] of headers) res.setHeader(name, value);
        res.end(body);
        return;
      }
      req.edgeAuth = answer.identity;
      next();
    };
  };
}
