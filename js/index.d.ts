// Types of `edge-auth`, the npm package of the edge-auth verifier and gate (Rust core, WebAssembly).
// The same declarations serve every entry: Node ≥ 20, Deno 2 and Bun (`index.js`), browsers
// (`browser.js`) and Cloudflare Workers written in JS (`workers.js`); see README.md.

/** Every stable code an {@link EdgeAuthError} can have: the core's token codes, then the gate's (the
 * same list as the CLI and the Worker). */
export type StableCode =
  | "token_too_large" | "token_malformed" | "token_unsupported" | "alg_not_allowed" | "embedded_key_refused"
  | "crit_unsupported" | "key_not_found" | "key_ambiguous" | "signature_invalid" | "issuer_unknown"
  | "claim_invalid" | "claim_missing" | "token_expired" | "token_not_yet_valid" | "token_issued_in_future"
  | "token_too_old" | "audience_mismatch" | "typ_mismatch" | "binding_mismatch" | "keys_unavailable"
  | "token_missing" | "multiple_tokens" | "authorization_malformed" | "path_ambiguous" | "path_malformed"
  | "issuer_not_allowed" | "insufficient_scope" | "role_missing" | "claim_mismatch" | "binding_refused"
  | "csrf_refused" | "cors_refused" | "config_invalid" | "origin_unreachable" | "internal_error"
  // With `revocation` (the Worker only; `createGate` refuses such a configuration).
  | "token_revoked" | "revocation_unavailable" | "revocation_store_full" | "revoke_request_invalid"
  | "method_not_allowed" | "logout_token_missing" | "logout_token_invalid" | "logout_token_replayed"
  | "logout_not_configured";

/** The JWS algorithms edge-auth knows. */
export type Algorithm =
  | "HS256" | "HS384" | "HS512" | "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512"
  | "ES256" | "ES384" | "ES512" | "ES256K" | "EdDSA";

/** A JSON object (a JWT header or claims set, a JWK). */
export type JsonObject = { [member: string]: unknown };

/** A JSON Web Key. */
export type Jwk = JsonObject & { kty: string; kid?: string; alg?: string };

/** A JSON Web Key Set. */
export interface Jwks {
  keys: Jwk[];
}

/** Seconds since the Unix epoch (or a `Date`): the time a token is verified at. */
export type Time = number | Date;

/** A `fetch` for remote keys: `(url, init)` → `Response` (the runtime's `fetch` by default). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The `EDGE_AUTH` configuration: the Worker's schema (README.md, "Configuring the Worker"), as an
 * object or as its JSON text. Every mistake is an {@link EdgeAuthError} `config_invalid` naming its field
 * path (`issuers[0].audiences: empty list`). */
export type EdgeAuthConfig = string | (JsonObject & { issuers: IssuerConfig[] });

/** One issuer of `EDGE_AUTH.issuers`. Keys: inline `jwks`, `jwks_uri`, `discovery: true`, or `hmac_secret`
 * (the name of a secret whose text is the HMAC key). */
export type IssuerConfig = JsonObject & {
  issuer: string;
  audiences: string[];
  algorithms: Algorithm[];
  jwks?: Jwks;
  jwks_uri?: string;
  discovery?: boolean;
  hmac_secret?: string;
};

/** The verifier part of `EDGE_AUTH` ({@link createVerifier}): `issuers`, `leeway_seconds`,
 * `max_token_bytes`, `cache` and `remote_keys`, with the Worker's field names and rules. */
export type VerifierConfig = string | {
  issuers: IssuerConfig[];
  leeway_seconds?: number;
  max_token_bytes?: number;
  cache?: { max_entries?: number; max_bytes?: number; max_ttl_seconds?: number };
  remote_keys?: {
    min_ttl_seconds?: number;
    max_ttl_seconds?: number;
    kid_cooldown_seconds?: number;
    stale_if_error_seconds?: number;
    error_backoff_seconds?: number;
    timeout_ms?: number;
    max_bytes?: number;
    allow_loopback_http?: boolean;
  };
};

/** Secrets by name, as Workers secrets are: strings (an assertion key is its private JWK as JSON text). */
export type Secrets = Record<string, string>;

/** A warning code of {@link decode}. */
export type WarningCode =
  | "alg_none" | "expired" | "not_yet_valid" | "iat_future" | "embedded_key" | "crit" | "duplicate_member"
  | "non_canonical_base64url" | "jwe" | "nested_jwt" | "exp_missing" | "aud_missing" | "not_jws";

/** One finding of {@link decode}. */
export interface Warning {
  code: WarningCode;
  /** A sentence for a person; it never repeats the token. */
  message: string;
}

/** What {@link decode} shows: UNVERIFIED. */
export interface Decoded {
  /** The protected header, as a lax decoder reads it (`null` when it cannot be read). */
  header: JsonObject | null;
  /** The claims; `null` for a JWE or anything that is not a JWS carrying a JSON object. */
  payload: JsonObject | null;
  warnings: Warning[];
}

/**
 * Shows a token's header and payload WITHOUT verifying anything, with a warning for everything a strict
 * verifier refuses or a reader should know (`alg: none`, expiry, embedded keys, `crit`, duplicate
 * members, non-canonical base64url, JWE, nested JWT, missing `exp`/`aud`). Synchronous; never throws.
 *
 * @example
 * import { decode } from "edge-auth";
 * const { header, payload, warnings } = decode("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLTEifQ.");
 * console.log(header.alg, payload.sub, warnings.map((w) => w.code)); // none user-1 [ 'alg_none', 'exp_missing', 'aud_missing' ]
 */
export function decode(token: string, options?: { now?: Time }): Decoded;

/**
 * Every refusal of a token or a request, and every configuration mistake. `code` is a stable code;
 * `message` never contains the token, a key or a secret. `keys_unavailable` (the issuer's keys could not
 * be fetched) carries `retryAfter`, in seconds.
 *
 * @example
 * import { createVerifier, EdgeAuthError } from "edge-auth";
 * const verifier = await createVerifier({ issuers: [{ issuer: "https://idp.example/", audiences: ["api"],
 *   algorithms: ["HS256"], hmac_secret: "IDP_SECRET" }] }, { secrets: { IDP_SECRET: "a".repeat(32) } });
 * try {
 *   await verifier.verify("not-a-token");
 * } catch (error) {
 *   if (error instanceof EdgeAuthError) console.log(error.code); // token_malformed
 * }
 */
export class EdgeAuthError extends Error {
  constructor(code: StableCode, message: string, options?: { cause?: unknown; retryAfter?: number });
  readonly name: "EdgeAuthError";
  readonly code: StableCode;
  /** For `keys_unavailable`: seconds before a new attempt can succeed. */
  readonly retryAfter?: number;
}

/** A verified caller. */
export interface Identity {
  /** The token's protected header. */
  header: JsonObject & { alg: string; kid?: string; typ?: string };
  /** All claims of the token. */
  claims: JsonObject & { iss?: string; sub?: string; aud?: string | string[]; exp?: number };
  /** The token's issuer (for an assertion: `src_iss`, the caller's token issuer). */
  issuer: string;
  /** From the issuer's `scope_claims` (default `scope`, `scp`), without duplicates. */
  scopes: string[];
  /** From the issuer's `role_claims` (default `roles`), without duplicates. */
  roles: string[];
}

/** A compiled verifier ({@link createVerifier}). */
export interface Verifier {
  /** Verifies the signature, then the claims, at `now` (default: the clock). Rejects with an
   * {@link EdgeAuthError}. A repeated token comes from the verifier's cache (time rules re-checked). */
  verify(token: string, options?: { now?: Time }): Promise<Identity>;
}

/**
 * Compiles the verifier part of an `EDGE_AUTH` configuration once: RS/PS/ES/EdDSA signatures with
 * WebCrypto, HS* and ES256K in Rust; remote keys (`jwks_uri`, `discovery`) under the Worker's rules
 * (cache, one fetch shared by concurrent callers, one refetch per unknown `kid` per cooldown,
 * stale-if-error, backoff; `keys_unavailable` when nothing usable). It resolves even when a key provider
 * is down.
 *
 * @example
 * import { createVerifier, keygen, mint } from "edge-auth";
 * const { jwk, jwks } = await keygen("ES256");
 * const verifier = await createVerifier({ issuers: [{ issuer: "https://idp.example/", audiences: ["api"],
 *   algorithms: ["ES256"], jwks }] });
 * const token = await mint(jwk, { iss: "https://idp.example/", aud: "api", sub: "user-1",
 *   exp: Math.floor(Date.now() / 1000) + 600, scope: "orders:read" });
 * const { claims, scopes } = await verifier.verify(token);
 * console.log(claims.sub, scopes); // user-1 [ 'orders:read' ]
 */
export function createVerifier(config: VerifierConfig, options?: { secrets?: Secrets; fetch?: FetchLike }): Promise<Verifier>;

/**
 * Checks a compact JWS's structure, header rules and signature only (no claims; any payload), the CLI's
 * `verify --signature-only`, and resolves to the payload bytes. Without `algorithm` the key's own `alg`,
 * or the one algorithm its type serves (EC, OKP), is used.
 *
 * @example
 * import { keygen, mint, verifySignature } from "edge-auth";
 * const { jwk, jwks } = await keygen("EdDSA");
 * const token = await mint(jwk, { hello: "world" });
 * const bytes = await verifySignature(token, jwks.keys[0]);
 * console.log(new TextDecoder().decode(bytes)); // {"hello":"world"}
 */
export function verifySignature(token: string, jwk: Jwk | string, options?: { algorithm?: Algorithm }): Promise<Uint8Array>;

/** What {@link Gate.handle} decides: an answer of the edge's own, or a request to forward. */
export type GateResult =
  | { response: Response; request?: undefined; identity?: undefined }
  | { response?: undefined; request: Request; identity: Identity | null };

/** A compiled gate ({@link createGate}). */
export interface Gate {
  /**
   * Decides what to do with a request, exactly as the Worker does: `{ response }` for everything the edge
   * answers itself (a refusal with the Worker's status, `WWW-Authenticate` and problem body; a CORS
   * preflight; the assertion JWKS at `/.well-known/edge-auth/jwks.json`), or `{ request, identity }`: the
   * request to forward (at `origin` + the normalized path + the query as received; the original method
   * and body stream; `Authorization` and the token cookie removed unless `forward_token`; inbound
   * assertion headers removed; the signed assertion attached) and the caller (`null`: anonymous).
   */
  handle(request: Request): Promise<GateResult>;
  /** The answer to a forwarded request as the edge sends it: with a `cors` section the edge owns its
   * `Access-Control-*` headers (and adds `Vary: Origin`); otherwise it is returned as it is. */
  respond(request: Request, response: Response): Response;
}

/**
 * Compiles `EDGE_AUTH` with its secrets once (and `origin`, the Worker's `ORIGIN`:
 * `https://host[:port][/prefix]`). Rejects with `config_invalid` naming every mistake.
 *
 * @example
 * import { createGate, keygen } from "edge-auth";
 * const idp = await keygen("ES256");
 * const edge = await keygen("EdDSA");
 * const gate = await createGate({
 *   issuers: [{ issuer: "https://idp.example/", audiences: ["https://api.example.com"], algorithms: ["ES256"], jwks: idp.jwks }],
 *   assertion: { issuer: "https://edge.example.com", audience: "https://origin.example.com", signing_key_secret: "SIGNING" },
 *   routes: [{ path: "/public/*", auth: "none" }],
 * }, { secrets: { SIGNING: JSON.stringify(edge.jwk) } });
 * const { response } = await gate.handle(new Request("https://api.example.com/orders/1"));
 * console.log(response.status, (await response.json()).code); // 401 token_missing
 */
export function createGate(config: EdgeAuthConfig, options?: { secrets?: Secrets; origin?: string; fetch?: FetchLike }): Promise<Gate>;

/**
 * Wraps a fetch-style handler (Workers, Deno.serve, Bun.serve, Hono, Next.js route handlers) behind the
 * gate: what the edge answers itself is returned without calling the handler; a forward calls
 * `handler(forwardedRequest, identity, ...rest)` and gives its response the edge's CORS headers.
 *
 * @example
 * import { createGate, keygen, withEdgeAuth } from "edge-auth";
 * const idp = await keygen("ES256");
 * const edge = await keygen("EdDSA");
 * const gate = await createGate({
 *   issuers: [{ issuer: "https://idp.example/", audiences: ["https://api.example.com"], algorithms: ["ES256"], jwks: idp.jwks }],
 *   assertion: { issuer: "https://edge.example.com", audience: "https://origin.example.com", signing_key_secret: "SIGNING" },
 * }, { secrets: { SIGNING: JSON.stringify(edge.jwk) } });
 * const fetchHandler = withEdgeAuth(gate, (request, identity) => Response.json({ caller: identity?.claims.sub }));
 * console.log((await fetchHandler(new Request("https://api.example.com/me"))).status); // 401
 */
export function withEdgeAuth<Rest extends unknown[]>(
  gate: Gate,
  handler: (request: Request, identity: Identity | null, ...rest: Rest) => Response | Promise<Response>,
): (request: Request, ...rest: Rest) => Promise<Response>;

/** A request as Node's `http` (and Express) gives it: lower-cased header names. */
export interface NodeRequestLike {
  method?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A refused request as the origin answers it ({@link AssertionVerifier.authorize}): the Worker's answer
 * to the same refusal, and the error {@link AssertionVerifier.verifyRequest} rejects with. */
export interface Refusal {
  /** 401 (`WWW-Authenticate: Bearer realm="…", error="invalid_token", error_description="<code>"`; for
   * `token_missing`, `Bearer realm="…"` alone), 403 (`error="insufficient_scope"`, with `scope="…"` when
   * scopes are missing), 400 (a malformed `Authorization`) or 503 (`keys_unavailable`, with `Retry-After`). */
  status: number;
  /** `[name, value]` pairs, lower-case names: `content-type: application/problem+json`,
   * `cache-control: no-store`, then `www-authenticate` and `retry-after` as they apply. */
  headers: [string, string][];
  /** The `application/problem+json` body (RFC 9457): `{ type, title, status, code, detail }`. */
  body: string;
  code: StableCode;
  error: EdgeAuthError;
}

/** What a route needs beyond a valid assertion: every scope of `scopes` and every role of `roles`. */
export interface Requirement {
  scopes?: string[];
  roles?: string[];
}

/** The origin's assertion verifier ({@link createAssertionVerifier}). */
export interface AssertionVerifier {
  /** The header the assertion comes in, lower-cased (`edge-auth-assertion` unless `header` says). */
  readonly header: string;
  /**
   * Verifies the request's assertion (`typ: edge-auth+jwt`, the edge's key, issuer, audience, `iat`/`exp`/
   * `jti`) and its binding to the actual request: `htm` (the method), `htu` (the public URL: `publicUrl`,
   * else the request's own URL; the query is not part of it) and, when the request carries
   * `Authorization: Bearer`, `ath`. Resolves to the identity (`claims` are the assertion's: `sub`,
   * `src_iss`, …). A request without an assertion rejects with `token_missing`; a replay to another
   * method or URL with `binding_mismatch`; missing `scopes` / `roles` with `insufficient_scope` /
   * `role_missing`.
   */
  verifyRequest(request: Request | NodeRequestLike, options?: { publicUrl?: string; now?: Time } & Requirement): Promise<Identity>;
  /**
   * What {@link verifyRequest} checks, answered as the Worker answers: `{ identity }`, or `{ refusal }`
   * with the status, headers and problem body to send (the building block of `edge-auth/express` and
   * `edge-auth/hono`; use it for another framework). Rejects only for what is not a refusal (a wrong
   * argument).
   *
   * @example
   * import { createAssertionVerifier, keygen } from "edge-auth";
   * const edge = await keygen("EdDSA");
   * const origin = await createAssertionVerifier({ jwks: edge.jwks, issuer: "https://edge.example.com", audience: "https://origin.example.com" });
   * const { refusal } = await origin.authorize(new Request("https://api.example.com/orders"));
   * console.log(refusal.status, refusal.headers.find(([n]) => n === "www-authenticate")[1]); // 401 Bearer realm="edge-auth"
   */
  authorize(request: Request | NodeRequestLike, options?: { publicUrl?: string; now?: Time } & Requirement): Promise<
    { identity: Identity; refusal?: undefined } | { identity?: undefined; refusal: Refusal }
  >;
}

/** `createAssertionVerifier`'s options. */
export interface AssertionVerifierOptions {
  /** The edge's JWKS (`/.well-known/edge-auth/jwks.json`), inline… */
  jwks?: Jwks;
  /** …or its URL (`https`; `http` on a loopback host with `remote_keys.allow_loopback_http`), fetched
   * under the Worker's remote-key rules: on first use (creating the verifier never waits for it), kept
   * for its `Cache-Control` (clamped), one refetch per unknown `kid` per `kid_cooldown_seconds`, the last
   * good set kept while fetches fail (`stale_if_error_seconds`), `keys_unavailable` (503) when there is
   * no usable set. */
  jwks_uri?: string;
  /** The edge's `assertion.issuer`. */
  issuer: string;
  /** The edge's `assertion.audience` (this origin). */
  audience: string;
  /** Clock leeway in seconds (default 10). */
  leeway_seconds?: number;
  /** The header the assertion comes in (the edge's `assertion.header`; default `Edge-Auth-Assertion`). */
  header?: string;
  /** The `realm` of the refusals' `WWW-Authenticate` (default `edge-auth`, as the Worker's). */
  realm?: string;
  /** The remote-key rules for `jwks_uri`: the Worker's `remote_keys`, same fields, bounds and defaults. */
  remote_keys?: Exclude<VerifierConfig, string>["remote_keys"];
}

/**
 * The origin's side: verifies the assertion the edge (the Worker, or {@link createGate}) attaches, for JS
 * origins (fetch handlers, Hono, Express, Node `http`; the middlewares are `edge-auth/express` and
 * `edge-auth/hono`). `jwks` is the edge's `/.well-known/edge-auth/jwks.json`, or `jwks_uri` names it.
 *
 * @example
 * import { createAssertionVerifier, createGate, keygen } from "edge-auth";
 * const idp = await keygen("ES256");
 * const edge = await keygen("EdDSA");
 * const gate = await createGate({
 *   issuers: [{ issuer: "https://idp.example/", audiences: ["https://api.example.com"], algorithms: ["ES256"], jwks: idp.jwks }],
 *   assertion: { issuer: "https://edge.example.com", audience: "https://origin.example.com", signing_key_secret: "SIGNING" },
 * }, { secrets: { SIGNING: JSON.stringify(edge.jwk) } });
 * const origin = await createAssertionVerifier({ jwks: edge.jwks, issuer: "https://edge.example.com", audience: "https://origin.example.com" });
 * const unsigned = await origin.verifyRequest(new Request("https://api.example.com/orders/1")).catch((e) => e.code);
 * console.log(unsigned); // token_missing
 */
export function createAssertionVerifier(options: AssertionVerifierOptions, init?: { fetch?: FetchLike }): Promise<AssertionVerifier>;

/** A route rule as configured. */
export interface ExplainedRoute {
  /** Its position in `routes` (`null`: the default rule). */
  index: number | null;
  pattern: string;
  methods: string[] | null;
  auth: "none" | "optional" | "required";
  issuers: string[] | null;
}

/** The token's verification, as `explain` saw it. */
export interface ExplainedToken {
  source: "header" | "cookie";
  /** `ok`, or the stable refusal code. */
  code: "ok" | StableCode;
  error: string | null;
  issuer: string | null;
  subject: string | null;
  algorithm: string | null;
  key_id: string | null;
  scopes: string[];
  roles: string[];
  /** Path parameters bound to claims: [parameter, claim path, the claim's value]. */
  bindings: [string, string, unknown][];
}

/** What the edge answers. */
export type ExplainedDecision =
  | { kind: "serve_jwks" }
  | { kind: "serve_status" }
  /** One of the edge's own endpoints (revocation): answered at the edge, never forwarded. */
  | { kind: "edge_endpoint"; endpoint: "backchannel_logout" | "revoke" }
  | { kind: "preflight"; headers: [string, string][] }
  | { kind: "forward"; path: string; verified: boolean }
  | { kind: "refuse"; status: number; code: StableCode; www_authenticate: string | null; body: string };

/** A decision step by step: the gate crate's `Explanation`, as plain data. */
export interface Explanation {
  method: string;
  url: string;
  /** The path as received. */
  path: string;
  /** The normal form the origin receives (`null`: the path has no single meaning). */
  normalized: string | null;
  matched_path: string | null;
  path_error: string | null;
  route: ExplainedRoute | null;
  /** Path parameters the route captured, as [name, value] pairs. */
  params: [string, string][];
  token: ExplainedToken | null;
  /** Each requirement part evaluated, in order (for a verified caller). */
  requirement: { depth: number; text: string; held: boolean }[];
  decision: ExplainedDecision;
}

/**
 * The gate's decision for one request, step by step, as data: the same steps `edge-auth explain` prints,
 * computed by the same code `gate.handle` runs.
 *
 * @example
 * import { explain, keygen } from "edge-auth";
 * const idp = await keygen("ES256");
 * const edge = await keygen("EdDSA");
 * const config = {
 *   issuers: [{ issuer: "https://idp.example/", audiences: ["https://api.example.com"], algorithms: ["ES256"], jwks: idp.jwks }],
 *   assertion: { issuer: "https://edge.example.com", audience: "https://origin.example.com", signing_key_secret: "SIGNING" },
 *   routes: [{ path: "/admin/*", roles: ["admin"] }],
 * };
 * const steps = await explain(config, { method: "GET", url: "https://api.example.com//admin/../admin/x", headers: {} },
 *   { secrets: { SIGNING: JSON.stringify(edge.jwk) } });
 * console.log(steps.normalized, steps.route.pattern, steps.decision.code); // /admin/x /admin/* token_missing
 */
export function explain(
  config: EdgeAuthConfig,
  request: { method?: string; url: string; headers?: HeadersInit },
  options?: { now?: Time; secrets?: Secrets; fetch?: FetchLike },
): Promise<Explanation>;

/**
 * Generates a key for `alg`, like `edge-auth keygen`: the private JWK (with `alg`, `use: sig` and `kid`,
 * the RFC 7638 thumbprint; an HMAC key gets a random `kid`) and the public JWK Set holding its public key.
 * RSA (2048 bits), ECDSA and Ed25519 keys come from WebCrypto; HMAC and secp256k1 keys from Rust.
 *
 * @example
 * import { keygen } from "edge-auth";
 * const { jwk, jwks } = await keygen("ES256");
 * console.log(jwk.alg, jwks.keys[0].kid === jwk.kid, "d" in jwks.keys[0]); // ES256 true false
 */
export function keygen(alg: Algorithm): Promise<{ jwk: Jwk; jwks: Jwks }>;

/**
 * Signs `claims` into a compact JWS with a private JWK (for tests and the inspector). The key decides
 * `alg`; `header` may set `typ` and `kid` (default: the key's own `kid`).
 *
 * @example
 * import { keygen, mint, decode } from "edge-auth";
 * const { jwk } = await keygen("HS256");
 * const token = await mint(jwk, { sub: "user-1", aud: "api", exp: Math.floor(Date.now() / 1000) + 60 }, { typ: "at+jwt" });
 * console.log(decode(token).header); // { alg: 'HS256', kid: '…', typ: 'at+jwt' }
 */
export function mint(jwk: Jwk | string, claims: JsonObject, header?: { typ?: string; kid?: string }): Promise<string>;
