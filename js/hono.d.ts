// Types of `edge-auth/hono`: the origin's side as Hono middleware. See README.md, "Origins: Express and
// Hono middleware".
import type { MiddlewareHandler } from "hono";
import type { AssertionVerifier, Identity, Requirement } from "./index.js";
import type { OriginOptions } from "./express.js";

export type { OriginOptions };

/** The context variables the middleware sets: `c.get("edgeAuth")`. Type an app with it:
 * `new Hono<{ Variables: EdgeAuthVariables }>()`. */
export type EdgeAuthVariables = { edgeAuth: Identity };

/**
 * `edgeAuth(verifier, options)` → `require(requirement?)`, which makes the middleware for a route: it
 * verifies the assertion, its binding to the request (`htm`, `htu` against `publicUrl` + the path as
 * received, `ath` when the token is forwarded) and the route's `scopes` / `roles`, then sets
 * `c.set("edgeAuth", identity)`; a refusal is answered as the Worker answers it (401 `invalid_token` /
 * `token_missing`, 403 `insufficient_scope` / `role_missing`, 503 `keys_unavailable` with
 * `Retry-After`; problem+json); anything else is thrown to Hono's `onError`.
 *
 * @example
 * import { Hono } from "hono";
 * import { createAssertionVerifier } from "edge-auth";
 * import { edgeAuth } from "edge-auth/hono";
 * const verifier = await createAssertionVerifier({ jwks_uri: "https://api.example.com/.well-known/edge-auth/jwks.json",
 *   issuer: "https://edge.example.com", audience: "https://origin.example.com" });
 * const auth = edgeAuth(verifier, { publicUrl: "https://api.example.com" });
 * const app = new Hono();
 * app.get("/orders", auth({ scopes: ["orders:read"] }), (c) => c.json(c.get("edgeAuth")));
 */
export function edgeAuth(
  verifier: AssertionVerifier,
  options?: OriginOptions,
): (requirement?: Requirement) => MiddlewareHandler<{ Variables: EdgeAuthVariables }>;
