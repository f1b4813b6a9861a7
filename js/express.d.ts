// Types of `edge-auth/express`: the origin's side as Connect-style middleware (Express 4 and 5, Connect,
// Node `http`). See README.md, "Origins: Express and Hono middleware".
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AssertionVerifier, Identity, Requirement } from "./index.js";

/** The middlewares' shared options. */
export interface OriginOptions {
  /** The edge's public origin, `https://host[:port]`: `htu` must be it + the path as received. Default:
   * the request's own (`Host` header, TLS on the socket) — set it whenever the origin is reached under
   * another host than the edge's (the Worker's `ORIGIN`). */
  publicUrl?: string;
  /** Take the scheme and host from `Forwarded` (its first element), else `X-Forwarded-Proto` /
   * `X-Forwarded-Host`, when present. Only behind a proxy that sets them (default false). */
  trustForwarded?: boolean;
}

/** A Connect-style middleware; a verified request carries `req.edgeAuth`. */
export type EdgeAuthMiddleware = (
  req: IncomingMessage & { originalUrl?: string; edgeAuth?: Identity },
  res: ServerResponse,
  next: (error?: unknown) => void,
) => Promise<void>;

/**
 * `edgeAuth(verifier, options)` → `require(requirement?)`, which makes the middleware for a route: it
 * verifies the assertion, its binding to the request (`htm`, `htu` against `publicUrl` + the path as
 * received, `ath` when the token is forwarded) and the route's `scopes` / `roles`, then sets
 * `req.edgeAuth` and calls `next()`; a refusal is answered as the Worker answers it (401
 * `invalid_token` / `token_missing`, 403 `insufficient_scope` / `role_missing`, 503 `keys_unavailable`
 * with `Retry-After`; problem+json); anything else goes to `next(error)`.
 *
 * @example
 * import express from "express";
 * import { createAssertionVerifier } from "edge-auth";
 * import { edgeAuth } from "edge-auth/express";
 * const verifier = await createAssertionVerifier({ jwks_uri: "https://api.example.com/.well-known/edge-auth/jwks.json",
 *   issuer: "https://edge.example.com", audience: "https://origin.example.com" });
 * const auth = edgeAuth(verifier, { publicUrl: "https://api.example.com" });
 * const app = express();
 * app.get("/orders", auth({ scopes: ["orders:read"] }), (req, res) => res.json(req.edgeAuth));
 */
export function edgeAuth(verifier: AssertionVerifier, options?: OriginOptions): (requirement?: Requirement) => EdgeAuthMiddleware;

declare global {
  namespace Express {
    interface Request {
      /** The verified caller, set by `edge-auth/express`. */
      edgeAuth?: Identity;
    }
  }
}
